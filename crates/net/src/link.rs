//! What every link kind shares: look up an index, bring a link up, delete it.

use netlink_packet_core::NLM_F_CREATE;
use netlink_packet_core::NLM_F_EXCL;
/// A link's kind, as in [`LinkDetails::kind`].
pub use netlink_packet_route::link::InfoKind;
use netlink_packet_route::link::{InfoData, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::{check_link_name, Error, Netlink, Operation};

/// Returns the interface index of `name` in the handle's namespace. A missing link is
/// [`Error::Kernel`] with `ENODEV`.
pub fn index_by_name(netlink: &mut Netlink, name: &str) -> Result<u32, Error> {
    check_link_name(name)?;
    let request = RouteNetlinkMessage::GetLink(named_message(name));
    match netlink.request_one(request, Operation::GetLink, name)? {
        RouteNetlinkMessage::NewLink(reply) => Ok(reply.header.index),
        other => Err(Error::Decode {
            op: Operation::GetLink,
            link: name.to_owned(),
            reason: format!("expected a link message, got {other:?}"),
        }),
    }
}

/// Sets `IFF_UP` on the link (and changes no other flag).
pub fn set_up(netlink: &mut Netlink, name: &str) -> Result<(), Error> {
    let index = index_by_name(netlink, name)?;
    let request = RouteNetlinkMessage::SetLink(set_up_message(index));
    netlink.request_ack(request, 0, Operation::SetLinkUp, name)
}

/// Deletes the link. Deleting one end of a veth pair deletes both.
pub fn delete(netlink: &mut Netlink, name: &str) -> Result<(), Error> {
    check_link_name(name)?;
    let request = RouteNetlinkMessage::DelLink(named_message(name));
    netlink.request_ack(request, 0, Operation::DeleteLink, name)
}

/// What rlxc needs to know about an existing link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDetails {
    pub index: u32,
    pub name: String,
    pub mtu: Option<u32>,
    /// `IFLA_IFALIAS`: rlxc marks the host links it makes with it.
    pub alias: Option<String>,
    pub kind: Option<InfoKind>,
    /// The bridge (or other master) the link is enslaved to.
    pub master: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub up: bool,
    /// Bytes received and sent (`IFLA_STATS64`), for `rlxc info -S`.
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// Looks up a link by name.
pub fn details_by_name(netlink: &mut Netlink, name: &str) -> Result<LinkDetails, Error> {
    check_link_name(name)?;
    let request = RouteNetlinkMessage::GetLink(named_message(name));
    match netlink.request_one(request, Operation::GetLink, name)? {
        RouteNetlinkMessage::NewLink(reply) => Ok(details(&reply)),
        other => Err(unexpected_reply(name, &other)),
    }
}

/// Looks up a link by index.
pub fn details_by_index(netlink: &mut Netlink, index: u32) -> Result<LinkDetails, Error> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    let label = format!("#{index}");
    match netlink.request_one(
        RouteNetlinkMessage::GetLink(message),
        Operation::GetLink,
        &label,
    )? {
        RouteNetlinkMessage::NewLink(reply) => Ok(details(&reply)),
        other => Err(unexpected_reply(&label, &other)),
    }
}

/// Every link of the handle's namespace.
pub fn list(netlink: &mut Netlink) -> Result<Vec<LinkDetails>, Error> {
    let replies = netlink.request_dump(
        RouteNetlinkMessage::GetLink(LinkMessage::default()),
        Operation::GetLink,
        "*",
    )?;
    Ok(replies
        .iter()
        .filter_map(|reply| match reply {
            RouteNetlinkMessage::NewLink(message) => Some(details(message)),
            _ => None,
        })
        .collect())
}

fn unexpected_reply(link: &str, other: &RouteNetlinkMessage) -> Error {
    Error::Decode {
        op: Operation::GetLink,
        link: link.to_owned(),
        reason: format!("expected a link message, got {other:?}"),
    }
}

fn details(message: &LinkMessage) -> LinkDetails {
    let mut details = LinkDetails {
        index: message.header.index,
        name: String::new(),
        mtu: None,
        alias: None,
        kind: None,
        master: None,
        mac: None,
        up: message.header.flags.contains(LinkFlags::Up),
        rx_bytes: 0,
        tx_bytes: 0,
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => details.name = name.clone(),
            LinkAttribute::Mtu(mtu) => details.mtu = Some(*mtu),
            LinkAttribute::IfAlias(alias) => details.alias = Some(alias.clone()),
            LinkAttribute::Controller(master) => details.master = Some(*master),
            LinkAttribute::Stats64(stats) => {
                details.rx_bytes = stats.rx_bytes;
                details.tx_bytes = stats.tx_bytes;
            }
            LinkAttribute::Address(bytes) => {
                details.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok()
            }
            LinkAttribute::LinkInfo(info) => {
                details.kind = info.iter().find_map(|item| match item {
                    LinkInfo::Kind(kind) => Some(kind.clone()),
                    _ => None,
                })
            }
            _ => {}
        }
    }
    details
}

/// Changes to one link, sent as a single `RTM_SETLINK`. The kernel applies a namespace move
/// first and a rename after it, so one change can move a link and give it its name there.
#[derive(Debug, Default)]
pub struct Change<'a> {
    pub name: Option<&'a str>,
    pub mtu: Option<u32>,
    pub mac: Option<[u8; 6]>,
    pub master: Option<u32>,
    pub alias: Option<&'a str>,
    /// Move the link into the network namespace of this fd.
    pub netns: Option<BorrowedFd<'a>>,
    pub up: Option<bool>,
}

/// Applies `change` to the link with index `index`; `label` names it in errors.
pub fn change(
    netlink: &mut Netlink,
    index: u32,
    label: &str,
    change: &Change<'_>,
) -> Result<(), Error> {
    if let Some(name) = change.name {
        check_link_name(name)?;
    }
    let mut message = LinkMessage::default();
    message.header.index = index;
    if let Some(up) = change.up {
        message.header.change_mask = LinkFlags::Up;
        if up {
            message.header.flags = LinkFlags::Up;
        }
    }
    let attributes = &mut message.attributes;
    if let Some(fd) = change.netns {
        attributes.push(LinkAttribute::NetNsFd(fd.as_raw_fd()));
    }
    if let Some(name) = change.name {
        attributes.push(LinkAttribute::IfName(name.to_owned()));
    }
    if let Some(mtu) = change.mtu {
        attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = change.mac {
        attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    if let Some(master) = change.master {
        attributes.push(LinkAttribute::Controller(master));
    }
    if let Some(alias) = change.alias {
        attributes.push(LinkAttribute::IfAlias(alias.to_owned()));
    }
    netlink.request_ack(
        RouteNetlinkMessage::SetLink(message),
        0,
        Operation::SetLink,
        label,
    )
}

/// Deletes the link with index `index`.
pub fn delete_index(netlink: &mut Netlink, index: u32, label: &str) -> Result<(), Error> {
    let mut message = LinkMessage::default();
    message.header.index = index;
    netlink.request_ack(
        RouteNetlinkMessage::DelLink(message),
        0,
        Operation::DeleteLink,
        label,
    )
}

pub(crate) fn named_message(name: &str) -> LinkMessage {
    let mut message = LinkMessage::default();
    message
        .attributes
        .push(LinkAttribute::IfName(name.to_owned()));
    message
}

fn set_up_message(index: u32) -> LinkMessage {
    let mut message = LinkMessage::default();
    message.header.index = index;
    message.header.flags = LinkFlags::Up;
    message.header.change_mask = LinkFlags::Up;
    message
}

/// The `RTM_NEWLINK` body shared by every kind: the name, the parent link if any, and the
/// kind with its kind-specific data.
pub(crate) fn new_link_message(
    name: &str,
    parent_index: Option<u32>,
    kind: InfoKind,
    data: Option<InfoData>,
) -> LinkMessage {
    let mut message = named_message(name);
    if let Some(parent) = parent_index {
        message.attributes.push(LinkAttribute::Link(parent));
    }
    let mut info = vec![LinkInfo::Kind(kind)];
    info.extend(data.map(LinkInfo::Data));
    message.attributes.push(LinkAttribute::LinkInfo(info));
    message
}

/// Sends a prepared `RTM_NEWLINK`; `NLM_F_EXCL` so an existing link of the same name is an
/// error (`EEXIST`) rather than silently reused.
pub(crate) fn create(
    netlink: &mut Netlink,
    message: LinkMessage,
    op: Operation,
    name: &str,
) -> Result<(), Error> {
    netlink.request_ack(
        RouteNetlinkMessage::NewLink(message),
        NLM_F_CREATE | NLM_F_EXCL,
        op,
        name,
    )
}

/// Test helpers shared by the kind modules: pick the pieces out of a built message.
#[cfg(test)]
pub(crate) mod inspect {
    use super::*;

    pub fn name(message: &LinkMessage) -> Option<&str> {
        message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::IfName(name) => Some(name.as_str()),
                _ => None,
            })
    }

    pub fn parent(message: &LinkMessage) -> Option<u32> {
        message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::Link(index) => Some(*index),
                _ => None,
            })
    }

    pub fn info(message: &LinkMessage) -> &[LinkInfo] {
        message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::LinkInfo(info) => Some(info.as_slice()),
                _ => None,
            })
            .unwrap_or(&[])
    }

    pub fn kind(message: &LinkMessage) -> Option<&InfoKind> {
        info(message).iter().find_map(|item| match item {
            LinkInfo::Kind(kind) => Some(kind),
            _ => None,
        })
    }

    pub fn data(message: &LinkMessage) -> Option<&InfoData> {
        info(message).iter().find_map(|item| match item {
            LinkInfo::Data(data) => Some(data),
            _ => None,
        })
    }

    /// Serializes and parses back, so tests check what the kernel would read.
    pub fn round_trip(message: LinkMessage) -> LinkMessage {
        use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
        let bytes = crate::handle::build_request(RouteNetlinkMessage::NewLink(message), 0, 1);
        let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes)
            .expect("a message we built parses back");
        match parsed.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(message)) => message,
            other => panic!("unexpected payload {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_up_touches_only_the_up_flag() {
        let message = set_up_message(7);
        assert_eq!(message.header.index, 7);
        assert_eq!(message.header.flags, LinkFlags::Up);
        assert_eq!(message.header.change_mask, LinkFlags::Up);
    }

    #[test]
    fn new_link_carries_name_parent_and_kind() {
        let message = inspect::round_trip(new_link_message("br0", Some(3), InfoKind::Bridge, None));
        assert_eq!(inspect::name(&message), Some("br0"));
        assert_eq!(inspect::parent(&message), Some(3));
        assert_eq!(inspect::kind(&message), Some(&InfoKind::Bridge));
    }
}
