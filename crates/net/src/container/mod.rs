//! A container's interfaces: made on the host or straight in the container's network
//! namespace, configured there before init runs, and undone at stop.
//!
//! The recipe ([`Attached::attach_all`]): loopback up; per `lxc.net.N` the host side of its
//! type (one module each), which leaves a link with a temporary name in the container; then
//! the final names; then the in-container settings ([`inside`]). Every link is recorded in
//! [`Attached`] the moment it exists, so a failure half-way undoes exactly what was made.

mod inside;
mod lower;
pub mod mac;
mod phys;
mod recover;
mod veth;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rlxc_config::spec::Network;
use rlxc_config::values::NetType;

use crate::{address, link, netns, Error, Netlink};

pub use phys::PhysRecord;
pub use recover::recover;

/// What a start refuses of the networks before it makes anything (the same checks the
/// attach makes): settings rlxc does not implement, and a `lxc.net.N.link` this host (the
/// caller's network namespace, where the monitor makes the host side) does not have.
pub fn check(networks: &BTreeMap<u32, Network>) -> Result<(), Error> {
    let mut netlink = None;
    for (index, net) in networks {
        if net.net_type == Some(NetType::Veth) {
            veth::refuse_unsupported(*index, net)?;
        }
        if net.ipv6_gateway == Some(rlxc_config::values::Ipv6Gateway::Auto) {
            return Err(inside::ipv6_gateway_auto(*index));
        }
        if let Some(link) = net.link.as_deref().filter(|_| uses_a_host_link(net)) {
            let netlink = match &mut netlink {
                Some(netlink) => netlink,
                None => netlink.insert(Netlink::open()?),
            };
            match link::index_by_name(netlink, link) {
                Ok(_) => {}
                Err(Error::Kernel { cause: source, .. })
                    if source.raw_os_error() == Some(libc::ENODEV) =>
                {
                    return Err(Error::NoSuchLink {
                        index: *index,
                        link: link.to_string(),
                    })
                }
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// The types whose `link` names an interface of the host: the bridge of a veth, the lower
/// device of a macvlan, vlan or ipvlan, the NIC a phys lends.
fn uses_a_host_link(net: &Network) -> bool {
    matches!(
        net.net_type,
        Some(NetType::Veth | NetType::Macvlan | NetType::Vlan | NetType::Ipvlan | NetType::Phys)
    )
}

/// The alias rlxc gives the host links it makes: `rlxc:CONTAINER:INDEX`. A link found with a
/// fixed `veth.pair` name is deleted only when its alias says it is this container's.
pub fn alias(container: &str, index: u32) -> String {
    format!("rlxc:{container}:{index}")
}

fn is_ours(details: &link::LinkDetails, container: &str) -> bool {
    details
        .alias
        .as_deref()
        .is_some_and(|a| a.starts_with(&format!("rlxc:{container}:")))
}

/// Something made for the container, to undo at stop.
#[derive(Debug)]
enum Made {
    /// A link in the host namespace (the host end of a veth pair).
    HostLink { index: u32, name: String },
    /// A link made in the container (macvlan, vlan, ipvlan): deleted explicitly so the parent
    /// is free at once for the next start, not when the kernel gets round to the namespace.
    InsideLink { index: u32 },
    /// A host NIC lent to the container.
    Phys(PhysRecord),
}

/// One configured interface, for `script.up`/`script.down` and the state file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub index: u32,
    pub net_type: NetType,
    /// `lxc.net.N.link`.
    pub link: Option<String>,
    /// The host end of a veth pair (`LXC_NET_PEER`).
    pub host_name: Option<String>,
    /// The name inside the container.
    pub name: String,
}

/// A container's network, set up or half set up; [`Attached::teardown`] undoes it.
pub struct Attached {
    container: String,
    host: Netlink,
    inside: Netlink,
    /// Keeps the container's namespace alive until the teardown is done.
    netns: OwnedFd,
    /// Where phys NICs go home to.
    host_netns: OwnedFd,
    made: Vec<Made>,
    pub interfaces: Vec<Interface>,
}

/// The temporary name of interface `index` inside the container, until every interface is
/// there and the final names can be given without clashes.
fn temporary_name(index: u32) -> String {
    format!("rlxct{index}")
}

impl Attached {
    /// Opens netlink handles in the host's and in the container's namespace (`netns`).
    pub fn new(container: &str, netns: BorrowedFd<'_>) -> Result<Attached, Error> {
        let netns_error = |cause| Error::Netns {
            op: crate::Operation::EnterNetns,
            cause,
        };
        let host_netns: OwnedFd = File::open("/proc/thread-self/ns/net")
            .map_err(netns_error)?
            .into();
        Ok(Attached {
            container: container.to_owned(),
            host: Netlink::open()?,
            inside: netns::open_netlink_in(netns)?,
            netns: netns.try_clone_to_owned().map_err(netns_error)?,
            host_netns,
            made: Vec::new(),
            interfaces: Vec::new(),
        })
    }

    /// Sets up every interface of `networks`, in index order.
    pub fn attach_all(&mut self, networks: &BTreeMap<u32, Network>) -> Result<(), Error> {
        link::set_up(&mut self.inside, "lo")?;
        let mut arrived = Vec::new();
        for (&index, net) in networks {
            let in_network = |e| wrap(index, e);
            let Some(net_type) = net.net_type else {
                return Err(Error::Config {
                    index,
                    reason: "no type: set lxc.net.N.type (veth, macvlan, vlan, phys, empty, ...)"
                        .into(),
                });
            };
            let mac = container_mac(&self.container, index, net, net_type);
            let (inside_index, host_name) = match net_type {
                NetType::Empty | NetType::None => continue,
                NetType::Veth => veth::attach(self, index, net, mac).map_err(in_network)?,
                NetType::Macvlan | NetType::Vlan | NetType::Ipvlan => (
                    lower::attach(self, index, net, net_type).map_err(in_network)?,
                    None,
                ),
                NetType::Phys => (phys::attach(self, index, net).map_err(in_network)?, None),
            };
            arrived.push((index, net, net_type, inside_index, host_name, mac));
        }
        // Names the config gives first, then eth0, eth1, ... for the rest (`eth%d`: the
        // kernel picks the lowest free number), as LXC names them.
        arrived.sort_by_key(|(_, net, ..)| net.name.is_none());
        for (index, net, net_type, inside_index, host_name, mac) in arrived {
            let in_network = |e| wrap(index, e);
            let wanted = net.name.as_deref().unwrap_or("eth%d");
            let change = link::Change {
                name: Some(wanted),
                ..Default::default()
            };
            link::change(&mut self.inside, inside_index, wanted, &change).map_err(in_network)?;
            let name = link::details_by_index(&mut self.inside, inside_index)
                .map_err(in_network)?
                .name;
            let gateway_auto = self.gateway_auto(net);
            let target = inside::Target {
                index: inside_index,
                name: &name,
                mac,
                gateway_auto,
            };
            inside::configure(&mut self.inside, index, &target, net).map_err(in_network)?;
            self.interfaces.push(Interface {
                index,
                net_type,
                link: net.link.clone(),
                host_name,
                name,
            });
        }
        self.interfaces.sort_by_key(|i| i.index);
        Ok(())
    }

    /// `ipv4.gateway = auto`: the first IPv4 address of the bridge the veth joins.
    fn gateway_auto(&mut self, net: &Network) -> Option<std::net::Ipv4Addr> {
        let bridge = net.link.as_deref()?;
        let index = link::index_by_name(&mut self.host, bridge).ok()?;
        address::list(&mut self.host)
            .ok()?
            .into_iter()
            .find_map(|a| match a.address {
                IpAddr::V4(v4) if a.index == index => Some(v4),
                _ => None,
            })
    }

    /// The host links made, for the state file (a clean-up after a monitor crash deletes them).
    pub fn host_links(&self) -> Vec<String> {
        self.made
            .iter()
            .filter_map(|m| match m {
                Made::HostLink { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// The NICs lent to the container, for the state file.
    pub fn phys_links(&self) -> Vec<PhysRecord> {
        self.made
            .iter()
            .filter_map(|m| match m {
                Made::Phys(record) => Some(record.clone()),
                _ => None,
            })
            .collect()
    }

    /// Undoes everything, newest first: phys NICs go home under their old name and MTU, links
    /// made in the container and host ends are deleted. Deleting a host end takes its peer
    /// with it at once, so its name is free for a restart straight away. Goes on after an
    /// error and returns them all.
    pub fn teardown(mut self) -> Vec<Error> {
        let mut errors = Vec::new();
        while let Some(made) = self.made.pop() {
            let result = match made {
                Made::Phys(record) => phys::send_home(
                    &mut self.inside,
                    &mut self.host,
                    self.host_netns.as_fd(),
                    &record,
                ),
                Made::InsideLink { index } => ignore_gone(link::delete_index(
                    &mut self.inside,
                    index,
                    &format!("#{index}"),
                )),
                Made::HostLink { index, name } => {
                    delete_host_link(&mut self.host, &self.container, index, &name)
                }
            };
            errors.extend(result.err());
        }
        drop(self.netns);
        errors
    }
}

/// Deletes host link `index` if it still is the one rlxc made (same name, our alias).
fn delete_host_link(
    host: &mut Netlink,
    container: &str,
    index: u32,
    name: &str,
) -> Result<(), Error> {
    match link::details_by_index(host, index) {
        Ok(details) if details.name == name && is_ours(&details, container) => {
            ignore_gone(link::delete_index(host, index, name))
        }
        Ok(_) => Ok(()),
        Err(e) => ignore_gone(Err(e)),
    }
}

/// A link that is already gone needs no undoing.
fn ignore_gone(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(e) if e.errno() == Some(libc::ENODEV) => Ok(()),
        other => other,
    }
}

/// Names the interface in an error; config errors name it already.
fn wrap(index: u32, error: Error) -> Error {
    match error {
        error @ (Error::Config { .. } | Error::Interface { .. }) => error,
        source => Error::Interface {
            index,
            cause: Box::new(source),
        },
    }
}

/// The MAC an interface gets: the configured one (an `x` template filled randomly, as LXC
/// does), else for veth and macvlan a stable one. vlan and ipvlan share their parent's MAC
/// and a phys NIC keeps its own, as with LXC.
fn container_mac(container: &str, index: u32, net: &Network, net_type: NetType) -> Option<[u8; 6]> {
    match (&net.hwaddr, net_type) {
        (Some(hwaddr), _) => Some(match hwaddr.concrete() {
            Some(mac) => mac.0,
            None => mac::fill_randomly(hwaddr),
        }),
        (None, NetType::Veth | NetType::Macvlan) => Some(mac::stable(container, index)),
        (None, _) => None,
    }
}

/// Bytes one interface of the container received and sent, as the container sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Traffic {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// The traffic of every interface but `lo` in the network namespace of `pid`, for
/// `rlxc info -S`. None when `pid` shares the caller's namespace (those are the host's).
pub fn traffic_of(pid: i32) -> Result<Vec<Traffic>, Error> {
    Ok(links_of(pid)?
        .into_iter()
        .filter(|link| link.name != "lo")
        .map(|link| Traffic {
            name: link.name,
            rx_bytes: link.rx_bytes,
            tx_bytes: link.tx_bytes,
        })
        .collect())
}

/// The names of the interfaces in the network namespace of `pid`, `lo` included, as listed
/// (for `rlxc ls -F INTERFACE`); none when `pid` shares the caller's namespace.
pub fn interfaces_of(pid: i32) -> Result<Vec<String>, Error> {
    Ok(links_of(pid)?.into_iter().map(|link| link.name).collect())
}

/// Every link in the network namespace of `pid`; none when it is the caller's own.
fn links_of(pid: i32) -> Result<Vec<crate::link::LinkDetails>, Error> {
    let Some(netns) = own_netns_of(pid)? else {
        return Ok(Vec::new());
    };
    let mut netlink = netns::open_netlink_in(netns.as_fd())?;
    crate::link::list(&mut netlink)
}

/// The network namespace of `pid`, or `None` when it is the caller's own.
fn own_netns_of(pid: i32) -> Result<Option<File>, Error> {
    use std::os::unix::fs::MetadataExt;
    let netns = File::open(format!("/proc/{pid}/ns/net")).map_err(|cause| Error::Netns {
        op: crate::Operation::EnterNetns,
        cause,
    })?;
    let shared = netns
        .metadata()
        .is_ok_and(|m| netns::current_netns_id().is_ok_and(|here| here == m.ino()));
    Ok((!shared).then_some(netns))
}

/// The global addresses in the network namespace of `pid` (loopback and link-local left
/// out), for `rlxc info -i` and `rlxc ls -f`. None when `pid` shares the caller's namespace
/// (`type = none`): those addresses are the host's, not the container's.
pub fn addresses_of(pid: i32) -> Result<Vec<IpAddr>, Error> {
    let Some(netns) = own_netns_of(pid)? else {
        return Ok(Vec::new());
    };
    let mut netlink = netns::open_netlink_in(netns.as_fd())?;
    Ok(address::list(&mut netlink)?
        .into_iter()
        .map(|a| a.address)
        .filter(|ip| !ip.is_loopback() && !is_link_local(ip))
        .collect())
}

fn is_link_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xffc0 == 0xfe80,
    }
}
