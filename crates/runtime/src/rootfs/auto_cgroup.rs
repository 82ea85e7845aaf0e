//! `lxc.mount.auto = cgroup[:mixed|:ro|:rw]`, `cgroup-full[...]` and `cgroup2[:ro]`: the
//! cgroup filesystems inside the container's cgroup namespace, whose root is the container's
//! own cgroup, so a mount shows that subtree and nothing of the host's.
//!
//! Every word but `:ro` mounts them writable, as LXC does in a cgroup namespace: the
//! container (systemd) makes its own cgroups and moves its processes between them. The
//! namespace's root is then the container's *inner* cgroup, one below the cgroup that holds
//! the host's limits (see `monitor::cgroups`), so nothing writable reaches a limit: LXC's
//! `mixed` (the container's own cgroup writable, its parents read-only) without its hole.
//! Read-only is a flag of each new mount (`MOUNT_ATTR_RDONLY`), never the filesystem's `ro`:
//! a v1 hierarchy's superblock is the host's, and mounting it read-only would try to flip
//! that.

use std::io;
use std::path::Path;

use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::mount::{self as rmount, FsOpenFlags, MountAttrFlags, MountFlags};

use rlxc_cgroup::CgroupLayout;
use rlxc_config::values::{CgroupAuto, CgroupMode, CreateKind};

use super::fdmount;
use super::resolve::RootDir;
use super::RootfsError;

const NO_SUID_DEV_EXEC: MountFlags = MountFlags::NOSUID
    .union(MountFlags::NODEV)
    .union(MountFlags::NOEXEC);

const CGROUP_ROOT: &str = "sys/fs/cgroup";

fn failed(what: &'static str) -> impl Fn(io::Error) -> RootfsError {
    move |cause| RootfsError::MountAuto { what, cause }
}

pub(crate) fn mount_cgroups(
    root: &RootDir,
    request: CgroupAuto,
    known: Option<&CgroupLayout>,
) -> Result<(), RootfsError> {
    let detected;
    let layout = match known {
        Some(layout) => layout,
        None => {
            detected = CgroupLayout::detect().map_err(|e| {
                failed("reading the cgroup layout")(io::Error::other(e.to_string()))
            })?;
            &detected
        }
    };
    let (v1_wanted, writable) = match request {
        CgroupAuto::V1 { mode, .. } => (true, mode != CgroupMode::Ro),
        CgroupAuto::V2 { ro, .. } => (false, !ro),
    };
    let pure_v2 = layout.v1.is_empty();
    if !v1_wanted || pure_v2 {
        // cgroup2 alone, at /sys/fs/cgroup itself.
        let Some(_) = &layout.v2 else {
            return Ok(());
        };
        return mount_one(root, CGROUP_ROOT, "cgroup2", &[], writable);
    }
    let target = root
        .resolve(CGROUP_ROOT, Some(CreateKind::Dir))
        .map_err(|e| failed("creating /sys/fs/cgroup")(e.into()))?;
    fdmount::mount_new(
        "cgroup_root",
        &target,
        "tmpfs",
        NO_SUID_DEV_EXEC,
        "mode=755",
    )
    .map_err(failed("mounting a tmpfs on /sys/fs/cgroup"))?;
    for hierarchy in &layout.v1 {
        let named = hierarchy.name();
        if named.is_some() && named != Some("systemd") {
            continue;
        }
        let controllers = hierarchy.controllers.iter().map(String::as_str);
        // A named hierarchy (`name=systemd`) has no controller: `none` says so.
        let options: Vec<&str> = match named {
            Some(_) => std::iter::once("none")
                .chain(controllers.filter(|c| c.starts_with("name=")))
                .collect(),
            None => controllers.collect(),
        };
        let dir = format!(
            "{CGROUP_ROOT}/{}",
            basename(&hierarchy.mount_point, "cgroup")
        );
        mount_one(root, &dir, "cgroup", &options, writable)?;
    }
    if let Some(v2) = &layout.v2 {
        let dir = format!("{CGROUP_ROOT}/{}", basename(&v2.mount_point, "unified"));
        mount_one(root, &dir, "cgroup2", &[], writable)?;
    }
    // The tmpfs itself read-only too: no new directories beside the hierarchies.
    let tmpfs = root
        .resolve(CGROUP_ROOT, None)
        .map_err(|e| failed("reopening /sys/fs/cgroup")(e.into()))?;
    fdmount::remount_bind(&tmpfs, MountFlags::RDONLY | NO_SUID_DEV_EXEC)
        .map_err(failed("making /sys/fs/cgroup read-only"))
}

/// Mounts a cgroup filesystem (`options`: v1's controllers, or `none` and `name=NAME`) on
/// `dir`, read-only unless `writable`: a flag of the new mount, made with the new mount API
/// in one go; kernels before 5.2 get mount(2) and a read-only bind remount.
fn mount_one(
    root: &RootDir,
    dir: &str,
    fstype: &str,
    options: &[&str],
    writable: bool,
) -> Result<(), RootfsError> {
    let target = root
        .resolve(dir, Some(CreateKind::Dir))
        .map_err(|e| failed("creating a cgroup mount point")(e.into()))?;
    match mount_with_new_api(&target, fstype, options, writable) {
        Err(Errno::NOSYS) => {}
        done => return done.map_err(|e| failed("mounting a cgroup filesystem")(e.into())),
    }
    fdmount::mount_new(
        fstype,
        &target,
        fstype,
        NO_SUID_DEV_EXEC,
        &options.join(","),
    )
    .map_err(failed("mounting a cgroup filesystem"))?;
    if writable {
        return Ok(());
    }
    let mounted = root
        .resolve(dir, None)
        .map_err(|e| failed("reopening a cgroup mount")(e.into()))?;
    fdmount::remount_bind(&mounted, MountFlags::RDONLY | NO_SUID_DEV_EXEC)
        .map_err(failed("making a cgroup mount read-only"))
}

fn mount_with_new_api(
    target: &OwnedFd,
    fstype: &str,
    options: &[&str],
    writable: bool,
) -> Result<(), Errno> {
    let context = rmount::fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)?;
    rmount::fsconfig_set_string(&context, "source", fstype)?;
    for &option in options {
        match option.split_once('=') {
            Some((key, value)) => rmount::fsconfig_set_string(&context, key, value)?,
            None => rmount::fsconfig_set_flag(&context, option)?,
        }
    }
    rmount::fsconfig_create(&context)?;
    let mut attributes = MountAttrFlags::MOUNT_ATTR_NOSUID
        | MountAttrFlags::MOUNT_ATTR_NODEV
        | MountAttrFlags::MOUNT_ATTR_NOEXEC;
    if !writable {
        // A flag of this mount only: the v1 hierarchy's superblock is the host's.
        attributes |= MountAttrFlags::MOUNT_ATTR_RDONLY;
    }
    fdmount::fsmount_onto(&context, attributes, target).map(drop)
}

/// `memory` for `/sys/fs/cgroup/memory`.
fn basename<'a>(path: &'a Path, fallback: &'a str) -> &'a str {
    path.file_name()
        .and_then(|name| name.to_str())
        .unwrap_or(fallback)
}
