//! Step 4: `/dev` (autodev) and the container's own devpts instance.

use std::ffi::OsStr;
use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{self as rmount, FsOpenFlags, MountAttrFlags, MountFlags};

use rlxc_config::values::CreateKind;

use super::fdmount;
use super::resolve::{create_empty_file, RootDir};
use super::RootfsError;

/// The device nodes autodev makes: (name, major, minor), all mode 0666. Never `kmsg`.
pub(crate) const DEV_NODES: [(&str, u32, u32); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

const DEV_SYMLINKS: [(&str, &str); 4] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
];

fn autodev_error(node: &str) -> impl Fn(io::Error) -> RootfsError + '_ {
    move |cause| RootfsError::Autodev {
        node: node.to_string(),
        cause,
    }
}

/// A fresh tmpfs (mode 0755, `size` bytes) on the rootfs's `/dev`, populated with the
/// nodes, symlinks and directories a container expects.
pub(crate) fn mount_autodev(root: &RootDir, size: u64) -> Result<(), RootfsError> {
    let target = root
        .resolve("dev", Some(CreateKind::Dir))
        .map_err(|e| autodev_error("")(e.into()))?;
    let data = format!("size={size},mode=0755");
    fdmount::mount_new(
        "none",
        &target,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::STRICTATIME,
        &data,
    )
    .map_err(autodev_error(""))?;
    let dev = root
        .resolve("dev", None)
        .map_err(|e| autodev_error("")(e.into()))?;
    for (name, major, minor) in DEV_NODES {
        make_node(&dev, name, major, minor).map_err(autodev_error(name))?;
    }
    for (name, points_to) in DEV_SYMLINKS {
        rfs::symlinkat(points_to, &dev, name).map_err(|e| autodev_error(name)(e.into()))?;
    }
    for (name, mode) in [("pts", 0o755), ("shm", 0o1777), ("mqueue", 0o755)] {
        make_dir(&dev, name, mode).map_err(|e| autodev_error(name)(e.into()))?;
    }
    Ok(())
}

/// mknod as root in our own tmpfs; where that is not permitted (no CAP_MKNOD, e.g. in a user
/// namespace) the host's node is bind-mounted onto an empty file instead, as LXC does.
fn make_node(dev: &OwnedFd, name: &str, major: u32, minor: u32) -> io::Result<()> {
    let mode = Mode::from_raw_mode(0o666);
    let device = rfs::makedev(major, minor);
    match rfs::mknodat(dev, name, FileType::CharacterDevice, mode, device) {
        // The umask may have taken bits away.
        Ok(()) => Ok(rfs::chmodat(dev, name, mode, AtFlags::empty())?),
        Err(Errno::PERM | Errno::ACCESS) => {
            create_empty_file(dev, OsStr::new(name))?;
            let target = open_no_follow(dev, name)?;
            fdmount::bind(&format!("/dev/{name}"), &target, false)
        }
        Err(e) => Err(e.into()),
    }
}

fn make_dir(dev: &OwnedFd, name: &str, mode: u32) -> Result<(), Errno> {
    rfs::mkdirat(dev, name, Mode::from_raw_mode(mode))?;
    rfs::chmodat(dev, name, Mode::from_raw_mode(mode), AtFlags::empty())
}

/// A new devpts instance on the rootfs's `/dev/pts` (never the host's): returns its root,
/// from which the ptys are allocated. Made with the new mount API (fsopen/fsmount/move_mount)
/// so the returned fd *is* the new mount; kernels before 5.2 get mount(2).
pub(crate) fn mount_devpts(root: &RootDir, max: u32) -> Result<OwnedFd, RootfsError> {
    let failed = |cause: io::Error| RootfsError::Devpts { cause };
    let target = root
        .resolve("dev/pts", Some(CreateKind::Dir))
        .map_err(|e| failed(e.into()))?;
    match devpts_with_new_api(&target, max) {
        Ok(mount) => return Ok(mount),
        Err(Errno::NOSYS) => {}
        Err(e) => return Err(failed(e.into())),
    }
    let data = format!("newinstance,ptmxmode=0666,mode=0620,gid=5,max={max}");
    let flags = MountFlags::NOSUID | MountFlags::NOEXEC;
    fdmount::mount_new("devpts", &target, "devpts", flags, &data).map_err(failed)?;
    let mount = root
        .resolve("dev/pts", None)
        .map_err(|e| failed(e.into()))?;
    // Re-resolved through the rootfs: make sure it is a devpts before trusting its ptmx.
    const DEVPTS_SUPER_MAGIC: u64 = 0x1cd1;
    let statfs = rfs::fstatfs(&mount).map_err(|e| failed(e.into()))?;
    if statfs.f_type as u64 != DEVPTS_SUPER_MAGIC {
        return Err(failed(io::Error::other(
            "/dev/pts is not a devpts after mounting",
        )));
    }
    Ok(mount)
}

fn devpts_with_new_api(target: &OwnedFd, max: u32) -> Result<OwnedFd, Errno> {
    let context = rmount::fsopen("devpts", FsOpenFlags::FSOPEN_CLOEXEC)?;
    // A fresh fs context is always a new devpts instance; newinstance is kept for clarity.
    rmount::fsconfig_set_flag(&context, "newinstance")?;
    rmount::fsconfig_set_string(&context, "ptmxmode", "0666")?;
    rmount::fsconfig_set_string(&context, "mode", "0620")?;
    rmount::fsconfig_set_string(&context, "gid", "5")?;
    rmount::fsconfig_set_string(&context, "max", max.to_string())?;
    rmount::fsconfig_create(&context)?;
    let attributes = MountAttrFlags::MOUNT_ATTR_NOSUID | MountAttrFlags::MOUNT_ATTR_NOEXEC;
    fdmount::fsmount_onto(&context, attributes, target)
}

/// `/dev/ptmx` must open the container's instance: bind `/dev/pts/ptmx` over it (onto an
/// empty file when missing), or fall back to a `pts/ptmx` symlink. An existing symlink (a
/// rootfs without autodev usually has one) is left alone.
pub(crate) fn bind_ptmx(root: &RootDir, devpts: &OwnedFd) -> Result<(), RootfsError> {
    let failed = autodev_error("ptmx");
    let dev = root
        .resolve("dev", Some(CreateKind::Dir))
        .map_err(|e| failed(e.into()))?;
    match rfs::statat(&dev, "ptmx", AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => return Ok(()),
        Ok(_) => {}
        Err(Errno::NOENT) => {
            create_empty_file(&dev, OsStr::new("ptmx")).map_err(|e| failed(e.into()))?
        }
        Err(e) => return Err(failed(e.into())),
    }
    let source = open_no_follow(devpts, "ptmx").map_err(&failed)?;
    let target = open_no_follow(&dev, "ptmx").map_err(&failed)?;
    if fdmount::bind(&fdmount::fd_path(&source), &target, false).is_ok() {
        return Ok(());
    }
    rfs::unlinkat(&dev, "ptmx", AtFlags::empty()).map_err(|e| failed(e.into()))?;
    rfs::symlinkat("pts/ptmx", &dev, "ptmx").map_err(|e| failed(e.into()))
}

fn open_no_follow(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
    Ok(rfs::openat(
        dir,
        name,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}
