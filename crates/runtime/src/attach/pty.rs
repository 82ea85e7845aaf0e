//! The attached command's terminal. Only when one of our stdio is a terminal, and then a new
//! pty, never the user's own terminal: a process in the container holding the user's tty could
//! push keystrokes into the user's shell with TIOCSTI after attach returns (LXC's rule too).

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};
use rustix::pty::{self as rpty, OpenptFlags};
use rustix::termios::isatty;

/// `statfs.f_type` of a devpts instance.
const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

/// Which of stdin, stdout and stderr are terminals.
pub(crate) fn terminal_stdio() -> [bool; 3] {
    [
        isatty(std::io::stdin()),
        isatty(std::io::stdout()),
        isatty(std::io::stderr()),
    ]
}

/// A pty pair for the attached command.
pub(crate) struct PtyPair {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    /// True when it comes from the container's own devpts (the container then sees the slave
    /// as its `/dev/pts/N`); false for the host's. Only the tests look (no logging here).
    #[cfg_attr(not(test), allow(dead_code))]
    pub in_container: bool,
}

/// A pty from the container's devpts when init's root has one at `dev/pts/ptmx`, else from
/// the host's. The container's ptmx is opened below its root with RESOLVE_IN_ROOT and must
/// be on a devpts filesystem, so a planted symlink or device node cannot redirect us.
pub(crate) fn open_pair(container_root: Option<&OwnedFd>) -> io::Result<PtyPair> {
    if let Some(master) = container_root.and_then(open_container_ptmx) {
        if let Ok(slave) = slave_of(&master) {
            return Ok(PtyPair {
                master,
                slave,
                in_container: true,
            });
        }
    }
    let master = rpty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    rpty::grantpt(&master)?;
    let slave = slave_of(&master)?;
    Ok(PtyPair {
        master,
        slave,
        in_container: false,
    })
}

fn open_container_ptmx(root: &OwnedFd) -> Option<OwnedFd> {
    // Looked at before it is opened for real: opening some device nodes has side effects.
    let path_only = rfs::openat2(
        root,
        "dev/pts/ptmx",
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    // `f_type`'s integer type differs between architectures, hence the cast.
    #[allow(clippy::unnecessary_cast)]
    let on_devpts = rfs::fstatfs(&path_only)
        .map(|fs| fs.f_type as i64 == DEVPTS_SUPER_MAGIC)
        .unwrap_or(false);
    if !on_devpts {
        return None;
    }
    // Reopening through our own /proc/self/fd opens that very inode, with no second lookup
    // in the container's tree that it could race.
    use std::os::fd::AsRawFd;
    rfs::open(
        format!("/proc/self/fd/{}", path_only.as_raw_fd()),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

/// Unlocks the master and opens its slave without a path lookup (TIOCGPTPEER, Linux 4.13).
fn slave_of(master: &OwnedFd) -> io::Result<OwnedFd> {
    rpty::unlockpt(master)?;
    Ok(rpty::ioctl_tiocgptpeer(
        master,
        OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC,
    )?)
}

/// Gives the pty the window size of the user's terminal.
pub(crate) fn copy_window_size(from: impl AsFd, to: impl AsFd) {
    if let Ok(size) = rustix::termios::tcgetwinsize(from) {
        let _ = rustix::termios::tcsetwinsize(to, size);
    }
}

/// The user's terminal in raw mode (keys go to the command's pty unchanged, Ctrl-C included);
/// put back as it was when dropped, whatever happens.
pub(crate) struct RawMode {
    terminal: OwnedFd,
    saved: Option<rustix::termios::Termios>,
}

impl RawMode {
    /// `terminal` is a duplicate of the user's terminal fd (the mode is the terminal's).
    pub(crate) fn enter(terminal: OwnedFd) -> RawMode {
        use rustix::termios::{tcgetattr, tcsetattr, OptionalActions};
        let Ok(saved) = tcgetattr(&terminal) else {
            return RawMode {
                terminal,
                saved: None,
            };
        };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = tcsetattr(&terminal, OptionalActions::Now, &raw);
        RawMode {
            terminal,
            saved: Some(saved),
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            use rustix::termios::{tcsetattr, OptionalActions};
            let _ = tcsetattr(&self.terminal, OptionalActions::Now, saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_without_devpts_gets_a_host_pty() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("dev/pts")).expect("mkdir");
        // A regular file named ptmx is not a devpts: it must not be used.
        std::fs::write(dir.path().join("dev/pts/ptmx"), "").expect("write");
        let root =
            rfs::open(dir.path(), OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).expect("root");
        let pair = open_pair(Some(&root)).expect("pty");
        assert!(!pair.in_container);
        assert!(isatty(&pair.slave));
    }
}
