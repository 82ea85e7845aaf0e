//! phys: a host NIC lent to the container. It goes in under a temporary name and comes
//! home at stop under its old name with its old MTU, before the namespace can die (a
//! namespace that dies hands real NICs to the initial namespace and destroys virtual ones).

use std::os::fd::{AsFd, BorrowedFd};

use rlxc_config::spec::Network;
use serde::{Deserialize, Serialize};

use super::{temporary_name, Attached, Made};
use crate::link::{self, Change};
use crate::{Error, Netlink};

/// A lent NIC, as recorded in the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhysRecord {
    /// Its name on the host.
    pub home_name: String,
    /// Its MTU on the host.
    pub mtu: Option<u32>,
    /// Its index inside the container (kept across the move when free, which it is in a new
    /// namespace; the name inside may change, the index does not).
    pub inside_index: u32,
}

pub(super) fn attach(attached: &mut Attached, index: u32, net: &Network) -> Result<u32, Error> {
    let Some(home_name) = net.link.as_deref() else {
        return Err(Error::Config {
            index,
            reason: format!(
                "a phys interface needs lxc.net.{index}.link (the host NIC to move in)"
            ),
        });
    };
    let details = link::details_by_name(&mut attached.host, home_name)?;
    let temporary = temporary_name(index);
    let change = Change {
        netns: Some(attached.netns.as_fd()),
        name: Some(&temporary),
        ..Default::default()
    };
    link::change(&mut attached.host, details.index, home_name, &change)?;
    let inside_index = link::index_by_name(&mut attached.inside, &temporary)?;
    attached.made.push(Made::Phys(PhysRecord {
        home_name: home_name.to_owned(),
        mtu: details.mtu,
        inside_index,
    }));
    Ok(inside_index)
}

/// Moves the NIC back to `host_netns` under its old name (down: it was closed by the move),
/// then restores its MTU.
pub(super) fn send_home(
    inside: &mut Netlink,
    host: &mut Netlink,
    host_netns: BorrowedFd<'_>,
    record: &PhysRecord,
) -> Result<(), Error> {
    let change = Change {
        netns: Some(host_netns),
        name: Some(&record.home_name),
        ..Default::default()
    };
    link::change(inside, record.inside_index, &record.home_name, &change)?;
    if let Some(mtu) = record.mtu {
        let index = link::index_by_name(host, &record.home_name)?;
        let change = Change {
            mtu: Some(mtu),
            ..Default::default()
        };
        link::change(host, index, &record.home_name, &change)?;
    }
    Ok(())
}
