//! A child that thaws a frozen container if this process dies (SIGKILL included) before it
//! thawed it itself: a copy or snapshot of a running container never leaves it frozen.
//!
//! The child holds one end of a socket pair whose other end only we hold, and blocks reading
//! it: the byte [`DONE`] says we thawed the container (it exits); end of file says we are gone
//! or gave up (it writes the thaw to the freezer file, touches the state file so `rlxc wait`
//! looks again, removes the copy's marker, and exits). All it needs (the paths as C strings, the text) is made before
//! the fork and the child makes raw syscalls only, so it is sound even if this process has
//! other threads. It closes every other fd: a copy of the operation lock's fd would keep the
//! lock, and one of our end would keep the end of file from coming. It leaves our session
//! and ignores the signals that stop a create: a Ctrl-C, a hangup or a kill of our process
//! group is for us, and it must outlive us.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};

/// What we send when we thawed the container ourselves.
const DONE: u8 = b'd';

/// The signals the child ignores (see the module's doc).
const IGNORED: [libc::c_int; 5] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGPIPE,
];

/// A running watchdog: thaws unless [`ThawWatchdog::dismiss`]ed; reaped when dropped.
#[derive(Debug)]
pub(super) struct ThawWatchdog {
    pid: libc::pid_t,
    /// Our end; closed without [`DONE`], the child thaws.
    ours: Option<OwnedFd>,
}

/// What the child needs, made before the fork.
struct Orders {
    freezer: CString,
    thaw: &'static [u8],
    state_file: CString,
    marker: CString,
    theirs: RawFd,
    ours: RawFd,
    /// Where the fallback closing stops, when close_range is missing.
    fd_limit: RawFd,
}

impl ThawWatchdog {
    /// Forks the watchdog of the freezer `freezer` (the file `thaw` thaws it) of the
    /// container whose state file is `state_file`; `marker` is removed once it thawed.
    /// Started before the freeze, so there is no moment when the container is frozen and
    /// nobody would thaw it.
    pub(super) fn start(
        freezer: &Path,
        thaw: &'static str,
        state_file: &Path,
        marker: &Path,
    ) -> io::Result<ThawWatchdog> {
        let (ours, theirs) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::CLOEXEC,
            None,
        )?;
        let orders = Orders {
            freezer: c_path(freezer)?,
            thaw: thaw.as_bytes(),
            state_file: c_path(state_file)?,
            marker: c_path(marker)?,
            theirs: theirs.as_raw_fd(),
            ours: ours.as_raw_fd(),
            fd_limit: fd_limit(),
        };
        // SAFETY: the child runs `watch` only, which makes raw syscalls on values made above
        // and ends in `_exit`: no allocation, no lock, no Rust state of the parent's is used.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => watch(&orders),
            pid => {
                drop(theirs);
                Ok(ThawWatchdog {
                    pid,
                    ours: Some(ours),
                })
            }
        }
    }

    /// We thawed the container ourselves: the child exits without touching it.
    pub(super) fn dismiss(mut self) {
        if let Some(ours) = self.ours.take() {
            // Lost only when the child is gone already: nothing is left to dismiss.
            let _ = rustix::net::send(&ours, &[DONE], SendFlags::NOSIGNAL);
        }
    }

    #[cfg(test)]
    fn pid(&self) -> libc::pid_t {
        self.pid
    }
}

impl Drop for ThawWatchdog {
    fn drop(&mut self) {
        // Not dismissed: the end of file has the child thaw. Either way it exits at once.
        drop(self.ours.take());
        crate::process::fork::reap(self.pid);
    }
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} holds a NUL byte", path.display()),
        )
    })
}

/// The soft limit of open files: no fd is at or above it.
fn fd_limit() -> RawFd {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    limit.map_or(RawFd::MAX, |limit| {
        RawFd::try_from(limit).unwrap_or(RawFd::MAX)
    })
}

/// The child: waits for [`DONE`] or the end of file, thaws on the latter, exits.
fn watch(orders: &Orders) -> ! {
    // SAFETY: raw syscalls in the forked child on plain values and C strings made before the
    // fork (see `start`); `_exit` skips every destructor and atexit handler of the parent's.
    unsafe {
        for signal in IGNORED {
            libc::signal(signal, libc::SIG_IGN);
        }
        libc::setsid();
        // Named for `ps`: a copy of `rlxc copy …` would be mistaken for a second copy.
        libc::prctl(libc::PR_SET_NAME, c"rlxc-thaw".as_ptr());
        close_all_but(orders.theirs, orders.ours, orders.fd_limit);
        let mut byte = 0u8;
        loop {
            let read = libc::read(orders.theirs, (&raw mut byte).cast(), 1);
            if read == 1 && byte == DONE {
                libc::_exit(0);
            }
            let interrupted = read < 0 && *libc::__errno_location() == libc::EINTR;
            if read == 1 || interrupted {
                continue;
            }
            break;
        }
        let mut code = 1;
        let fd = libc::open(orders.freezer.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            let written = libc::write(fd, orders.thaw.as_ptr().cast(), orders.thaw.len());
            if written == orders.thaw.len() as isize {
                code = 0;
                libc::unlink(orders.marker.as_ptr());
            }
            libc::close(fd);
        }
        libc::utimensat(
            libc::AT_FDCWD,
            orders.state_file.as_ptr(),
            std::ptr::null(),
            0,
        );
        libc::_exit(code)
    }
}

/// Closes every fd but `keep`; `ours` (the other end) first and for sure.
///
/// # Safety
/// Only in the forked child: it closes fds that `OwnedFd`s of the parent's copy name.
unsafe fn close_all_but(keep: RawFd, ours: RawFd, limit: RawFd) {
    // SAFETY: (for each call) close and close_range on integer arguments.
    unsafe {
        libc::close(ours);
        let below = keep == 0
            || libc::syscall(
                libc::SYS_close_range,
                0u32,
                (keep - 1) as libc::c_uint,
                0u32,
            ) == 0;
        let above = libc::syscall(
            libc::SYS_close_range,
            (keep + 1) as libc::c_uint,
            u32::MAX,
            0u32,
        ) == 0;
        if below && above {
            return;
        }
        // A kernel before 5.9: one by one, up to the limit (capped: a huge limit would take
        // long, and nothing in this process opens that many files).
        for fd in (0..limit.min(1 << 16)).filter(|fd| *fd != keep) {
            libc::close(fd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn reaped(pid: libc::pid_t) -> bool {
        // SAFETY: a non-blocking waitpid of one pid with a null status pointer.
        let rc = unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) };
        rc == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD)
    }

    struct Files {
        _dir: tempfile::TempDir,
        freezer: std::path::PathBuf,
        state: std::path::PathBuf,
        marker: std::path::PathBuf,
    }

    fn files() -> Files {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| {
            let path = dir.path().join(name);
            fs::write(&path, "").expect("write");
            path
        };
        let (freezer, state, marker) = (path("freezer.state"), path("state"), path("marker"));
        Files {
            _dir: dir,
            freezer,
            state,
            marker,
        }
    }

    fn start(files: &Files, thaw: &'static str) -> ThawWatchdog {
        ThawWatchdog::start(&files.freezer, thaw, &files.state, &files.marker).expect("start")
    }

    #[test]
    fn a_watchdog_whose_end_closes_thaws_and_is_reaped() {
        let files = files();
        let watchdog = start(&files, "THAWED");
        let pid = watchdog.pid();
        drop(watchdog);
        assert_eq!(fs::read_to_string(&files.freezer).expect("read"), "THAWED");
        assert!(!files.marker.exists(), "the marker stayed");
        assert!(reaped(pid), "the watchdog {pid} was not reaped");
    }

    #[test]
    fn a_dismissed_watchdog_writes_nothing_and_is_reaped() {
        let files = files();
        let watchdog = start(&files, "0");
        let pid = watchdog.pid();
        watchdog.dismiss();
        assert_eq!(fs::read_to_string(&files.freezer).expect("read"), "");
        assert!(files.marker.exists(), "the marker went");
        assert!(reaped(pid), "the watchdog {pid} was not reaped");
    }

    #[test]
    fn the_watchdog_keeps_no_fd_of_ours() {
        let files = files();
        // A pipe made before the fork, as the operation lock's fd is: once we close our
        // write end, the read end sees the end of file only if the child holds no copy.
        let (read, write) = rustix::pipe::pipe().expect("pipe");
        let watchdog = start(&files, "0");
        let fd_dir = format!("/proc/{}/fd", watchdog.pid());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        // The child closes them right after the fork: looked at until it has.
        let mut open: Vec<String>;
        loop {
            open = fs::read_dir(&fd_dir)
                .expect("fd dir")
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect();
            if open.len() == 1 || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(open.len(), 1, "the watchdog holds {open:?}");
        drop(write);
        let mut buf = [0u8; 1];
        assert_eq!(rustix::io::read(&read, &mut buf).expect("read"), 0);
        watchdog.dismiss();
    }
}
