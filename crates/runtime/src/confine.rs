//! The lock-down of a process of the container, written once for init (`spawn::child`) and
//! attach's confiner (`attach::child`) so that the two cannot drift apart. A [`Lockdown`]
//! says what the process keeps; [`lock_down`] applies it in one fixed order:
//!
//! 1. the capability bounding set: what this process and everything it execs can ever hold;
//! 2. ambient and inheritable capabilities cleared: an exec would hand them back past the
//!    bounding set (a root's inheritable set survives its exec whole);
//! 3. no_new_privs;
//! 4. the caller's last step before the filter (init: its keyring label and a new session
//!    keyring, as keyctl is denied to the container; attach: the sysinfo listener's handover);
//! 5. seccomp, the last of the privileged steps: without no_new_privs installing a filter
//!    needs CAP_SYS_ADMIN, which the ids take next;
//! 6. the ids: groups, gid, then uid;
//! 7. permitted and effective capabilities cut to the bounding set: exec would do that for a
//!    root anyway, but the process is in sight of the container before it execs (init while
//!    its start hooks run, attach's command until its exec).
//!
//! The LSM exec labels stay with the callers, since each has its own moment for them: init
//! writes its own last before exec (the start hooks' execs must not take it), attach's
//! confiner first, while its /proc/self is still the host's (see `lsm::open`/`lsm::apply`).

use rustix::io::Errno;
use rustix::process::{Gid, Uid};
use rustix::thread::CapabilitySet;

use crate::seccomp::Program;

/// A step that failed: its name (as the callers report steps) and why.
#[derive(Debug)]
pub(crate) struct Failure {
    pub step: &'static str,
    pub message: String,
}

/// What a process of the container keeps: see the module docs for the order it is applied in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lockdown<'a> {
    pub bounding: Bounding<'a>,
    pub no_new_privs: bool,
    /// The filter it runs under; `None`: none (`lxc.seccomp.profile` set empty, or an init
    /// without one).
    pub seccomp: Option<&'a Program>,
    pub groups: Groups<'a>,
    pub gid: u32,
    pub uid: u32,
}

/// The capability bounding set a process gets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bounding<'a> {
    /// Its capabilities left as they are (`attach -e CAP`): steps 1, 2 and 7 are skipped.
    Unchanged,
    /// These numbers (0 to 63) dropped: `lxc.cap.drop`, or what `lxc.cap.keep` leaves out. A
    /// number the kernel does not know is an error: the config named it.
    Drop(&'a [u8]),
    /// Only these kept (init's set, as attach reads it): every other number is dropped, and
    /// one beyond the kernel's last is nothing to drop.
    Only(u64),
}

/// The supplementary groups a process gets.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Groups<'a> {
    /// Exactly these.
    These(&'a [u32]),
    /// None; in a user namespace with setgroups denied there are none to clear (EPERM).
    NoneIfAllowed,
}

/// Applies `lockdown` to this process (see the module docs for the order), with
/// `before_filter` as step 4. The caller's failures come back as its own; ours name the step.
pub(crate) fn lock_down<E: From<Failure>>(
    lockdown: &Lockdown<'_>,
    before_filter: impl FnOnce() -> Result<(), E>,
) -> Result<(), E> {
    let bounded = !matches!(lockdown.bounding, Bounding::Unchanged);
    limit_bounding_set(lockdown.bounding)?;
    if bounded {
        clear_ambient_and_inheritable()?;
    }
    if lockdown.no_new_privs {
        rustix::thread::set_no_new_privs(true).map_err(failed("no_new_privs"))?;
    }
    before_filter()?;
    if let Some(program) = lockdown.seccomp {
        crate::seccomp::install(program).map_err(|e| Failure {
            step: "seccomp",
            message: e.to_string(),
        })?;
    }
    set_ids(lockdown.groups, lockdown.gid, lockdown.uid)?;
    if bounded {
        keep_only_bounded_capabilities()?;
    }
    Ok(())
}

fn failed(step: &'static str) -> impl Fn(Errno) -> Failure {
    move |e| Failure {
        step,
        message: e.to_string(),
    }
}

fn one(number: u32) -> CapabilitySet {
    CapabilitySet::from_bits_retain(1u64.checked_shl(number).unwrap_or(0))
}

fn limit_bounding_set(bounding: Bounding<'_>) -> Result<(), Failure> {
    match bounding {
        Bounding::Unchanged => Ok(()),
        Bounding::Drop(numbers) => {
            drop_from_bounding_set(numbers.iter().map(|n| u32::from(*n)), Unknown::Fail)
        }
        Bounding::Only(keep) => {
            let lacking = (0..64u32).filter(|number| keep & (1 << number) == 0);
            drop_from_bounding_set(lacking, Unknown::Skip)
        }
    }
}

/// What to do with a capability the kernel does not know (beyond its last: EINVAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unknown {
    /// An error: the caller named that capability itself.
    Fail,
    /// Nothing to drop: the caller goes through every possible number.
    Skip,
}

/// Drops each capability of `numbers` (0 to 63) from this process's bounding set, which
/// it and everything it execs keeps for good.
fn drop_from_bounding_set(
    numbers: impl IntoIterator<Item = u32>,
    unknown: Unknown,
) -> Result<(), Failure> {
    for number in numbers {
        match rustix::thread::remove_capability_from_bounding_set(one(number)) {
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

fn clear_ambient_and_inheritable() -> Result<(), Failure> {
    rustix::thread::clear_ambient_capability_set().map_err(failed("capabilities"))?;
    let mut sets = rustix::thread::capabilities(None).map_err(failed("capabilities"))?;
    sets.inheritable = CapabilitySet::empty();
    rustix::thread::set_capabilities(None, sets).map_err(failed("capabilities"))
}

/// Groups, then the gid, then the uid (real, effective and saved alike): the uid last,
/// since changing it takes the capabilities the other two need.
fn set_ids(groups: Groups<'_>, gid: u32, uid: u32) -> Result<(), Failure> {
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

/// Permitted and effective cut to the bounding set as it now is (read back, so that what
/// this process's own parent had already dropped counts too).
fn keep_only_bounded_capabilities() -> Result<(), Failure> {
    let mut bounding = CapabilitySet::empty();
    for number in 0..64u32 {
        match rustix::thread::capability_is_in_bounding_set(one(number)) {
            Ok(true) => bounding |= one(number),
            // EINVAL: beyond the kernel's last capability, so not in the set.
            Ok(false) | Err(Errno::INVAL) => {}
            Err(e) => return Err(failed("capabilities")(e)),
        }
    }
    let mut sets = rustix::thread::capabilities(None).map_err(failed("capabilities"))?;
    sets.permitted &= bounding;
    sets.effective &= bounding;
    rustix::thread::set_capabilities(None, sets).map_err(failed("capabilities"))
}
