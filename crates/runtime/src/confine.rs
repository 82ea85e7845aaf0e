//! The confinement steps that init (`spawn::child`) and attach's confiner (`attach::child`)
//! share, written once so that the two cannot drift apart: the capability bounding set and
//! the ids. Each caller keeps its own order around them (see the callers), and the steps
//! that are already one call each stay calls into their modules: LSM labels (`lsm::open`,
//! `lsm::apply`), seccomp (`seccomp::install`) and no_new_privs.

use rustix::io::Errno;
use rustix::process::{Gid, Uid};
use rustix::thread::CapabilitySet;

/// A step that failed: its name (as the callers report steps) and why.
#[derive(Debug)]
pub(crate) struct Failure {
    pub step: &'static str,
    pub message: String,
}

/// What to do with a capability the kernel does not know (beyond its last: EINVAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    /// An error: the caller named that capability itself.
    Fail,
    /// Nothing to drop: the caller goes through every possible number.
    Skip,
}

/// Drops each capability of `numbers` (0 to 63) from this process's bounding set, which
/// it and everything it execs keeps for good.
pub(crate) fn drop_from_bounding_set(
    numbers: impl IntoIterator<Item = u32>,
    unknown: Unknown,
) -> Result<(), Failure> {
    for number in numbers {
        let capability = CapabilitySet::from_bits_retain(1u64.checked_shl(number).unwrap_or(0));
        match rustix::thread::remove_capability_from_bounding_set(capability) {
            Ok(()) => {}
            Err(Errno::INVAL) if unknown == Unknown::Skip => {}
            Err(e) => {
                return Err(Failure {
                    step: "capabilities",
                    message: format!("dropping capability {number}: {e}"),
                })
            }
        }
    }
    Ok(())
}

/// The supplementary groups a process gets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Groups<'a> {
    /// Exactly these.
    These(&'a [u32]),
    /// None; in a user namespace with setgroups denied there are none to clear (EPERM).
    NoneIfAllowed,
}

/// Groups, then the gid, then the uid (real, effective and saved alike): the uid last,
/// since changing it takes the capabilities the other two need.
pub(crate) fn set_ids(groups: Groups<'_>, gid: u32, uid: u32) -> Result<(), Failure> {
    let failed = |step: &'static str| {
        move |e: Errno| Failure {
            step,
            message: e.to_string(),
        }
    };
    match groups {
        Groups::These(groups) => {
            let groups: Vec<Gid> = groups.iter().map(|g| Gid::from_raw(*g)).collect();
            rustix::thread::set_thread_groups(&groups).map_err(failed("groups"))?;
        }
        Groups::NoneIfAllowed => match rustix::thread::set_thread_groups(&[]) {
            Ok(()) | Err(Errno::PERM) => {}
            Err(e) => return Err(failed("groups")(e)),
        },
    }
    let gid = Gid::from_raw(gid);
    rustix::thread::set_thread_res_gid(gid, gid, gid).map_err(failed("gid"))?;
    let uid = Uid::from_raw(uid);
    rustix::thread::set_thread_res_uid(uid, uid, uid).map_err(failed("uid"))
}
