//! The child's side: the view mounted as a detached FUSE mount (new mount API), each file
//! cloned from it and moved over the kernel's file. Nothing of it stays visible but the files.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use rustix::fs::CWD;
use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, move_mount,
    open_tree, unmount, FsMountFlags, FsOpenFlags, MountAttrFlags, MoveMountFlags, OpenTreeFlags,
    UnmountFlags,
};

use super::files::FILES;

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

/// Looks each file up once on the detached `view`: done by the monitor while the child sets
/// its rootfs up, so that the child's binds find the names in the dentry cache (the server's
/// answers last an hour: the files never change) rather than each waiting for a round trip
/// to the server. Best effort: where the monitor may not look (a view mounted in the
/// container's user namespace admits only that namespace), the binds look them up.
pub fn look_up_ahead(view: &OwnedFd) {
    for file in FILES {
        let _ = rustix::fs::openat(
            view,
            file.name,
            rustix::fs::OFlags::PATH | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        );
    }
}

/// Binds each file over its target in the container's (already pivoted) root. A target the
/// container does not have (no /sys mounted, say) is left alone. Each clone looks the file
/// up, so the server must be running.
///
/// Kernels before 6.15 clone only from mounts attached in the caller's namespace, so the view
/// is stacked over `/proc` for the moment of cloning (no process of the container runs yet)
/// and detached again, leaving the kernel's /proc with the files bound on it.
pub fn bind_files(view: OwnedFd) -> io::Result<()> {
    let files: Vec<_> = FILES
        .iter()
        .filter(|f| rustix::fs::stat(f.target).is_ok())
        .collect();
    let stage = ["/proc", "/dev"]
        .into_iter()
        .find(|dir| rustix::fs::stat(*dir).is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR))
        .ok_or_else(|| io::Error::other("neither /proc nor /dev is a directory to stage it on"))?;
    move_mount(
        &view,
        "",
        CWD,
        stage,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| io::Error::other(format!("staging the view on {stage}: {e}")))?;
    let clones: io::Result<Vec<_>> = files
        .iter()
        .map(|file| {
            open_tree(
                CWD,
                format!("{stage}/{}", file.name),
                OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
            )
            .map(|tree| (file.target, tree))
            .map_err(|e| io::Error::other(format!("{}: {e}", file.name)))
        })
        .collect();
    // Off the stage in any case, before anything else can fail.
    let unstaged = unmount(stage, UnmountFlags::DETACH)
        .map_err(|e| io::Error::other(format!("unstaging the view from {stage}: {e}")));
    let clones = clones?;
    unstaged?;
    for (target, tree) in clones {
        move_mount(
            &tree,
            "",
            CWD,
            target,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
        )
        .map_err(|e| io::Error::other(format!("{target}: {e}")))?;
    }
    Ok(())
}
