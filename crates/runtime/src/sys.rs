//! The crate's `unsafe`: raw process syscalls, each wrapped so callers stay safe.

use std::io;

/// How a probe child ended.
pub(crate) enum ChildOutcome {
    /// The child's `unshare` returned this errno (0 for success).
    Exited(i32),
    KilledBySignal(i32),
}

/// Forks a child that calls `unshare(flags)` and exits with the errno (0 on success), then
/// reaps it. The child only makes raw syscalls (no allocation, no locks), so this is sound
/// even when the caller has other threads.
pub(crate) fn unshare_in_child(flags: libc::c_int) -> Result<ChildOutcome, ForkOrWait> {
    // SAFETY: after fork the child runs only async-signal-safe code: `unshare`, reading
    // errno and `_exit`. It never returns into Rust code that could touch locks or memory
    // shared with other threads, and `_exit` skips atexit handlers and destructors.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(ForkOrWait::Fork(io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: raw syscalls in the forked child, see above. `__errno_location` returns a
        // valid pointer to this thread's errno.
        unsafe {
            let status = if libc::unshare(flags) == 0 {
                0
            } else {
                *libc::__errno_location()
            };
            libc::_exit(status)
        }
    }
    wait_for(pid).map_err(ForkOrWait::Wait)
}

pub(crate) enum ForkOrWait {
    Fork(io::Error),
    Wait(io::Error),
}

fn wait_for(pid: libc::pid_t) -> io::Result<ChildOutcome> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a valid, writable c_int for the duration of the call and `pid`
        // is our own child, so waiting on it cannot reap anyone else's process.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    if libc::WIFEXITED(status) {
        Ok(ChildOutcome::Exited(libc::WEXITSTATUS(status)))
    } else {
        Ok(ChildOutcome::KilledBySignal(libc::WTERMSIG(status)))
    }
}
