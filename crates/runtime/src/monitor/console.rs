//! The console and ttys as the monitor holds them: the pty master, the log file, at most
//! one attached client, and for the console the host terminal of `lxc.console.path` (its
//! "peer", as LXC calls it). The monitor always drains the console, so init never blocks on
//! it; what a slow client or peer cannot take right away is dropped, so memory never grows.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use rlxc_config::ContainerSpec;

use super::launch_error::LaunchError;
use super::start_error::StartError;
use crate::paths::ContainerPaths;
use crate::spawn::PtyMasters;
use crate::unwritten::{check_room, LogKind, Recorder};

/// One pty the monitor holds: index 0 is the console, N is ttyN.
#[derive(Debug)]
pub(crate) struct Pty {
    pub index: u32,
    pub master: File,
    /// The monitor's own open slave, as LXC's monitor keeps one: without it, whenever no
    /// process in the container has the pty open (a systemd guest closes its console
    /// between status lines, gettys come and go) the master reports a hang-up that epoll
    /// repeats at once, and the monitor spun a CPU through the guest's boot.
    _slave: Option<OwnedFd>,
    pub client: Option<UnixStream>,
    pub log: Option<ConsoleLog>,
    /// The console only: the host terminal it is relayed to (`lxc.console.path`).
    pub peer: Option<Peer>,
}

/// LXC's choice for `lxc-console -t -1`, from each pty's index and whether a client holds it:
/// the first free tty; the console (0) only where there are no ttys; with every tty taken,
/// the first, which then refuses as in use.
pub(crate) fn free_tty(ptys: impl Iterator<Item = (u32, bool)>) -> u32 {
    let ttys: Vec<(u32, bool)> = ptys.filter(|(index, _)| *index > 0).collect();
    let first = |free_only: bool| {
        ttys.iter()
            .filter(|(_, busy)| !(free_only && *busy))
            .map(|(index, _)| *index)
            .min()
    };
    first(true).or_else(|| first(false)).unwrap_or(0)
}

impl Pty {
    pub fn new(index: u32, master: OwnedFd) -> Pty {
        let master = File::from(master);
        // TIOCGPTPEER (Linux 4.13) opens the slave through the master, in the container's
        // devpts, with no path. Without it the master hangs up as before: output still flows.
        let flags = rustix::pty::OpenptFlags::RDWR
            | rustix::pty::OpenptFlags::NOCTTY
            | rustix::pty::OpenptFlags::CLOEXEC;
        let slave = rustix::pty::ioctl_tiocgptpeer(&master, flags).ok();
        Pty {
            index,
            master,
            _slave: slave,
            client: None,
            log: None,
            peer: None,
        }
    }

    /// Reads what the container wrote and passes it on; false when the pty is gone.
    pub fn pump_output(&mut self) -> bool {
        // A pty's line discipline hands out at most 4096 bytes a read (N_TTY_BUF_SIZE); a
        // bigger buffer would only dirty more of the monitor's stack, for its whole life.
        let mut buffer = [0u8; 4096];
        match self.master.read(&mut buffer) {
            Ok(0) => false,
            Ok(n) => {
                let data = &buffer[..n];
                if let Some(log) = &mut self.log {
                    log.append(data);
                }
                if let Some(client) = &mut self.client {
                    // Non-blocking: a client that cannot keep up loses output, init never waits.
                    match client.write(data) {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(_) => self.client = None,
                    }
                }
                if let Some(peer) = &mut self.peer {
                    // Non-blocking too; a peer that is gone is noticed (and dropped) on its
                    // read side, where epoll reports the hang-up.
                    let _ = peer.file.write(data);
                }
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                true
            }
            // EIO: nobody has the slave open (only without the monitor's own); keep the pty.
            Err(_) => true,
        }
    }

    /// Reads what the client typed and passes it to the container; false when it left.
    pub fn pump_input(&mut self) -> bool {
        let Some(client) = &mut self.client else {
            return false;
        };
        pass_to(&mut self.master, client)
    }

    /// Reads what was typed on the peer and passes it to the container; false when the peer
    /// is gone (hung up, or its other side closed).
    pub fn pump_peer(&mut self) -> bool {
        let Some(peer) = &mut self.peer else {
            return false;
        };
        pass_to(&mut self.master, &mut peer.file)
    }
}

/// The console's peer as one start's event loop holds it: a duplicate of the monitor's
/// [`ConsolePeer`] (so a reboot gets it again), and its path for messages.
#[derive(Debug)]
pub(crate) struct Peer {
    pub file: File,
    pub path: PathBuf,
}

/// `lxc.console.path = DEVICE`: the host terminal the console is relayed to, opened once per
/// monitor and kept over reboots. In raw mode while the monitor holds it (so what is typed
/// there reaches the container's line discipline unchanged), restored when it lets go.
#[derive(Debug)]
pub(crate) struct ConsolePeer {
    path: PathBuf,
    file: File,
    saved: Option<rustix::termios::Termios>,
}

/// Why `lxc.console.path` cannot be the console's peer.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("not a terminal (the console is relayed to a host tty or pty only, as LXC does)")]
    NotATerminal,
}

impl ConsolePeer {
    /// What the start's validation checks of `path`, without opening it (opening a tty has
    /// side effects): it exists and is a terminal device, by its device number.
    pub fn check(path: &Path) -> Result<(), PeerError> {
        let meta = std::fs::metadata(path)?;
        if !meta.file_type().is_char_device() || !is_tty_device(meta.rdev()) {
            return Err(PeerError::NotATerminal);
        }
        Ok(())
    }

    /// Opens the device: non-blocking (the monitor never waits on it) and never as the
    /// monitor's controlling terminal.
    pub fn open(path: &Path) -> Result<ConsolePeer, PeerError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        if !rustix::termios::isatty(&file) {
            return Err(PeerError::NotATerminal);
        }
        Ok(ConsolePeer {
            path: path.to_path_buf(),
            file,
            saved: None,
        })
    }

    /// In the monitor: raw mode, as LXC puts its peer in (its settings come back on drop).
    pub fn make_raw(&mut self) {
        use rustix::termios::{tcgetattr, tcsetattr, OptionalActions};
        let Ok(saved) = tcgetattr(&self.file) else {
            return;
        };
        let mut raw = saved.clone();
        raw.make_raw();
        if tcsetattr(&self.file, OptionalActions::Now, &raw).is_ok() {
            self.saved = Some(saved);
        }
    }

    /// A handle for one start's event loop; the console gets the peer's window size.
    pub fn attach_to(&self, console: &mut Pty) {
        if let Ok(size) = rustix::termios::tcgetwinsize(&self.file) {
            let _ = rustix::termios::tcsetwinsize(&console.master, size);
        }
        console.peer = self.file.try_clone().ok().map(|file| Peer {
            file,
            path: self.path.clone(),
        });
    }
}

impl Drop for ConsolePeer {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                &self.file,
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

/// A tty by its device number: a pty slave (Unix98 majors 136-143, which sysfs does not
/// list), or a device of sysfs's tty class (VTs, serial ports, /dev/console, /dev/tty).
fn is_tty_device(rdev: u64) -> bool {
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    if (136..=143).contains(&major) {
        return true;
    }
    std::fs::read_link(format!("/sys/dev/char/{major}:{minor}/subsystem"))
        .is_ok_and(|class| class.file_name().is_some_and(|name| name == "tty"))
}

/// `lxc.console.logfile`, capped at `lxc.console.size` (then rotated to `.1` or restarted).
#[derive(Debug)]
pub(crate) struct ConsoleLog {
    path: PathBuf,
    file: File,
    written: u64,
    limit: Option<u64>,
    rotate: bool,
    /// Records a write that fails, for `rlxc info` (the console goes on without its log).
    recorder: Option<Recorder>,
}

impl ConsoleLog {
    /// Opens the log and checks it has room: on a full filesystem it would stay empty.
    pub fn open(path: PathBuf, limit: Option<u64>, rotate: bool) -> std::io::Result<ConsoleLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        check_room(&file)?;
        let written = file.metadata()?.len();
        Ok(ConsoleLog {
            path,
            file,
            written,
            limit,
            rotate,
            recorder: None,
        })
    }

    fn append(&mut self, data: &[u8]) {
        if let Some(limit) = self.limit {
            if self.written + data.len() as u64 > limit {
                self.start_over();
            }
        }
        let written = self.file.write_all(data);
        if written.is_ok() {
            self.written += data.len() as u64;
        }
        if let Some(recorder) = &mut self.recorder {
            let was_failing = recorder.failing();
            recorder.wrote(&written);
            if let (Err(e), false) = (&written, was_failing) {
                crate::log_warn!(
                    "lxc.console.logfile = {}: not written from now on: {e}",
                    self.path.display()
                );
            }
        }
    }

    /// Keeps the log within its limit: the old content moves to `FILE.1` or is dropped.
    fn start_over(&mut self) {
        if self.rotate {
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".1");
            let _ = std::fs::rename(&self.path, rotated);
        }
        if let Ok(file) = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)
        {
            self.file = file;
            self.written = 0;
        }
    }
}

/// What `source` has (typed by a console client or the peer device) goes to the container's
/// console; false when `source` is gone.
fn pass_to(master: &mut File, source: &mut impl Read) -> bool {
    let mut buffer = [0u8; 4096];
    match source.read(&mut buffer) {
        Ok(0) => false,
        Ok(n) => {
            let _ = master.write(&buffer[..n]);
            true
        }
        Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => true,
        Err(_) => false,
    }
}

/// `lxc.console.path = DEVICE`: the peer the console is relayed to, opened for a start.
pub(super) fn open_console_peer(spec: &ContainerSpec) -> Result<Option<ConsolePeer>, LaunchError> {
    let Some(path) = spec.console.path.as_deref().filter(|p| *p != "none") else {
        return Ok(None);
    };
    ConsolePeer::open(Path::new(path))
        .map(Some)
        .map_err(|reason| LaunchError::ConsolePath {
            path: path.to_string(),
            reason,
        })
}

pub(super) fn open_console_log(
    spec: &ContainerSpec,
    paths: &ContainerPaths,
) -> Result<Option<ConsoleLog>, StartError> {
    let Some(path) = &spec.console.logfile else {
        return Ok(None);
    };
    let limit = spec.console.size.map(|size| match size {
        rlxc_config::spec::ConsoleSize::Auto => 128 * 1024,
        rlxc_config::spec::ConsoleSize::Bytes(bytes) => bytes.0.max(4096),
    });
    let rotate = spec.console.rotate.unwrap_or(false);
    ConsoleLog::open(PathBuf::from(path), limit, rotate)
        .map(|mut log| {
            log.recorder = Some(Recorder::new(paths, LogKind::Console, Path::new(path)));
            Some(log)
        })
        .map_err(|cause| StartError::ConsoleLog {
            path: path.clone(),
            cause,
        })
}

pub(super) fn pty_list(
    masters: PtyMasters,
    log: Option<ConsoleLog>,
    peer: Option<&ConsolePeer>,
) -> Vec<Pty> {
    let mut ptys = Vec::new();
    if let Some(console) = masters.console {
        let mut pty = Pty::new(0, console);
        pty.log = log;
        if let Some(peer) = peer {
            peer.attach_to(&mut pty);
        }
        ptys.push(pty);
    }
    for (i, tty) in masters.ttys.into_iter().enumerate() {
        ptys.push(Pty::new(i as u32 + 1, tty));
    }
    for pty in &ptys {
        let _ = rustix::io::ioctl_fionbio(&pty.master, true);
    }
    ptys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_tty_is_the_first_tty_no_client_holds_and_the_console_without_ttys() {
        let ptys = [(0, false), (1, true), (2, false), (3, false)];
        assert_eq!(free_tty(ptys.into_iter()), 2);
        assert_eq!(free_tty([(0, false), (1, false)].into_iter()), 1);
        assert_eq!(free_tty([(0, true), (1, true), (2, true)].into_iter()), 1);
        assert_eq!(free_tty([(0, false)].into_iter()), 0);
        assert_eq!(free_tty([].into_iter()), 0);
    }

    #[test]
    fn only_a_terminal_device_can_be_the_peer() {
        // /dev/tty (5:0) is in sysfs's tty class; /dev/null (1:3) is a char device, no tty.
        assert!(ConsolePeer::check(Path::new("/dev/tty")).is_ok());
        assert!(matches!(
            ConsolePeer::check(Path::new("/dev/null")),
            Err(PeerError::NotATerminal)
        ));
        assert!(matches!(
            ConsolePeer::check(Path::new("/proc/self/status")),
            Err(PeerError::NotATerminal)
        ));
        assert!(matches!(
            ConsolePeer::check(Path::new("/dev/rlxc-no-such-tty")),
            Err(PeerError::Io(e)) if e.kind() == ErrorKind::NotFound
        ));
    }
}
