//! IP addresses on links: add one, list them (for `rlxc info -i` and `rlxc ls -f`).

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::{Error, Netlink, Operation};

/// One address as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub address: IpAddr,
    pub prefix: u8,
}

/// Adds `address/prefix` to the link `index` (`label` names it in errors); IPv4 addresses
/// get `broadcast` as their broadcast address.
pub fn add(
    netlink: &mut Netlink,
    index: u32,
    label: &str,
    address: IpAddr,
    prefix: u8,
    broadcast: Option<Ipv4Addr>,
) -> Result<(), Error> {
    let message = add_message(index, address, prefix, broadcast);
    netlink.request_ack(
        RouteNetlinkMessage::NewAddress(message),
        NLM_F_CREATE | NLM_F_EXCL,
        Operation::AddAddress,
        label,
    )
}

fn add_message(
    index: u32,
    address: IpAddr,
    prefix: u8,
    broadcast: Option<Ipv4Addr>,
) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.index = index;
    message.header.prefix_len = prefix;
    message.header.scope = AddressScope::Universe;
    message.header.family = match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point
    // links and the same address everywhere else, as `ip addr add` sends them.
    if address.is_ipv4() {
        message.attributes.push(AddressAttribute::Local(address));
    }
    message.attributes.push(AddressAttribute::Address(address));
    if let (IpAddr::V4(_), Some(broadcast)) = (address, broadcast) {
        message
            .attributes
            .push(AddressAttribute::Broadcast(broadcast));
    }
    message
}

/// Every address in the handle's namespace, in the kernel's order.
pub fn list(netlink: &mut Netlink) -> Result<Vec<Address>, Error> {
    let replies = netlink.request_dump(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        Operation::ListAddresses,
        "*",
    )?;
    Ok(replies
        .iter()
        .filter_map(|reply| match reply {
            RouteNetlinkMessage::NewAddress(message) => address_of(message),
            _ => None,
        })
        .collect())
}

fn address_of(message: &AddressMessage) -> Option<Address> {
    // IFA_LOCAL first: on point-to-point links IFA_ADDRESS is the far end.
    let local = message.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let address = local.or_else(|| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    Some(Address {
        index: message.header.index,
        address,
        prefix: message.header.prefix_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_carries_local_address_and_broadcast() {
        let message = add_message(
            3,
            "10.0.0.2".parse().unwrap(),
            24,
            Some(Ipv4Addr::new(10, 0, 0, 255)),
        );
        assert_eq!(message.header.prefix_len, 24);
        assert_eq!(message.header.family, AddressFamily::Inet);
        assert!(message
            .attributes
            .contains(&AddressAttribute::Broadcast(Ipv4Addr::new(10, 0, 0, 255))));
        assert_eq!(
            address_of(&message).map(|a| a.address),
            Some("10.0.0.2".parse().unwrap())
        );
    }

    #[test]
    fn ipv6_has_no_broadcast() {
        let message = add_message(3, "fd00::2".parse().unwrap(), 64, Some(Ipv4Addr::BROADCAST));
        assert_eq!(message.header.family, AddressFamily::Inet6);
        assert_eq!(message.attributes.len(), 1);
    }
}
