//! Step 5: the console and the ttys, allocated from the container's own devpts.

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;
use rustix::pty::{self as rpty, OpenptFlags};

use rlxc_config::values::CreateKind;

use super::fdmount;
use super::resolve::RootDir;
use super::RootfsError;

/// The pty masters of the console and the ttys. The slaves are bind-mounted over
/// `/dev/console` and `/dev/tty1..N`; nobody holds them open yet, so reading a master
/// gives EIO until the container opens its side.
#[derive(Debug, Default)]
pub struct Ptys {
    pub console: Option<OwnedFd>,
    /// `ttys[0]` is `/dev/tty1`.
    pub ttys: Vec<OwnedFd>,
}

pub(crate) fn allocate(
    root: &RootDir,
    devpts: &OwnedFd,
    console: bool,
    ttys: u32,
) -> Result<Ptys, RootfsError> {
    let mut ptys = Ptys::default();
    if console {
        ptys.console = Some(allocate_onto(root, devpts, "console")?);
    }
    for n in 1..=ttys {
        ptys.ttys
            .push(allocate_onto(root, devpts, &format!("tty{n}"))?);
    }
    Ok(ptys)
}

/// One pty pair; the slave is bind-mounted over `/dev/NAME` (an empty file made if missing)
/// and the master returned.
fn allocate_onto(root: &RootDir, devpts: &OwnedFd, name: &str) -> Result<OwnedFd, RootfsError> {
    let failed = |source: io::Error| RootfsError::Pty {
        name: name.to_string(),
        source,
    };
    let (master, slave) = open_pair(devpts).map_err(|e| failed(e.into()))?;
    let target = root
        .resolve(&format!("dev/{name}"), Some(CreateKind::File))
        .map_err(|e| failed(e.into()))?;
    fdmount::bind(&fdmount::fd_path(&slave), &target, false).map_err(failed)?;
    Ok(master)
}

/// Opens `ptmx` of this devpts instance and the matching slave. TIOCGPTPEER (Linux 4.13)
/// gets the slave from the master without any path lookup; before that, the slave is
/// opened by its number (TIOCGPTN) in the same instance.
fn open_pair(devpts: &OwnedFd) -> Result<(OwnedFd, OwnedFd), Errno> {
    let master = rfs::openat(
        devpts,
        "ptmx",
        OFlags::RDWR | OFlags::NOCTTY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rpty::unlockpt(&master)?;
    let slave_flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    let slave = match rpty::ioctl_tiocgptpeer(&master, slave_flags) {
        Ok(slave) => slave,
        Err(Errno::INVAL | Errno::NOTTY) => {
            let name = rpty::ptsname(&master, Vec::new())?;
            let index = name.to_string_lossy();
            let index = index.rsplit('/').next().unwrap_or_default();
            rfs::openat(
                devpts,
                index,
                OFlags::RDWR | OFlags::NOCTTY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?
        }
        Err(e) => return Err(e),
    };
    Ok((master, slave))
}
