//! Locking an unprivileged container's mounts (issue #6, set-up (b)).
//!
//! The child builds its rootfs, masks and read-only /proc/sys in a mount namespace M1 that
//! its own user namespace U1 owns: root there keeps CAP_SYS_ADMIN, and the kernel locks
//! (MNT_LOCKED, MNT_LOCK_READONLY, ...) only mounts that were copied into a namespace of a
//! *less privileged* user namespace than the one they came from (fs/namespace.c,
//! `copy_mnt_ns`: `if (user_ns != ns->user_ns) lock_mnt_tree(new)`). So a short-lived helper
//! of the host's user namespace makes that copy for it:
//!
//! ```text
//! helper (forked by the monitor, host root, single-threaded, its own fs_struct)
//!   setns(M1)                  host root is capable over U1
//!   unshare(CLONE_NEWNS)  → M2 a copy owned by the host's user namespace
//!   setns(U1)                  capable in U1 (the host's root created it)
//!   unshare(CLONE_NEWNS)  → M3 a copy of M2 into U1: every mount but the namespace's own
//!                              root is locked
//!   sends /proc/thread-self/ns/mnt (M3) to the monitor, exits
//! ```
//!
//! The child, capable in U1 which owns M3, then enters it and leaves M1; M1 and M2 vanish
//! with their last reference. Propagation: M1's mounts are slaves of the host's (the
//! rootfs set-up made them so) and copies keep their master, while shared ones become
//! slaves in a copy across user namespaces; nothing in M3 propagates back to the host.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

use crate::channel::Channel;

/// Why the locked copy of the child's mounts could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("opening {0}: {1}")]
    Open(&'static str, rustix::io::Errno),
    #[error("forking the helper: {0}")]
    Fork(std::io::Error),
    #[error("talking to the helper: {0}")]
    Channel(crate::channel::ChannelError),
    #[error("{0}")]
    Helper(String),
    #[error("the helper sent no mount namespace")]
    NoNamespace,
}

crate::error::from_cause!(crate::channel::ChannelError => LockError::Channel);

/// A mount namespace owned by the child's user namespace, holding a copy of the child's
/// mounts with all of them locked.
pub(crate) fn locked_copy_of(pid: i32) -> Result<OwnedFd, LockError> {
    let mount = open_namespace(pid, "mnt", "the child's mount namespace")?;
    let user = open_namespace(pid, "user", "the child's user namespace")?;
    // The helper names its own namespace through the host's /proc: once in the child's mount
    // namespace, "/proc" is the container's, where the helper has no pid.
    let proc = rustix::fs::open(
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| LockError::Open("/proc", e))?;
    let (ours, helpers) = Channel::pair()?;
    match crate::process::fork::fork().map_err(LockError::Fork)? {
        0 => {
            drop(ours);
            let outcome = copy_into(&mount, &user, &proc);
            let sent = match &outcome {
                Ok(copy) => helpers.send(&Ok::<(), String>(()), &[copy.as_fd()]),
                Err(e) => helpers.send(&Err::<(), String>(e.clone()), &[]),
            };
            crate::process::fork::exit_child(i32::from(sent.is_err() || outcome.is_err()))
        }
        helper => {
            drop(helpers);
            let received = ours.recv::<Result<(), String>>();
            crate::process::fork::reap(helper);
            let (outcome, fds) = received?;
            outcome.map_err(LockError::Helper)?;
            fds.into_iter().next().ok_or(LockError::NoNamespace)
        }
    }
}

fn open_namespace(pid: i32, kind: &str, what: &'static str) -> Result<OwnedFd, LockError> {
    rustix::fs::open(
        format!("/proc/{pid}/ns/{kind}"),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| LockError::Open(what, e))
}

/// The helper's steps (see the module's doc); each error names its step.
fn copy_into(mount: &OwnedFd, user: &OwnedFd, proc: &OwnedFd) -> Result<OwnedFd, String> {
    let named = |what: &'static str| move |e: rustix::io::Errno| format!("{what}: {e}");
    rustix::thread::move_into_link_name_space(mount.as_fd(), Some(LinkNameSpaceType::Mount))
        .map_err(named("entering the child's mount namespace"))?;
    super::sys::unshare(UnshareFlags::NEWNS)
        .map_err(named("copying it into the host's user namespace"))?;
    rustix::thread::move_into_link_name_space(user.as_fd(), Some(LinkNameSpaceType::User))
        .map_err(named("entering the child's user namespace"))?;
    super::sys::unshare(UnshareFlags::NEWNS)
        .map_err(named("copying the mounts back into it, locked"))?;
    rustix::fs::openat(
        proc,
        "thread-self/ns/mnt",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(named("opening the locked copy"))
}

/// The child's side: enter the locked copy. setns leaves root and cwd at the namespace's
/// root, looked up downwards through what is mounted on it: the container's rootfs, which
/// pivot_root put on the namespace's root mount.
pub(crate) fn enter(copy: OwnedFd) -> Result<(), String> {
    rustix::thread::move_into_link_name_space(copy.as_fd(), Some(LinkNameSpaceType::Mount))
        .map_err(|e| format!("entering the locked copy of the mounts: {e}"))?;
    rustix::process::chdir("/").map_err(|e| format!("chdir /: {e}"))
}
