//! Step 3, `lxc.mount.auto`: proc and sysfs inside the rootfs.
//!
//! Read-only parts are made with a bind of the path onto itself plus a read-only remount of
//! that bind: a per-mount flag. Mounting the filesystem itself read-only would instead try to
//! flip the superblock, which sysfs (per network namespace) may share with the host.

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::mount::MountFlags;

use rlxc_cgroup::CgroupLayout;
use rlxc_config::values::{CreateKind, MountAuto, ProcMode, SysMode};

use super::fdmount;
use super::resolve::RootDir;
use super::RootfsError;

const NO_SUID_DEV_EXEC: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

pub(crate) fn mount_auto(
    root: &RootDir,
    auto: &MountAuto,
    layout: Option<&CgroupLayout>,
) -> Result<(), RootfsError> {
    // (shmounts: refused by the plan, before anything is made.)
    if let Some(mode) = auto.proc {
        mount_proc(root, mode)?;
    }
    if let Some(mode) = auto.sys {
        mount_sys(root, mode)?;
    }
    // In the container's cgroup namespace (`:force` changes nothing there: the mount
    // shows the container's own subtree either way).
    if let Some(cgroup) = auto.cgroup {
        super::auto_cgroup::mount_cgroups(root, cgroup, layout)?;
    }
    Ok(())
}

/// `proc:rw`, or `proc:mixed`: /proc read-write with /proc/sys and /proc/sysrq-trigger
/// read-only — made so after init's sysctls are written (`make_proc_read_only`), not here.
/// A missing /proc is created (a rootfs without one still gets it, as in LXC's
/// lxc-test-procsys).
fn mount_proc(root: &RootDir, _mode: ProcMode) -> Result<(), RootfsError> {
    let failed = |what| move |cause: io::Error| RootfsError::MountAuto { what, cause };
    let target = root
        .resolve("proc", Some(CreateKind::Dir))
        .map_err(|e| failed("creating /proc")(e.into()))?;
    fdmount::mount_new("proc", &target, "proc", NO_SUID_DEV_EXEC, "")
        .map_err(failed("mounting proc on /proc"))?;
    Ok(())
}

/// `sys:rw`, `sys:ro`, or `sys:mixed`: read-only but /sys/devices/virtual/net, which stays
/// writable so the container can tune its own network devices.
fn mount_sys(root: &RootDir, mode: SysMode) -> Result<(), RootfsError> {
    let failed = |what| move |cause: io::Error| RootfsError::MountAuto { what, cause };
    let target = root
        .resolve("sys", Some(CreateKind::Dir))
        .map_err(|e| failed("creating /sys")(e.into()))?;
    fdmount::mount_new("sysfs", &target, "sysfs", NO_SUID_DEV_EXEC, "")
        .map_err(failed("mounting sysfs on /sys"))?;
    if mode == SysMode::Rw {
        return Ok(());
    }
    let sys_root = reopen(root, "sys").map_err(failed("reopening /sys"))?;
    if mode == SysMode::Mixed {
        // A bind of its own is a separate mount, so the read-only remount of /sys below
        // leaves it writable.
        let what = "keeping /sys/devices/virtual/net writable";
        let net = open_beneath(&sys_root, "devices/virtual/net").map_err(failed(what))?;
        let path = fdmount::fd_path(&net);
        fdmount::bind(&path, &net, false).map_err(failed(what))?;
    }
    fdmount::remount_bind(&sys_root, MountFlags::RDONLY | NO_SUID_DEV_EXEC)
        .map_err(failed("making /sys read-only"))
}

/// The root of the mount just made on `name` (the old fd still names what is beneath it).
fn reopen(root: &RootDir, name: &str) -> io::Result<OwnedFd> {
    Ok(root.resolve(name, None)?)
}

/// A path inside a kernel filesystem we just mounted ourselves, so trusted; `NOFOLLOW`
/// still keeps the last component from being a link.
fn open_beneath(dir: &OwnedFd, path: &str) -> io::Result<OwnedFd> {
    Ok(rfs::openat(
        dir,
        path,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}
