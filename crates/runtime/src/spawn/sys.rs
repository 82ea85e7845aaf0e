//! The spawn code's own `unsafe`: the few prctl/keyctl/unshare calls rustix lacks, and the
//! tiny init's reaping (the process primitives are in [`crate::process`]).

use std::io;

/// Reaps every exited child; returns the command's status once it is among them.
pub(crate) fn reap_all(command: i32) -> Option<i32> {
    let mut result = None;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: `status` is a valid c_int; waitpid(-1, WNOHANG) only reaps our children.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return result;
        }
        if pid == command {
            result = Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
        }
    }
}

/// kill(2), ignoring a process that is already gone.
pub(crate) fn kill(pid: i32, signal: i32) {
    // SAFETY: integer arguments only.
    unsafe { libc::kill(pid, signal) };
}

/// Gives this process a new, anonymous session keyring (`keyctl(KEYCTL_JOIN_SESSION_KEYRING,
/// NULL)`), so the container does not share the keys of whoever started it.
pub(crate) fn join_new_session_keyring() -> io::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl with a null name pointer, which the kernel reads as "anonymous".
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if rc >= 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Why this process may not call keyctl at all, if it may not: a seccomp filter it runs
/// under (that of a container rlxc itself runs in) answers every keyctl with EPERM (rlxc's
/// default policy) or ENOSYS. Probed with a harmless look-up of the session keyring's id.
pub(crate) fn keyctl_denied() -> Option<io::Error> {
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    // SAFETY: integer arguments only; the call makes nothing (create = 0).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            0 as libc::c_long,
        )
    };
    if rc >= 0 {
        return None;
    }
    let error = io::Error::last_os_error();
    matches!(
        error.raw_os_error(),
        Some(libc::EPERM | libc::EACCES | libc::ENOSYS)
    )
    .then_some(error)
}

/// `unshare(CLONE_NEWCGROUP)`: a new cgroup namespace rooted at the caller's cgroups.
pub(crate) fn unshare_cgroup_namespace() -> io::Result<()> {
    // SAFETY: unshare with only CLONE_NEWCGROUP changes no memory and no file table; it
    // only gives this process a new cgroup namespace.
    if unsafe { libc::unshare(libc::CLONE_NEWCGROUP) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `unshare(CLONE_NEWTIME)`: this process's next children get a new time namespace (the
/// caller itself stays in its own).
pub(crate) fn unshare_time_namespace() -> io::Result<()> {
    // SAFETY: unshare with only CLONE_NEWTIME changes no memory and no file table.
    if unsafe { libc::unshare(super::plan::CLONE_NEWTIME as libc::c_int) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `unshare(flags)` for namespace flags only (the lock helper's CLONE_NEWNS).
pub(crate) fn unshare(flags: rustix::thread::UnshareFlags) -> rustix::io::Result<()> {
    debug_assert!(!flags.contains(rustix::thread::UnshareFlags::FILES));
    // SAFETY: without CLONE_FILES (which could leave another thread's fds unusable) unshare
    // only gives this process new namespaces; the callers are single-threaded anyway.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}
