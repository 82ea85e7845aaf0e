//! 802.1Q vlan links on a parent device.

use netlink_packet_route::link::{InfoData, InfoKind, InfoVlan, LinkMessage};

use crate::link::{create as create_link, new_link_message};
use crate::{check_link_name, Error, Netlink, Operation};

/// The usable 802.1Q ids; 0 and 4095 are reserved by the standard.
pub const VLAN_IDS: std::ops::RangeInclusive<u16> = 1..=4094;

/// Creates vlan `name` with tag `vlan_id` on the link with index `parent_index`. Needs the
/// kernel's 8021q support; without it the kernel answers `EOPNOTSUPP`.
pub fn create(
    netlink: &mut Netlink,
    name: &str,
    parent_index: u32,
    vlan_id: u16,
) -> Result<(), Error> {
    check_link_name(name)?;
    if !VLAN_IDS.contains(&vlan_id) {
        return Err(Error::InvalidVlanId {
            name: name.to_owned(),
            vlan_id,
        });
    }
    create_link(
        netlink,
        message(name, parent_index, vlan_id),
        Operation::CreateVlan,
        name,
    )
}

pub(crate) fn message(name: &str, parent_index: u32, vlan_id: u16) -> LinkMessage {
    let data = InfoData::Vlan(vec![InfoVlan::Id(vlan_id)]);
    new_link_message(name, Some(parent_index), InfoKind::Vlan, Some(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::inspect;

    #[test]
    fn carries_parent_and_id() {
        let message = inspect::round_trip(message("eth0.10", 2, 10));
        assert_eq!(inspect::name(&message), Some("eth0.10"));
        assert_eq!(inspect::parent(&message), Some(2));
        assert_eq!(
            inspect::data(&message),
            Some(&InfoData::Vlan(vec![InfoVlan::Id(10)]))
        );
    }

    #[test]
    fn reserved_ids_are_refused_before_any_request() {
        let mut netlink = match Netlink::open() {
            Ok(netlink) => netlink,
            // Without a netlink socket there is nothing to show here.
            Err(_) => return,
        };
        for id in [0, 4095] {
            assert!(matches!(
                create(&mut netlink, "v0", 1, id),
                Err(Error::InvalidVlanId { .. })
            ));
        }
    }
}
