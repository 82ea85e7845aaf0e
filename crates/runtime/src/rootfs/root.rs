//! The first and last steps: detach from the host's propagation, make the rootfs a mount
//! of its own, and finally pivot into it.

use std::path::Path;

use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{
    self as rmount, MountPropagationFlags, MoveMountFlags, OpenTreeFlags, UnmountFlags,
};
use rustix::process;

use super::fdmount;
use super::flags::rootfs_option_flags;
use super::resolve::RootDir;
use super::RootfsError;

/// Step 1: `MS_REC|MS_SLAVE` on `/`, so no mount made from here on propagates to the host
/// (while host mounts still propagate in, as in LXC).
pub(crate) fn make_mounts_slave() -> Result<(), RootfsError> {
    rmount::mount_change(
        "/",
        MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
    )
    .map_err(|e| RootfsError::MakeSlave { cause: e.into() })
}

/// Step 2a: opens the rootfs directory, while the child still has its host ids: in a user
/// namespace its root may not be allowed to search the directories above (an lxcpath of mode
/// 0700 is common), and from this fd on nothing above is looked up again.
pub(crate) fn open_rootfs(path: &Path) -> Result<OwnedFd, RootfsError> {
    rfs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RootfsError::OpenRootfs {
        path: path.to_path_buf(),
        cause: e.into(),
    })
}

/// Step 2a for a store that is mounted rather than bound (`overlay`, `loop`): its filesystem
/// is made as a detached mount, while the child still has its host ids and privileges (the
/// loop device and the lower directory are the host's), and attached by [`attach_mounted`].
pub(crate) fn mount_store(plan: &super::RootfsPlan) -> Result<OwnedFd, RootfsError> {
    rlxc_storage::backend::mount::mount_detached(&plan.backend, false, None).map_err(|cause| {
        RootfsError::MountBackend {
            value: plan.backend.to_string(),
            cause,
        }
    })
}

/// The start's own mount point of a mounted store (in its run directory): made here, by the
/// container's first process, as the run directory it is in goes at the container's end.
pub(crate) fn make_mount_point(path: &Path) -> Result<(), RootfsError> {
    match rfs::mkdir(path, Mode::from_raw_mode(0o755)) {
        Ok(()) | Err(Errno::EXIST) => Ok(()),
        Err(e) => Err(RootfsError::RootfsMount {
            path: path.to_path_buf(),
            reason: std::io::Error::from(e).to_string(),
        }),
    }
}

/// Step 2b for a mounted store: the detached mount of [`mount_store`] is attached at its
/// mount point (`lxc.rootfs.mount`, or the start's own), with `lxc.rootfs.options`.
pub(crate) fn attach_mounted(
    tree: OwnedFd,
    value: &str,
    at: Option<&MountPoint>,
    options: Option<&str>,
) -> Result<RootDir, RootfsError> {
    let flags = option_flags(options)?;
    let Some(at) = at else {
        return Err(RootfsError::AttachRootfs {
            value: value.to_string(),
            target: std::path::PathBuf::new(),
            cause: std::io::Error::other("no mount point was planned for it"),
        });
    };
    rmount::move_mount(
        &tree,
        "",
        &at.fd,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )
    .map_err(|e| RootfsError::AttachRootfs {
        value: value.to_string(),
        target: at.path.clone(),
        cause: e.into(),
    })?;
    let root = RootDir::probe(tree, &at.path);
    remount_with(&root, flags, options)?;
    Ok(root)
}

fn option_flags(options: Option<&str>) -> Result<rustix::mount::MountFlags, RootfsError> {
    match options {
        Some(options) => {
            rootfs_option_flags(options).map_err(|reason| RootfsError::RootfsOptions {
                options: options.to_string(),
                reason,
            })
        }
        None => Ok(rustix::mount::MountFlags::empty()),
    }
}

fn remount_with(
    root: &RootDir,
    flags: rustix::mount::MountFlags,
    options: Option<&str>,
) -> Result<(), RootfsError> {
    if !flags.is_empty() {
        fdmount::remount_bind(root.fd(), flags).map_err(|source| RootfsError::RootfsOptions {
            options: options.unwrap_or_default().to_string(),
            reason: format!("remounting the rootfs: {source}"),
        })?;
    }
    Ok(())
}

/// `lxc.rootfs.mount`: the host directory the rootfs is attached at instead of onto itself,
/// opened with the rootfs (step 2a) for the same reason.
pub(crate) struct MountPoint {
    fd: OwnedFd,
    path: std::path::PathBuf,
}

pub(crate) fn open_mount_point(path: &Path) -> Result<MountPoint, RootfsError> {
    let fd = rfs::open(
        path,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| RootfsError::RootfsMount {
        path: path.to_path_buf(),
        reason: std::io::Error::from(e).to_string(),
    })?;
    Ok(MountPoint {
        fd,
        path: path.to_path_buf(),
    })
}

/// Step 2b: bind-mounts the rootfs (recursively, keeping its submounts) onto itself, or at
/// `lxc.rootfs.mount`, so it is a mount point pivot_root can use, and returns the new
/// mount's root. `open_tree` + `move_mount` work on the fds alone (Linux 5.2); older kernels
/// get mount(2) on the paths. `lxc.rootfs.options` flags are applied to the bind with a
/// remount right away: `ro` means nothing is written into the rootfs, so later steps that
/// would create a missing `/proc` fail instead.
pub(crate) fn bind_rootfs(
    dir: &OwnedFd,
    path: &Path,
    at: Option<&MountPoint>,
    options: Option<&str>,
) -> Result<RootDir, RootfsError> {
    let flags = option_flags(options)?;
    let (target, target_path) = match at {
        Some(at) => (&at.fd, at.path.as_path()),
        None => (dir, path),
    };
    let failed = |cause: std::io::Error| RootfsError::BindRootfs {
        path: path.to_path_buf(),
        target: target_path.to_path_buf(),
        cause,
    };
    let root = match bind_copy(dir, target) {
        Ok(mount) => RootDir::probe(mount, path),
        Err(Errno::NOSYS) => {
            rmount::mount_bind_recursive(path, target_path).map_err(|e| failed(e.into()))?;
            // Opened after the bind, so the fd is the bind's root, not the directory beneath.
            let mount = rfs::open(
                target_path,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| failed(e.into()))?;
            RootDir::probe(mount, path)
        }
        Err(e) => return Err(failed(e.into())),
    };
    remount_with(&root, flags, options)?;
    Ok(root)
}

/// A recursive copy of the mount tree at `dir`, attached onto `target` (`dir` itself, or
/// `lxc.rootfs.mount`); the returned fd is the new mount's root.
fn bind_copy(dir: &OwnedFd, target: &OwnedFd) -> Result<OwnedFd, Errno> {
    let tree = rmount::open_tree(
        dir,
        "",
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE
            | OpenTreeFlags::AT_EMPTY_PATH,
    )?;
    rmount::move_mount(
        &tree,
        "",
        target,
        "",
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?;
    Ok(tree)
}

/// Step 7: `pivot_root(".", ".")` from inside the rootfs stacks the old root on top of the
/// new one at `/`; detaching it leaves only the container's mounts (youki/runc's trick, no
/// put_old directory needed), which are then made shared among the container's own
/// namespaces (pivot_root refuses a shared mount, hence after it; an entry's own propagation
/// options are set again after this, `entries::reapply_propagation`). Consumes the rootfs
/// fd: nothing that names the host's tree should survive the pivot.
pub(crate) fn pivot_into(root: RootDir) -> Result<(), RootfsError> {
    let step = |step: &'static str| {
        move |e: rustix::io::Errno| RootfsError::PivotRoot {
            step,
            cause: e.into(),
        }
    };
    process::fchdir(root.fd()).map_err(step("fchdir into the rootfs"))?;
    drop(root);
    process::pivot_root(".", ".").map_err(step("pivot_root"))?;
    rmount::unmount(".", UnmountFlags::DETACH).map_err(step("detaching the old root"))?;
    process::chdir("/").map_err(step("chdir /"))?;
    // Every mount of the container becomes shared, each in a peer group of its own that only
    // the container's namespace holds (nothing of the host's is left to propagate to), as
    // LXC and systemd-nspawn leave it. systemd, booted in a container, does not do this
    // itself: with private mounts the credential mounts its children make for a service
    // never reach pid 1 (`/run/credentials/*`), and each sandboxed service's namespace set-up
    // fails to unmount `/proc` in its copy of the tree, costing the boot time.
    rmount::mount_change(
        "/",
        MountPropagationFlags::SHARED | MountPropagationFlags::REC,
    )
    .map_err(step("making the container's mounts shared"))
}
