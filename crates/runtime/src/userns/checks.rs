//! Before an unprivileged start, what can be told without forking: the rootfs must belong to
//! the container's root as mapped, and sysfs needs a network namespace of its own.
//! A rootfs still owned by host root (as `rlxc create` without `--idmap` makes it) would start,
//! but the container's root could not write its own `/`, and an init failing deep inside for
//! EACCES is a poor message; this check names the owner seen, the one expected and the fix.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::IdMapPlan;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsernsCheckError {
    #[error(
        "the rootfs {path} is owned by uid {uid} gid {gid}, but lxc.idmap maps the container's \
         root to uid {expected_uid} gid {expected_gid}: its root could not use its own files. \
         Shift the rootfs into the map with `rlxc shift-rootfs -n {name}` (or create the \
         container with `rlxc create --idmap ...`)"
    )]
    WrongOwner {
        path: PathBuf,
        name: String,
        uid: u32,
        gid: u32,
        expected_uid: u32,
        expected_gid: u32,
    },
    #[error(
        "lxc.mount.auto mounts sysfs, which a user namespace (lxc.idmap) can do only in a \
         network namespace of its own, and this container shares the host's (lxc.net.0.type = \
         none or lxc.namespace.keep = net): drop sys from lxc.mount.auto or give it a network"
    )]
    SysfsWithHostNetwork,
    #[error("cannot read the owner of the rootfs {path}: {cause}")]
    Stat {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// Checks the owner of the rootfs's top directory (through a symlink to it, as the bind
/// mount of the start goes).
pub fn check_rootfs_owner(
    rootfs: &Path,
    name: &str,
    plan: &IdMapPlan,
) -> Result<(), UsernsCheckError> {
    let meta = std::fs::metadata(rootfs).map_err(|cause| UsernsCheckError::Stat {
        path: rootfs.to_path_buf(),
        cause,
    })?;
    if (meta.uid(), meta.gid()) == (plan.root_uid, plan.root_gid) {
        return Ok(());
    }
    Err(UsernsCheckError::WrongOwner {
        path: rootfs.to_path_buf(),
        name: name.to_string(),
        uid: meta.uid(),
        gid: meta.gid(),
        expected_uid: plan.root_uid,
        expected_gid: plan.root_gid,
    })
}

/// The kernel lets a user namespace mount sysfs only for a network namespace it owns (sysfs
/// shows the network devices of the mounter's): refused here, before anything is made,
/// rather than as EPERM from deep inside the start.
pub fn check_sysfs(
    user_namespace: bool,
    own_network: bool,
    mounts_sysfs: bool,
) -> Result<(), UsernsCheckError> {
    if user_namespace && !own_network && mounts_sysfs {
        return Err(UsernsCheckError::SysfsWithHostNetwork);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysfs_needs_a_network_of_its_own_only_in_a_user_namespace() {
        assert!(check_sysfs(true, false, true).is_err());
        assert!(check_sysfs(true, true, true).is_ok());
        assert!(check_sysfs(true, false, false).is_ok());
        assert!(check_sysfs(false, false, true).is_ok());
    }
}
