//! Unprivileged containers: a user namespace whose ids map to a range of host ids
//! (`lxc.idmap`). [`maps`] writes the maps from the host during the start protocol,
//! [`checks`] refuses before anything starts what cannot work (a rootfs not owned by the
//! mapped root, sysfs without a network namespace of its own),
//! [`shift`] chowns a rootfs into the map, and [`subid`] reads the ranges `/etc/subuid` and
//! `/etc/subgid` delegate to a user.

pub mod checks;
pub mod maps;
pub mod shift;
pub mod subid;

pub use checks::{check_rootfs_owner, check_sysfs, UsernsCheckError};
pub use maps::{IdMapPlan, IdMapText};
pub use shift::{shift_tree, ShiftError, ShiftReport};
pub use subid::{parse_subid, subid_range, SubidError, SubidRange};

/// In a new user namespace the child still has its host ids, which the maps do not cover:
/// files it made there would fail (EOVERFLOW). Switching to the namespace's root (the host
/// ids of the map's root) keeps its capabilities there, since its old ids were not that
/// root; setgroups first drops the host's supplementary groups, unmapped inside yet still
/// counted in permission checks. Per thread: the caller is the single-threaded child.
pub(crate) fn become_root() -> std::io::Result<()> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    set_thread_groups(&[])?;
    let (gid, uid) = (Gid::from_raw(0), Uid::from_raw(0));
    set_thread_res_gid(gid, gid, gid)?;
    set_thread_res_uid(uid, uid, uid)?;
    Ok(())
}
