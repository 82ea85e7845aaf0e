//! Step 5: the console and the ttys, allocated from the container's own devpts.

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;
use rustix::pty::{self as rpty, OpenptFlags};

use rlxc_config::values::CreateKind;

use super::fdmount;
use super::resolve::RootDir;
use super::RootfsError;

/// The pty masters of the console and the ttys. The slaves are bind-mounted over
/// `/dev/console` and `/dev/tty1..N` (with `lxc.tty.dir`, see [`allocate`]); nobody holds
/// them open yet, so reading a master gives EIO until the container opens its side (the
/// monitor keeps a slave of its own open once it has the masters: `monitor::console::Pty`).
#[derive(Debug, Default)]
pub struct Ptys {
    pub console: Option<OwnedFd>,
    /// `ttys[0]` is `/dev/tty1`.
    pub ttys: Vec<OwnedFd>,
}

/// The console and `ttys` ttys. With `lxc.tty.dir = DIR` they are made as LXC makes them:
/// the slaves on `/dev/DIR/console` and `/dev/DIR/ttyN`, `/dev/ttyN` a symlink to
/// `DIR/ttyN`, and `/dev/console` the same pty bound there too (a symlink would not do for
/// the kernel's idea of a console, so LXC binds it). The order is the devpts numbering init's
/// `container_ttys` announces (`spawn::plan`): the console `pts/0`, then `tty1` onwards.
pub(crate) fn allocate(
    root: &RootDir,
    devpts: &OwnedFd,
    console: bool,
    ttys: u32,
    dir: Option<&str>,
) -> Result<Ptys, RootfsError> {
    let mut ptys = Ptys::default();
    let in_dir = |name: &str| match dir {
        Some(dir) => format!("{dir}/{name}"),
        None => name.to_string(),
    };
    if console {
        let (master, slave) = allocate_onto(root, devpts, &in_dir("console"))?;
        if dir.is_some() {
            bind_slave(root, &slave, "console")?;
        }
        ptys.console = Some(master);
    }
    for n in 1..=ttys {
        let name = format!("tty{n}");
        let (master, _) = allocate_onto(root, devpts, &in_dir(&name))?;
        if dir.is_some() {
            link_to(root, &name, &in_dir(&name))?;
        }
        ptys.ttys.push(master);
    }
    Ok(ptys)
}

/// One pty pair; the slave is bind-mounted over `/dev/NAME` (an empty file made if missing,
/// with its directory) and the pair returned.
fn allocate_onto(
    root: &RootDir,
    devpts: &OwnedFd,
    name: &str,
) -> Result<(OwnedFd, OwnedFd), RootfsError> {
    let (master, slave) = open_pair(devpts).map_err(|e| pty_error(name)(e.into()))?;
    bind_slave(root, &slave, name)?;
    Ok((master, slave))
}

fn bind_slave(root: &RootDir, slave: &OwnedFd, name: &str) -> Result<(), RootfsError> {
    let failed = pty_error(name);
    let target = root
        .resolve(&format!("dev/{name}"), Some(CreateKind::File))
        .map_err(|e| failed(e.into()))?;
    fdmount::bind(&fdmount::fd_path(slave), &target, false).map_err(failed)
}

/// `/dev/NAME` becomes a symlink to `TARGET` (relative to /dev), whatever it was.
fn link_to(root: &RootDir, name: &str, target: &str) -> Result<(), RootfsError> {
    let failed = pty_error(name);
    let dev = root
        .resolve("dev", Some(CreateKind::Dir))
        .map_err(|e| failed(e.into()))?;
    match rfs::unlinkat(&dev, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(e) => return Err(failed(e.into())),
    }
    rfs::symlinkat(target, &dev, name).map_err(|e| failed(e.into()))
}

fn pty_error(name: &str) -> impl Fn(io::Error) -> RootfsError + '_ {
    move |cause| RootfsError::Pty {
        name: name.to_string(),
        cause,
    }
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
