//! Mounting onto file descriptors.
//!
//! A target is always an fd resolved inside the rootfs (see `resolve`), and `mount(2)` is
//! handed `/proc/self/fd/N` for it: the kernel follows that magic link to the very inode the
//! fd holds, so a symlink swapped into the path after resolution cannot redirect the mount.
//! This uses the host's `/proc`, which is still `/proc` until the pivot.
//!
//! After a mount, the fd still names the directory *underneath* the new mount; flags that
//! must be changed on the new mount itself (a read-only bind remount, propagation) are
//! applied to a fresh resolution of the same target, which now lands on the mount's root.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rustix::mount::{self as rmount, MountFlags, MountPropagationFlags};

/// The magic-link path of `fd` in this process. Takes a reference so the fd is sure to stay
/// open while the path is used.
pub(crate) fn fd_path<F: AsFd + ?Sized>(fd: &F) -> String {
    format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd())
}

/// Mounts a new `fstype` filesystem from `source` onto `target`.
pub(crate) fn mount_new(
    source: &str,
    target: impl AsFd,
    fstype: &str,
    flags: MountFlags,
    data: &str,
) -> io::Result<()> {
    let data = if data.is_empty() {
        None
    } else {
        Some(CString::new(data).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?)
    };
    rmount::mount(source, fd_path(&target), fstype, flags, data.as_deref())?;
    Ok(())
}

/// Bind-mounts `source` (a trusted host path or an `fd_path`) onto `target`.
pub(crate) fn bind(source: &str, target: impl AsFd, recursive: bool) -> io::Result<()> {
    if recursive {
        rmount::mount_bind_recursive(source, fd_path(&target))?;
    } else {
        rmount::mount_bind(source, fd_path(&target))?;
    }
    Ok(())
}

/// Sets the per-mount flags of the bind mount whose root is `mount_root` (only that mount,
/// not its submounts).
pub(crate) fn remount_bind(mount_root: impl AsFd, flags: MountFlags) -> io::Result<()> {
    rmount::mount_remount(fd_path(&mount_root), MountFlags::BIND | flags, "")?;
    Ok(())
}

pub(crate) fn change_propagation(
    mount_root: impl AsFd,
    flags: MountPropagationFlags,
) -> io::Result<()> {
    rmount::mount_change(fd_path(&mount_root), flags)?;
    Ok(())
}

/// After the pivot: bind-mounts the place `source` names (not its submounts) onto
/// `target`, as a shared mount in a peer group of its own; returns the new mount's root.
/// `reopen` must resolve the target again (used without `open_tree`, before Linux 5.2).
///
/// A bind of a shared mount (after the pivot every mount of the container is) joins the
/// source's peer group, and whatever is then mounted on the bind, say /proc/sys/net on the
/// read-only /proc/sys, is mounted again by propagation beneath it in the source (/proc):
/// hidden copies that a systemd guest's sandboxed services copy and take apart again (one
/// more pass over the mount table each, when a service's namespace unmounts its /proc).
/// Leaving the source's group (private) and entering a new one (shared) before anything is
/// mounted on it avoids them; the bind's own mounts still propagate among the container's
/// namespaces, as LXC's binds do (each in a group of its own there too).
pub(crate) fn bind_own_group(
    source: impl AsFd,
    target: impl AsFd,
    reopen: impl FnOnce() -> io::Result<OwnedFd>,
) -> io::Result<OwnedFd> {
    let tree = match rmount::open_tree(
        &source,
        "",
        rmount::OpenTreeFlags::OPEN_TREE_CLONE
            | rmount::OpenTreeFlags::OPEN_TREE_CLOEXEC
            | rmount::OpenTreeFlags::AT_EMPTY_PATH,
    ) {
        Ok(tree) => {
            rmount::move_mount(
                &tree,
                "",
                &target,
                "",
                rmount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH
                    | rmount::MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
            )?;
            tree
        }
        Err(rustix::io::Errno::NOSYS) => {
            rmount::mount_bind(fd_path(&source), fd_path(&target))?;
            reopen()?
        }
        Err(e) => return Err(e.into()),
    };
    change_propagation(&tree, MountPropagationFlags::PRIVATE)?;
    change_propagation(&tree, MountPropagationFlags::SHARED)?;
    Ok(tree)
}

/// After the pivot: bind-mounts `target`'s own directory onto itself (`bind_own_group`),
/// then makes that new mount read-only: how `/proc/sys` becomes read-only without touching
/// the (possibly host-shared) superblock. `reopen` must resolve the same place again.
pub(crate) fn bind_read_only(
    target: impl AsFd,
    reopen: impl FnOnce() -> io::Result<OwnedFd>,
    flags: MountFlags,
) -> io::Result<()> {
    let bound = bind_own_group(&target, &target, reopen)?;
    remount_bind(bound, MountFlags::RDONLY | flags)
}

/// The new mount API's last steps: the filesystem of `context` (created already) mounted with
/// `attributes` and moved onto `target`; returns the new mount.
pub(crate) fn fsmount_onto(
    context: &OwnedFd,
    attributes: rmount::MountAttrFlags,
    target: &OwnedFd,
) -> Result<OwnedFd, rustix::io::Errno> {
    let mount = rmount::fsmount(context, rmount::FsMountFlags::FSMOUNT_CLOEXEC, attributes)?;
    rmount::move_mount(
        &mount,
        "",
        target,
        "",
        rmount::MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH
            | rmount::MoveMountFlags::MOVE_MOUNT_T_EMPTY_PATH,
    )?;
    Ok(mount)
}
