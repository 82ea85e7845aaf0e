//! Before an unprivileged start: the rootfs must belong to the container's root as mapped.
//! A rootfs still owned by host root (as `rlxc create` without `--idmap` makes it) would start,
//! but the container's root could not write its own `/`, and an init failing deep inside for
//! EACCES is a poor message; this check names the owner seen, the one expected and the fix.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::IdMapPlan;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootfsOwnerError {
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
    #[error("cannot read the owner of the rootfs {path}: {source}")]
    Stat {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Checks the owner of the rootfs's top directory (through a symlink to it, as the bind
/// mount of the start goes).
pub fn check_rootfs_owner(
    rootfs: &Path,
    name: &str,
    plan: &IdMapPlan,
) -> Result<(), RootfsOwnerError> {
    let meta = std::fs::metadata(rootfs).map_err(|source| RootfsOwnerError::Stat {
        path: rootfs.to_path_buf(),
        source,
    })?;
    if (meta.uid(), meta.gid()) == (plan.root_uid, plan.root_gid) {
        return Ok(());
    }
    Err(RootfsOwnerError::WrongOwner {
        path: rootfs.to_path_buf(),
        name: name.to_string(),
        uid: meta.uid(),
        gid: meta.gid(),
        expected_uid: plan.root_uid,
        expected_gid: plan.root_gid,
    })
}
