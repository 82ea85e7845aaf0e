//! Linux bridges, which host-side veth ends are usually attached to.

use netlink_packet_route::link::InfoKind;

use crate::link::{create as create_link, new_link_message};
use crate::{check_link_name, Error, Netlink, Operation};

/// Creates an empty bridge `name`, down.
pub fn create(netlink: &mut Netlink, name: &str) -> Result<(), Error> {
    check_link_name(name)?;
    let message = new_link_message(name, None, InfoKind::Bridge, None);
    create_link(netlink, message, Operation::CreateBridge, name)
}
