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

/// Rewrites this process's command line (what `ps` shows) in place, within the space the
/// original arguments had; a longer title is cut. The kernel reads `/proc/PID/cmdline` from
/// `[arg_start, arg_end)`, which `/proc/self/stat` reports (fields 48 and 49).
pub(crate) fn set_command_line(title: &str) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    let Some(after_name) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return;
    };
    // Fields after the name start at field 3; arg_start is field 48.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let (Some(start), Some(end)) = (
        fields.get(45).and_then(|f| f.parse::<usize>().ok()),
        fields.get(46).and_then(|f| f.parse::<usize>().ok()),
    ) else {
        return;
    };
    if end <= start + 1 {
        return;
    }
    let room = end - start - 1;
    let bytes = &title.as_bytes()[..title.len().min(room)];
    // SAFETY: [start, end) is this process's argument area, mapped and writable (it is on the
    // initial stack); nothing holds a Rust reference into it (std reads argv only on demand,
    // and the monitor never asks again). We write within it and keep a final NUL.
    unsafe {
        let area = start as *mut u8;
        std::ptr::write_bytes(area, 0, end - start);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), area, bytes.len());
    }
}
