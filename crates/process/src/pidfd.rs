//! pidfds: a handle that pins one process, so a signal or a wait cannot reach another one
//! that reused its pid.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal, WaitId};

/// pidfd_open(2) of `pid`; ESRCH for a pid that cannot be a process (0 or less).
pub fn open(pid: i32) -> io::Result<OwnedFd> {
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
    Ok(pidfd_open(pid, PidfdFlags::empty())?)
}

/// SIGKILL to our child behind `pidfd`, then reaps it, so it leaves no process behind.
pub fn kill_and_reap(pidfd: &OwnedFd) {
    let _ = pidfd_send_signal(pidfd, Signal::KILL);
    let _ = rustix::process::waitid(
        WaitId::PidFd(pidfd.as_fd()),
        rustix::process::WaitIdOptions::EXITED,
    );
}
