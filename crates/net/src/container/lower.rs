//! Links on a parent device — macvlan, vlan, ipvlan: made straight in the container's
//! namespace (the parent is looked up in the host's), so nothing of them is ever on the host,
//! and deleted from there at stop.

use std::os::fd::AsRawFd;

use netlink_packet_route::link::LinkAttribute;
use rlxc_config::spec::Network;
use rlxc_config::values::{IpvlanIsolation, IpvlanMode, MacvlanMode, NetType};

use super::{temporary_name, Attached, Made};
use crate::{ipvlan, link, macvlan, vlan, Error, Operation};

/// Makes the link; returns its index in the container.
pub(super) fn attach(
    attached: &mut Attached,
    index: u32,
    net: &Network,
    net_type: NetType,
) -> Result<u32, Error> {
    let Some(parent_name) = net.link.as_deref() else {
        return Err(Error::Config {
            index,
            reason: format!("a {net_type} interface needs lxc.net.{index}.link (its parent)"),
        });
    };
    let parent = link::index_by_name(&mut attached.host, parent_name)?;
    let name = temporary_name(index);
    let (mut message, op) = match net_type {
        NetType::Macvlan => (
            macvlan::message(&name, parent, macvlan_mode(net.macvlan_mode)),
            Operation::CreateMacvlan,
        ),
        NetType::Vlan => {
            let id = net.vlan_id.map(|v| v.0).unwrap_or(0);
            if !vlan::VLAN_IDS.contains(&id) {
                return Err(Error::Config {
                    index,
                    reason: format!(
                        "a vlan interface needs lxc.net.{index}.vlan.id from 1 to 4094"
                    ),
                });
            }
            (vlan::message(&name, parent, id), Operation::CreateVlan)
        }
        _ => (
            ipvlan::message(
                &name,
                parent,
                ipvlan_mode(net.ipvlan_mode),
                ipvlan_isolation(net.ipvlan_isolation),
            ),
            Operation::CreateIpvlan,
        ),
    };
    message
        .attributes
        .push(LinkAttribute::NetNsFd(attached.netns.as_raw_fd()));
    let label = format!("{name} on {parent_name}");
    link::create(&mut attached.host, message, op, &label).map_err(|e| {
        if e.errno() == Some(libc::EOPNOTSUPP) {
            Error::Config {
                index,
                reason: format!("this kernel cannot make {net_type} links (module not built or not loadable): {e}"),
            }
        } else {
            e
        }
    })?;
    let inside_index = link::index_by_name(&mut attached.inside, &name)?;
    attached.made.push(Made::InsideLink {
        index: inside_index,
    });
    Ok(inside_index)
}

fn macvlan_mode(mode: Option<MacvlanMode>) -> macvlan::Mode {
    match mode {
        None | Some(MacvlanMode::Private) => macvlan::Mode::Private,
        Some(MacvlanMode::Vepa) => macvlan::Mode::Vepa,
        Some(MacvlanMode::Bridge) => macvlan::Mode::Bridge,
        Some(MacvlanMode::Passthru) => macvlan::Mode::Passthru,
    }
}

fn ipvlan_mode(mode: Option<IpvlanMode>) -> ipvlan::Mode {
    match mode {
        None | Some(IpvlanMode::L3) => ipvlan::Mode::L3,
        Some(IpvlanMode::L3s) => ipvlan::Mode::L3s,
        Some(IpvlanMode::L2) => ipvlan::Mode::L2,
    }
}

fn ipvlan_isolation(isolation: Option<IpvlanIsolation>) -> ipvlan::Isolation {
    match isolation {
        None | Some(IpvlanIsolation::Bridge) => ipvlan::Isolation::Bridge,
        Some(IpvlanIsolation::Private) => ipvlan::Isolation::Private,
        Some(IpvlanIsolation::Vepa) => ipvlan::Isolation::Vepa,
    }
}
