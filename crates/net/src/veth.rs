//! veth pairs: the usual container link, one end on the host and one moved into the container.

use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth};

use crate::link::{create as create_link, named_message, new_link_message};
use crate::{check_link_name, Error, Netlink, Operation};

/// Creates the pair `name` <-> `peer_name`, both in the handle's namespace and both down.
pub fn create(netlink: &mut Netlink, name: &str, peer_name: &str) -> Result<(), Error> {
    check_link_name(name)?;
    check_link_name(peer_name)?;
    create_link(
        netlink,
        message(name, peer_name),
        Operation::CreateVeth,
        name,
    )
}

pub(crate) fn message(name: &str, peer_name: &str) -> netlink_packet_route::link::LinkMessage {
    let peer = InfoData::Veth(InfoVeth::Peer(named_message(peer_name)));
    new_link_message(name, None, InfoKind::Veth, Some(peer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::inspect;

    #[test]
    fn peer_name_travels_inside_the_link_info() {
        let message = inspect::round_trip(message("veth0", "veth1"));
        assert_eq!(inspect::name(&message), Some("veth0"));
        assert_eq!(inspect::kind(&message), Some(&InfoKind::Veth));
        match inspect::data(&message) {
            Some(InfoData::Veth(InfoVeth::Peer(peer))) => {
                assert_eq!(inspect::name(peer), Some("veth1"));
            }
            other => panic!("expected a veth peer, got {other:?}"),
        }
    }
}
