//! The monitor's `unsafe`: fork, a signalfd, and stdio redirection.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// fork(2). Returns 0 in the child and the child's pid in the parent.
///
/// The caller must be single-threaded: the child runs arbitrary code (it becomes the monitor).
pub(crate) fn fork() -> io::Result<i32> {
    // SAFETY: rlxc's CLI has one thread when it starts a container (it spawns none), so the
    // child inherits no lock held by another thread and may allocate freely.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        pid => Ok(pid),
    }
}

/// Blocks `signals` and returns a signalfd that reads them.
pub(crate) fn signalfd_for(signals: &[i32]) -> Option<OwnedFd> {
    // SAFETY: `set` is a local sigset_t initialised by sigemptyset before use; sigaddset,
    // sigprocmask and signalfd only read it. The fd signalfd returns is new and owned by us.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in signals {
            libc::sigaddset(&mut set, *signal);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return None;
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        (fd >= 0).then(|| OwnedFd::from_raw_fd(fd))
    }
}

/// Makes `fd` this process's stdin, stdout and stderr.
pub(crate) fn dup_onto_stdio(fd: &impl AsRawFd) -> io::Result<()> {
    for target in 0..3 {
        // SAFETY: dup2 onto this process's fds 0-2; `fd` is open for the call.
        if unsafe { libc::dup2(fd.as_raw_fd(), target) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
