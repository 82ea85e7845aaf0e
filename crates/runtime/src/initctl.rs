//! sysvinit's control FIFO (`/run/initctl`, `/dev/initctl` before sysvinit 2.89): what
//! `telinit 0` and `telinit 6` write to change the runlevel. A stop or reboot of a sysvinit
//! container goes this way, because its halt signal (SIGPWR) runs whatever the guest's
//! inittab maps to power failures: Debian's stock inittab runs its powerfail script, which
//! does not halt, so LXC's `lxc-stop` sits out its whole timeout on such a guest.
//!
//! The FIFO is the container's to make, so it is opened below init's root with
//! `openat2(RESOLVE_IN_ROOT)` (a planted symlink resolves inside the container), first as a
//! path only: it must be a FIFO before it is opened for writing (opening a device node can
//! have side effects). Nothing on the host runs `telinit`.

use std::os::fd::{AsRawFd, OwnedFd};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// `INIT_MAGIC` of sysvinit's `initreq.h`.
const INIT_MAGIC: i32 = 0x0309_1969;
/// `INIT_CMD_RUNLVL`: change to `runlevel`.
const INIT_CMD_RUNLVL: i32 = 1;
/// `sizeof(struct init_request)`: four ints and a 368-byte union. sysvinit drops a request
/// of any other length.
const REQUEST_SIZE: usize = 384;
/// Seconds between the TERM and the KILL that init sends the processes of the runlevel it
/// leaves: telinit's default.
const SLEEP_TIME: i32 = 3;

/// Where sysvinit listens, newest first, relative to the container's root.
const FIFOS: [&str; 2] = ["run/initctl", "dev/initctl"];
/// Present while systemd is init (sd_booted(3)): systemd's own `/run/initctl` is left alone,
/// a systemd guest shuts down on its halt signal.
const SYSTEMD_BOOTED: &str = "run/systemd/system";

/// The runlevels a stop and a reboot ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runlevel {
    /// `telinit 0`: halt.
    Halt,
    /// `telinit 6`: reboot.
    Reboot,
}

impl Runlevel {
    fn byte(self) -> u8 {
        match self {
            Runlevel::Halt => b'0',
            Runlevel::Reboot => b'6',
        }
    }
}

impl std::fmt::Display for Runlevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "runlevel {}", char::from(self.byte()))
    }
}

/// Why a container's init was not asked through its FIFO (the caller signals it instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    #[error("opening init's root: {0}")]
    Root(#[source] Errno),
    #[error("init is systemd (/{SYSTEMD_BOOTED} exists)")]
    Systemd,
    #[error("no /run/initctl or /dev/initctl FIFO in the container")]
    NoFifo,
    /// No process has the FIFO open for reading: no sysvinit listens there.
    #[error("nothing reads /{0}")]
    NoReader(&'static str),
    #[error("writing to /{fifo}: {source}")]
    Write {
        fifo: &'static str,
        #[source]
        source: Errno,
    },
}

/// Asks the sysvinit of the container whose init is `pid` for `runlevel`, as `telinit` does;
/// returns the FIFO it wrote to. The caller holds a pidfd of `pid`, so the pid is still
/// that init's.
pub fn request(pid: i32, runlevel: Runlevel) -> Result<&'static str, Unavailable> {
    let root = rfs::open(
        format!("/proc/{pid}/root"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(Unavailable::Root)?;
    if open_path(&root, SYSTEMD_BOOTED).is_some() {
        return Err(Unavailable::Systemd);
    }
    let (fifo, fd) = FIFOS
        .into_iter()
        .find_map(|fifo| Some((fifo, open_fifo(&root, fifo)?)))
        .ok_or(Unavailable::NoFifo)?;
    let fd = fd.map_err(|source| match source {
        // A FIFO with no reader refuses a non-blocking writer.
        Errno::NXIO => Unavailable::NoReader(fifo),
        source => Unavailable::Write { fifo, source },
    })?;
    // One write below PIPE_BUF is atomic: init reads the whole request or none of it.
    match rustix::io::write(&fd, &encode(runlevel)) {
        Ok(REQUEST_SIZE) => Ok(fifo),
        Ok(_) => Err(Unavailable::Write {
            fifo,
            source: Errno::IO,
        }),
        Err(source) => Err(Unavailable::Write { fifo, source }),
    }
}

/// `path` below `root`, as a path-only fd, symlinks resolved inside the root.
fn open_path(root: &OwnedFd, path: &str) -> Option<OwnedFd> {
    rfs::openat2(
        root,
        path,
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()
}

/// `None` where `path` is missing or no FIFO; else the FIFO opened for a non-blocking write.
fn open_fifo(root: &OwnedFd, path: &str) -> Option<Result<OwnedFd, Errno>> {
    let path_only = open_path(root, path)?;
    let stat = rfs::fstat(&path_only).ok()?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Fifo {
        return None;
    }
    // Reopened through our own /proc/self/fd: that very inode, with no second lookup in the
    // container's tree that it could race.
    Some(rfs::open(
        format!("/proc/self/fd/{}", path_only.as_raw_fd()),
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ))
}

/// `struct init_request` in the host's byte order (init runs on the same kernel).
fn encode(runlevel: Runlevel) -> [u8; REQUEST_SIZE] {
    let mut request = [0u8; REQUEST_SIZE];
    let fields = [
        INIT_MAGIC,
        INIT_CMD_RUNLVL,
        i32::from(runlevel.byte()),
        SLEEP_TIME,
    ];
    for (slot, value) in request.chunks_exact_mut(4).zip(fields) {
        slot.copy_from_slice(&value.to_ne_bytes());
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_telinits_struct() {
        let request = encode(Runlevel::Halt);
        assert_eq!(request.len(), 384);
        let int = |request: [u8; REQUEST_SIZE], at: usize| {
            i32::from_ne_bytes(request[at..at + 4].try_into().unwrap())
        };
        assert_eq!(int(request, 0), 0x0309_1969);
        assert_eq!(int(request, 4), 1);
        assert_eq!(int(request, 8), i32::from(b'0'));
        assert_eq!(int(request, 12), 3);
        assert!(request[16..].iter().all(|&b| b == 0));
        assert_eq!(int(encode(Runlevel::Reboot), 8), i32::from(b'6'));
    }

    fn mkfifo(path: &std::path::Path) {
        rfs::mknodat(
            rfs::CWD,
            path,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    }

    /// A directory standing in for a container's root, with its `run/`, and a path-only fd.
    fn fake_root() -> (tempfile::TempDir, OwnedFd) {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("run")).unwrap();
        let fd = rfs::open(root.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
        (root, fd)
    }

    /// The test reads the FIFO as init would.
    #[test]
    fn the_request_reaches_a_reader_of_the_fifo_and_a_fifo_without_one_is_refused() {
        let (root, root_fd) = fake_root();
        let fifo = root.path().join("run/initctl");
        mkfifo(&fifo);
        let refused = open_fifo(&root_fd, "run/initctl").unwrap();
        assert_eq!(refused.err(), Some(Errno::NXIO));
        let reader = rfs::open(&fifo, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()).unwrap();
        let writer = open_fifo(&root_fd, "run/initctl").unwrap().unwrap();
        rustix::io::write(&writer, &encode(Runlevel::Reboot)).unwrap();
        let mut read = [0u8; 512];
        let n = rustix::io::read(&reader, &mut read).unwrap();
        assert_eq!(&read[..n], &encode(Runlevel::Reboot)[..]);
    }

    #[test]
    fn only_a_fifo_inside_the_root_is_opened() {
        let (root, root_fd) = fake_root();
        std::fs::write(root.path().join("run/initctl"), b"").unwrap();
        // A FIFO on the host with a reader, and a symlink to it in the container: resolved
        // inside the root, the link leads nowhere.
        let host = tempfile::tempdir().unwrap();
        let host_fifo = host.path().join("initctl");
        mkfifo(&host_fifo);
        let _reader =
            rfs::open(&host_fifo, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty()).unwrap();
        std::os::unix::fs::symlink(&host_fifo, root.path().join("dev-initctl")).unwrap();
        assert!(open_fifo(&root_fd, "run/initctl").is_none());
        assert!(open_fifo(&root_fd, "dev-initctl").is_none());
    }
}
