//! The first and last steps: detach from the host's propagation, make the rootfs a mount
//! of its own, and finally pivot into it.

use std::path::Path;

use rustix::mount::{self as rmount, MountPropagationFlags, UnmountFlags};
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
    .map_err(|e| RootfsError::MakeSlave { source: e.into() })
}

/// Step 2: bind-mounts the rootfs onto itself (recursively, keeping its submounts) so it is
/// a mount point pivot_root can use, then opens it. `lxc.rootfs.options` flags are applied
/// to the bind with a remount right away: `ro` means nothing is written into the rootfs, so
/// later steps that would create a missing `/proc` fail instead.
pub(crate) fn bind_rootfs(path: &Path, options: Option<&str>) -> Result<RootDir, RootfsError> {
    let flags = match options {
        Some(options) => {
            rootfs_option_flags(options).map_err(|reason| RootfsError::RootfsOptions {
                options: options.to_string(),
                reason,
            })?
        }
        None => rustix::mount::MountFlags::empty(),
    };
    let failed = |source: std::io::Error| RootfsError::BindRootfs {
        path: path.to_path_buf(),
        source,
    };
    rmount::mount_bind_recursive(path, path).map_err(|e| failed(e.into()))?;
    // Opened after the bind, so the fd is the bind's root, not the directory beneath it.
    let root = RootDir::open(path).map_err(failed)?;
    if !flags.is_empty() {
        fdmount::remount_bind(root.fd(), flags).map_err(|source| RootfsError::RootfsOptions {
            options: options.unwrap_or_default().to_string(),
            reason: format!("remounting the rootfs: {source}"),
        })?;
    }
    Ok(root)
}

/// Step 7: `pivot_root(".", ".")` from inside the rootfs stacks the old root on top of the
/// new one at `/`; detaching it leaves only the container's mounts (youki/runc's trick, no
/// put_old directory needed). Consumes the rootfs fd: nothing that names the host's tree
/// should survive the pivot.
pub(crate) fn pivot_into(root: RootDir) -> Result<(), RootfsError> {
    let step = |step: &'static str| {
        move |e: rustix::io::Errno| RootfsError::PivotRoot {
            step,
            source: e.into(),
        }
    };
    process::fchdir(root.fd()).map_err(step("fchdir into the rootfs"))?;
    drop(root);
    process::pivot_root(".", ".").map_err(step("pivot_root"))?;
    rmount::unmount(".", UnmountFlags::DETACH).map_err(step("detaching the old root"))?;
    process::chdir("/").map_err(step("chdir /"))
}
