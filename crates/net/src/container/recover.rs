//! After a monitor crash: no handles survive, only the state file. Phys NICs come home from
//! the pinned namespace; the host ends rlxc made (checked by alias) are deleted.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};

use super::phys::{self, PhysRecord};
use super::{delete_host_link, ignore_gone, is_ours};
use crate::{link, netns, Error, Netlink};

/// Undoes a dead monitor's network: `pinned` is the container's namespace, kept alive by a
/// bind mount when it held phys NICs. Goes on after an error and returns them all.
pub fn recover(
    container: &str,
    host_links: &[String],
    phys: &[PhysRecord],
    pinned: Option<BorrowedFd<'_>>,
) -> Vec<Error> {
    let mut errors = Vec::new();
    let mut host = match Netlink::open() {
        Ok(host) => host,
        Err(e) => return vec![e],
    };
    if let (Some(pinned), false) = (pinned, phys.is_empty()) {
        errors.extend(send_all_home(&mut host, pinned, phys));
    }
    for name in host_links {
        let result = match link::details_by_name(&mut host, name) {
            Ok(details) if is_ours(&details, container) => {
                delete_host_link(&mut host, container, details.index, name)
            }
            Ok(_) => Ok(()),
            Err(e) => ignore_gone(Err(e)),
        };
        errors.extend(result.err());
    }
    errors
}

fn send_all_home(host: &mut Netlink, pinned: BorrowedFd<'_>, phys: &[PhysRecord]) -> Vec<Error> {
    let netns_error = |cause| Error::Netns {
        op: crate::Operation::EnterNetns,
        cause,
    };
    let host_netns = match File::open("/proc/thread-self/ns/net") {
        Ok(file) => file,
        Err(e) => return vec![netns_error(e)],
    };
    let mut inside = match netns::open_netlink_in(pinned) {
        Ok(inside) => inside,
        Err(e) => return vec![e],
    };
    phys.iter()
        .rev()
        .filter_map(|record| phys::send_home(&mut inside, host, host_netns.as_fd(), record).err())
        .collect()
}
