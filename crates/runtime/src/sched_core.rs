//! `lxc.sched.core = 1`: the container's processes get a core-scheduling cookie of their own
//! (only tasks with the same cookie share a physical core's hyper-threads), made by init for
//! its thread group before anything of the container runs and inherited by all it forks;
//! attached commands take init's (`PR_SCHED_CORE_SHARE_FROM`), as with LXC.
//!
//! A kernel without core scheduling (`CONFIG_SCHED_CORE` unset: EINVAL) or a machine
//! without SMT (ENODEV) cannot do what the key asks: the start is refused, not run without.

use rustix::io::Errno;
use rustix::process::Pid;
use rustix::thread::{self, CoreSchedulingScope};

/// Why this host cannot give a container a core-scheduling cookie.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("lxc.sched.core = 1: {reason}")]
pub struct NoCoreScheduling {
    pub reason: String,
}

/// Whether this kernel and machine do core scheduling: asks for our own cookie, which
/// changes nothing and fails as a create would.
pub fn probe() -> Result<(), NoCoreScheduling> {
    match thread::core_scheduling_cookie(rustix::process::getpid(), CoreSchedulingScope::Thread) {
        Ok(_) => Ok(()),
        Err(errno) => Err(NoCoreScheduling {
            reason: explain(errno),
        }),
    }
}

fn explain(errno: Errno) -> String {
    match errno {
        Errno::INVAL => "this kernel has no core scheduling (Linux 5.14 or later, built \
                         with CONFIG_SCHED_CORE)"
            .into(),
        Errno::NODEV => "this machine has no SMT (hyper-threads): the kernel does no core \
                         scheduling here"
            .into(),
        other => format!("core scheduling (prctl PR_SCHED_CORE): {other}"),
    }
}

/// In init before anything of the container runs: a new cookie for its thread group.
pub(crate) fn create_for_self() -> Result<(), NoCoreScheduling> {
    thread::create_core_scheduling_cookie(
        rustix::process::getpid(),
        CoreSchedulingScope::ThreadGroup,
    )
    .map_err(|errno| NoCoreScheduling {
        reason: explain(errno),
    })
}

/// The cookie of `pid` when it has one (non-zero); `None` without one, or on a kernel
/// without core scheduling.
pub(crate) fn cookie_of(pid: i32) -> Option<u64> {
    let pid = Pid::from_raw(pid)?;
    thread::core_scheduling_cookie(pid, CoreSchedulingScope::Thread)
        .ok()
        .filter(|cookie| *cookie != 0)
}

/// Takes `pid`'s cookie for this thread (its forks inherit it).
pub(crate) fn share_from(pid: i32) -> Result<(), Errno> {
    let pid = Pid::from_raw(pid).ok_or(Errno::SRCH)?;
    thread::pull_core_scheduling_cookie(pid, CoreSchedulingScope::Thread)
}
