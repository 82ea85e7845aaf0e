//! The container side of every interface type, in LXC's order: MAC, MTU, up, addresses,
//! default routes. Runs through a netlink socket opened in the container's namespace, before
//! init runs.

use std::net::{IpAddr, Ipv4Addr};

use rlxc_config::spec::Network;
use rlxc_config::values::{Ipv4Gateway, Ipv6Gateway};

use crate::link::{self, Change};
use crate::route::{self, Route};
use crate::{address, Error, Netlink};

/// The interface being configured.
pub(super) struct Target<'a> {
    pub index: u32,
    pub name: &'a str,
    pub mac: Option<[u8; 6]>,
    /// The bridge's address, for `ipv4.gateway = auto`.
    pub gateway_auto: Option<Ipv4Addr>,
}

pub(super) fn configure(
    inside: &mut Netlink,
    net_index: u32,
    target: &Target<'_>,
    net: &Network,
) -> Result<(), Error> {
    let up = net.up == Some(true);
    let change = Change {
        mac: target.mac,
        mtu: net.mtu.map(|m| m.0),
        up: up.then_some(true),
        ..Default::default()
    };
    link::change(inside, target.index, target.name, &change)?;
    for a in &net.ipv4_addresses {
        let broadcast = Some(a.effective_broadcast());
        address::add(
            inside,
            target.index,
            target.name,
            IpAddr::V4(a.address),
            a.prefix,
            broadcast,
        )?;
    }
    for a in &net.ipv6_addresses {
        address::add(
            inside,
            target.index,
            target.name,
            IpAddr::V6(a.address),
            a.prefix,
            None,
        )?;
    }
    let gateway4 = match net.ipv4_gateway {
        None => None,
        Some(Ipv4Gateway::Dev) => Some(Gateway::Device),
        Some(Ipv4Gateway::Address(a)) => Some(Gateway::Address(IpAddr::V4(a))),
        Some(Ipv4Gateway::Auto) => match target.gateway_auto {
            Some(a) => Some(Gateway::Address(IpAddr::V4(a))),
            None => return Err(Error::Config {
                index: net_index,
                reason:
                    "ipv4.gateway = auto needs lxc.net.N.link to be a bridge with an IPv4 address"
                        .into(),
            }),
        },
    };
    let gateway6 = match net.ipv6_gateway {
        None => None,
        Some(Ipv6Gateway::Dev) => Some(Gateway::Device),
        Some(Ipv6Gateway::Address(a)) => Some(Gateway::Address(IpAddr::V6(a))),
        Some(Ipv6Gateway::Auto) => return Err(ipv6_gateway_auto(net_index)),
    };
    let gateways = [(gateway4, false), (gateway6, true)];
    if !up && gateways.iter().any(|(g, _)| g.is_some()) {
        return Err(Error::Config {
            index: net_index,
            reason: "a gateway needs the interface up: add lxc.net.N.flags = up".into(),
        });
    }
    for (gateway, family_v6) in gateways {
        if let Some(gateway) = gateway {
            default_route(inside, target, gateway, family_v6)?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum Gateway {
    Address(IpAddr),
    /// `dev`: the default route goes straight out of the interface.
    Device,
}

/// The default route. A gateway outside every subnet of the interface first gets a device
/// route of its own, as LXC adds one, so `ipv4.gateway` may name a router off the subnet.
fn default_route(
    inside: &mut Netlink,
    target: &Target<'_>,
    gateway: Gateway,
    family_v6: bool,
) -> Result<(), Error> {
    let gateway = match gateway {
        Gateway::Address(a) => Some(a),
        Gateway::Device => None,
    };
    let route = Route {
        destination: None,
        gateway,
        family_v6,
    };
    match route::add(inside, target.index, target.name, &route) {
        Err(e) if e.errno() == Some(libc::ENETUNREACH) => {
            let Some(gateway) = gateway else {
                return Err(e);
            };
            let host_prefix = if family_v6 { 128 } else { 32 };
            let to_gateway = Route {
                destination: Some((gateway, host_prefix)),
                gateway: None,
                family_v6,
            };
            route::add(inside, target.index, target.name, &to_gateway)?;
            route::add(inside, target.index, target.name, &route)
        }
        other => other,
    }
}

/// `ipv6.gateway = auto` is not implemented (the bridge's IPv6 address would be needed).
pub(super) fn ipv6_gateway_auto(index: u32) -> Error {
    Error::Config {
        index,
        reason: "ipv6.gateway = auto is not supported by rlxc yet; give the address".into(),
    }
}
