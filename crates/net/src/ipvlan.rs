//! ipvlan links: addresses of their own on a parent device, sharing its MAC.

use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, IpVlanFlags, IpVlanMode, LinkMessage,
};

use crate::link::new_link_message;

/// `lxc.net.N.ipvlan.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    L2,
    L3,
    L3s,
}

/// `lxc.net.N.ipvlan.isolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    Bridge,
    Private,
    Vepa,
}

/// The `RTM_NEWLINK` for ipvlan `name` on the link `parent_index`.
pub(crate) fn message(
    name: &str,
    parent_index: u32,
    mode: Mode,
    isolation: Isolation,
) -> LinkMessage {
    let mode = match mode {
        Mode::L2 => IpVlanMode::L2,
        Mode::L3 => IpVlanMode::L3,
        Mode::L3s => IpVlanMode::L3S,
    };
    let flags = match isolation {
        Isolation::Bridge => IpVlanFlags::empty(),
        Isolation::Private => IpVlanFlags::Private,
        Isolation::Vepa => IpVlanFlags::Vepa,
    };
    let data = InfoData::IpVlan(vec![InfoIpVlan::Mode(mode), InfoIpVlan::Flags(flags)]);
    new_link_message(name, Some(parent_index), InfoKind::IpVlan, Some(data))
}
