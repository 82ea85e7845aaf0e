//! The fd table: what a process closes or marks close-on-exec before the container can see
//! it, stdio redirection, and waiting on two fds.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

/// Marks every fd from 3 up close-on-exec: no host fd may reach the container.
pub fn cloexec_from_3() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with integer arguments only; it changes fd flags, not memory.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Closes every fd from 3 up but those in `keep`: what the process inherited from its
/// caller (a test harness's pipes, a log file) must be gone before the container can see it.
pub fn close_fds_from_3_except(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|fd| **fd > 2)
        .map(|fd| *fd as u32)
        .collect();
    keep.sort_unstable();
    let mut first = 3u32;
    for kept in keep.into_iter().chain([u32::MAX]) {
        if kept > first {
            let last = if kept == u32::MAX { u32::MAX } else { kept - 1 };
            // SAFETY: close_range on integer bounds; only fds this code does not use (every
            // fd it still needs is in `keep`) are closed, so no OwnedFd is left dangling
            // that is ever used again before exec or exit.
            let rc = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        first = kept.saturating_add(1);
    }
    Ok(())
}

/// Makes `fd` the process's descriptor `target` (0, 1 or 2).
pub fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 onto one of this process's stdio numbers; `fd` stays open for the call and
    // the old `target` is replaced atomically, which is the point.
    if unsafe { libc::dup2(fd.as_raw_fd(), target) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Makes `fd` this process's stdin, stdout and stderr.
pub fn dup_onto_stdio(fd: BorrowedFd<'_>) -> io::Result<()> {
    (0..3).try_for_each(|target| dup_onto(fd, target))
}

/// Waits until `first` or `second` is readable (or hung up), and says which: 0 or 1. The
/// wait is restarted after a signal handler ran (EINTR).
pub fn first_readable(first: BorrowedFd<'_>, second: BorrowedFd<'_>) -> io::Result<usize> {
    use rustix::event::{poll, PollFd, PollFlags};
    let wanted = PollFlags::IN | PollFlags::HUP | PollFlags::ERR;
    loop {
        let mut fds = [PollFd::new(&first, wanted), PollFd::new(&second, wanted)];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        if let Some(ready) = fds.iter().position(|fd| !fd.revents().is_empty()) {
            return Ok(ready);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use crate::fork::{exit_child, fork};

    /// In a forked child (closing fds in the test harness would close its own): of three
    /// fds, only the kept middle one survives; 0-2 are never touched.
    #[test]
    fn close_fds_from_3_except_keeps_only_what_it_is_told() {
        let fds: Vec<std::fs::File> = (0..3)
            .map(|_| std::fs::File::open("/dev/null").expect("open"))
            .collect();
        let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let pid = fork().expect("fork");
        if pid == 0 {
            let open = |fd: i32| {
                // SAFETY: F_GETFD on an integer fd only reads its flags.
                unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
            };
            let code = match super::close_fds_from_3_except(&[raw[1], 1]) {
                Ok(()) if !open(raw[0]) && open(raw[1]) && !open(raw[2]) && open(2) => 0,
                _ => 1,
            };
            exit_child(code)
        }
        let mut status = 0;
        // SAFETY: waits for our own child into a valid c_int.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
