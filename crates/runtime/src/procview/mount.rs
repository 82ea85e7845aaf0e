//! The child's side: the view mounted as a detached FUSE mount (new mount API, so no
//! directory is ever needed for it), each file cloned from it and moved over the kernel's
//! file. When the detached mount's fd closes, nothing of it is visible but the files.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rustix::fs::CWD;
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
    open_tree, FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags,
};

use super::files::{Content, FILES};

/// `source` of the mount in `/proc/self/mountinfo`.
pub const SOURCE: &str = "rlxc-procview";

/// Mounts the FUSE connection of `fuse` (opened by the monitor) as a detached, read-only
/// mount. Returns before the server runs: mounting sends no request that must be answered.
pub fn mount_detached(fuse: &OwnedFd) -> io::Result<OwnedFd> {
    let context = fsopen("fuse", FsOpenFlags::FSOPEN_CLOEXEC)?;
    fsconfig_set_string(&context, "source", SOURCE)?;
    fsconfig_set_string(&context, "fd", fuse.as_raw_fd().to_string())?;
    fsconfig_set_string(&context, "rootmode", "40000")?;
    fsconfig_set_string(&context, "user_id", "0")?;
    fsconfig_set_string(&context, "group_id", "0")?;
    // Every user of the container may read the files, with the kernel checking the modes
    // (0444): without allow_other only uid 0 could, and `free` as a user would fail.
    fsconfig_set_flag(&context, "allow_other")?;
    fsconfig_set_flag(&context, "default_permissions")?;
    fsconfig_create(&context)?;
    Ok(fsmount(
        &context,
        FsMountFlags::FSMOUNT_CLOEXEC,
        MountAttrFlags::MOUNT_ATTR_RDONLY
            | MountAttrFlags::MOUNT_ATTR_NOSUID
            | MountAttrFlags::MOUNT_ATTR_NODEV
            | MountAttrFlags::MOUNT_ATTR_NOEXEC,
    )?)
}

/// Binds each file over its target in the container's (already pivoted) root. A target the
/// container does not have (no /sys mounted, say) is left alone. Each clone looks the file
/// up, so the server must be running.
pub fn bind_files(view: &impl AsFd, uptime: bool) -> io::Result<()> {
    for file in FILES {
        if file.content == Content::Uptime && !uptime {
            continue;
        }
        if rustix::fs::stat(file.target).is_err() {
            continue;
        }
        let tree = open_tree(
            view,
            file.name,
            OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
        )
        .map_err(|e| io::Error::other(format!("{}: {e}", file.name)))?;
        move_mount(
            &tree,
            "",
            CWD,
            file.target,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )
        .map_err(|e| io::Error::other(format!("{}: {e}", file.target)))?;
    }
    Ok(())
}
