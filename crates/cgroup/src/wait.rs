//! Waiting for processes to leave a cgroup without sleeping: cgroup2 tells through
//! `cgroup.events` (poll for POLLPRI, then read `populated`), and any process can be waited
//! on through its pidfd (readable once it has exited).

use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Instant;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{pidfd_open, Pid, PidfdFlags};

use crate::files::read_procs_below;
use crate::Error;

/// Waits until `populated 0` in `dir/cgroup.events` (it counts the whole subtree).
pub(crate) fn wait_unpopulated(dir: &Path, deadline: Instant) -> Result<(), Error> {
    wait_event(dir, "populated 0", deadline)
}

/// Waits until `dir/cgroup.events` has the line `wanted` (`frozen 1`, `populated 0`): the
/// kernel wakes a POLLPRI poller on every change of the file.
pub(crate) fn wait_event(dir: &Path, wanted: &str, deadline: Instant) -> Result<(), Error> {
    let wait_error = |errno: Errno| Error::Wait {
        path: dir.to_owned(),
        cause: errno.into(),
    };
    let events = rustix::fs::open(
        dir.join("cgroup.events"),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(wait_error)?;
    loop {
        // Each read re-arms the notification; a change between this read and the poll
        // makes the poll return at once.
        let mut buffer = [0u8; 256];
        let length = rustix::io::pread(&events, &mut buffer, 0).map_err(wait_error)?;
        let text = String::from_utf8_lossy(&buffer[..length]);
        if text.lines().any(|line| line.trim() == wanted) {
            return Ok(());
        }
        let Some(timeout) = time_left(deadline) else {
            return Err(busy(dir));
        };
        let mut fds = [PollFd::new(&events, PollFlags::PRI)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(errno) => return Err(wait_error(errno)),
        }
    }
}

/// Opens a pidfd for each pid; pids that are gone already are left out.
pub(crate) fn open_pidfds(dir: &Path, pids: &[i32]) -> Result<Vec<(i32, OwnedFd)>, Error> {
    let mut pidfds = Vec::with_capacity(pids.len());
    for &pid in pids {
        let Some(pid_value) = Pid::from_raw(pid) else {
            continue;
        };
        match pidfd_open(pid_value, PidfdFlags::empty()) {
            Ok(fd) => pidfds.push((pid, fd)),
            Err(Errno::SRCH) => {}
            Err(errno) => {
                return Err(Error::Wait {
                    path: dir.to_owned(),
                    cause: errno.into(),
                })
            }
        }
    }
    Ok(pidfds)
}

/// Polls the pidfds until every process has exited, or the deadline passes.
pub(crate) fn wait_for_exit(
    dir: &Path,
    mut pidfds: Vec<(i32, OwnedFd)>,
    deadline: Instant,
) -> Result<(), Error> {
    while !pidfds.is_empty() {
        let Some(timeout) = time_left(deadline) else {
            return Err(busy(dir));
        };
        let mut fds: Vec<PollFd<'_>> = pidfds
            .iter()
            .map(|(_, fd)| PollFd::new(fd, PollFlags::IN))
            .collect();
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(errno) => {
                return Err(Error::Wait {
                    path: dir.to_owned(),
                    cause: errno.into(),
                })
            }
        }
        let exited: Vec<bool> = fds.iter().map(|fd| !fd.revents().is_empty()).collect();
        drop(fds);
        let mut exited = exited.into_iter();
        pidfds.retain(|_| !exited.next().unwrap_or(false));
    }
    Ok(())
}

/// `None` once the deadline has passed.
fn time_left(deadline: Instant) -> Option<Timespec> {
    let left = deadline.checked_duration_since(Instant::now())?;
    if left.is_zero() {
        return None;
    }
    Timespec::try_from(left).ok()
}

/// The error for a cgroup that did not empty in time, with whatever is still in it.
pub(crate) fn busy(dir: &Path) -> Error {
    Error::Busy {
        path: dir.to_owned(),
        pids: read_procs_below(dir).unwrap_or_default(),
    }
}
