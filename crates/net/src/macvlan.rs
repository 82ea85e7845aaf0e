//! macvlan links: a second MAC address on a parent ethernet device.

use netlink_packet_route::link::{InfoData, InfoKind, InfoMacVlan, LinkMessage, MacVlanMode};

use crate::link::{create as create_link, new_link_message};
use crate::{check_link_name, Error, Netlink, Operation};

/// How macvlan links on the same parent see each other (LXC's `lxc.net.N.macvlan.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Private,
    Vepa,
    Bridge,
    Passthru,
}

impl From<Mode> for MacVlanMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Private => MacVlanMode::Private,
            Mode::Vepa => MacVlanMode::Vepa,
            Mode::Bridge => MacVlanMode::Bridge,
            Mode::Passthru => MacVlanMode::Passthrough,
        }
    }
}

/// Creates macvlan `name` on the link with index `parent_index`. The parent must be an
/// ethernet-like device (not `lo`).
pub fn create(
    netlink: &mut Netlink,
    name: &str,
    parent_index: u32,
    mode: Mode,
) -> Result<(), Error> {
    check_link_name(name)?;
    create_link(
        netlink,
        message(name, parent_index, mode),
        Operation::CreateMacvlan,
        name,
    )
}

pub(crate) fn message(name: &str, parent_index: u32, mode: Mode) -> LinkMessage {
    let data = InfoData::MacVlan(vec![InfoMacVlan::Mode(mode.into())]);
    new_link_message(name, Some(parent_index), InfoKind::MacVlan, Some(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::inspect;

    #[test]
    fn carries_parent_and_mode() {
        let message = inspect::round_trip(message("mv0", 5, Mode::Bridge));
        assert_eq!(inspect::parent(&message), Some(5));
        assert_eq!(inspect::kind(&message), Some(&InfoKind::MacVlan));
        assert_eq!(
            inspect::data(&message),
            Some(&InfoData::MacVlan(vec![InfoMacVlan::Mode(
                MacVlanMode::Bridge
            )]))
        );
    }
}
