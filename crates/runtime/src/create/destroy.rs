//! `rlxc destroy`: refuse a running container (or kill it with `-f`), run the destroy hooks,
//! then remove `$lxcpath/NAME` with [`remove_tree`](super::remove_tree).

use std::ffi::OsStr;
use std::fs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use rlxc_storage::backend::{btrfs, Backend};
use rustix::fs::{Mode, OFlags};

use rlxc_config::spec::HookPoint;
use rlxc_config::ContainerSpec;

use super::remove_tree::{remove_container_dir, Removal};
use super::DestroyError;
use crate::hooks::{Hook, HookContext};
use crate::leftovers::{settle, Found};
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::stop::{stop, StopOptions};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DestroyOptions {
    /// Kill a running container first; also destroy a container whose config does not load
    /// (its hooks cannot run then).
    pub force: bool,
    /// `-s`: its snapshots go too; without it a container with snapshots is refused.
    pub snapshots: bool,
}

/// What a destroy did, and what it left.
#[derive(Debug, Default)]
pub struct DestroyReport {
    /// Pid of the init that `-f` killed.
    pub killed_init: Option<i32>,
    /// Destroy hooks that ran.
    pub hooks_run: usize,
    /// Mount points found inside the container directory, left alone (unmount and destroy
    /// again, or remove by hand).
    pub mount_points: Vec<PathBuf>,
    /// The rootfs kept because of `lxc.rootfs.managed = 0`, or a rootfs outside the
    /// container directory, which destroy never touches.
    pub rootfs_left: Option<PathBuf>,
    /// Why the config was not used (it did not load and `-f` was given).
    pub config_problem: Option<String>,
    /// True when `$lxcpath/NAME` is gone entirely.
    pub removed: bool,
    /// What a crashed run of it had left, removed first.
    pub cleared: Option<crate::leftovers::Cleared>,
}

/// Destroys the container at `paths`; the caller holds its operation lock.
pub fn destroy(
    paths: &ContainerPaths,
    options: DestroyOptions,
    operation: &OperationLock,
) -> Result<DestroyReport, DestroyError> {
    let dir = paths.dir();
    if fs::symlink_metadata(&dir).is_err() {
        return Err(DestroyError::NotDefined { dir });
    }
    let mut report = DestroyReport::default();
    let snapshots = super::snapshot::list(paths).unwrap_or_default();
    if !snapshots.is_empty() && !options.snapshots {
        return Err(DestroyError::HasSnapshots {
            name: paths.name.clone(),
        });
    }
    let clones = super::dependents::clones(paths);
    if !clones.is_empty() {
        let names: Vec<String> = clones
            .iter()
            .map(|c| c.dir().display().to_string())
            .collect();
        return Err(DestroyError::HasClones {
            name: paths.name.clone(),
            clones: names.join(", "),
        });
    }
    stop_if_running(paths, options, &mut report, operation)?;
    for snapshot in snapshots {
        destroy_snapshot(paths, &snapshot.name)?;
    }
    remove(paths, options, report)
}

/// One snapshot, destroyed as a container of its own (hooks, a btrfs subvolume), under its
/// own operation lock.
fn destroy_snapshot(paths: &ContainerPaths, snapshot: &str) -> Result<(), DestroyError> {
    let wrap = |cause: DestroyError| DestroyError::Snapshot {
        name: paths.name.clone(),
        snapshot: snapshot.to_string(),
        cause: Box::new(cause),
    };
    let snap = super::snapshot::snapshot_paths(paths, snapshot);
    let lock = OperationLock::take(&snap, "rlxc destroy -s", |_| {}).map_err(|cause| {
        wrap(DestroyError::Io {
            step: "taking the operation lock of",
            path: snap.dir(),
            cause: std::io::Error::other(cause.to_string()),
        })
    })?;
    destroy(&snap, DestroyOptions::default(), &lock).map_err(wrap)?;
    Ok(())
}

/// `lxc.ephemeral`: the monitor destroys the container it ran once init is gone, while it
/// still holds the container's lifetime lock (so no verb can start it meanwhile).
pub(crate) fn destroy_stopped(paths: &ContainerPaths) -> Result<DestroyReport, DestroyError> {
    let dir = paths.dir();
    if fs::symlink_metadata(&dir).is_err() {
        return Err(DestroyError::NotDefined { dir });
    }
    remove(paths, DestroyOptions::default(), DestroyReport::default())
}

/// The destroy hooks, then the container's directory.
fn remove(
    paths: &ContainerPaths,
    options: DestroyOptions,
    mut report: DestroyReport,
) -> Result<DestroyReport, DestroyError> {
    let dir = paths.dir();
    let spec = load_config(paths, options, &mut report)?;
    if let Some(spec) = &spec {
        report.hooks_run = run_destroy_hooks(paths, spec)?;
    }
    let backend = spec.as_ref().and_then(backend);
    let rootfs = backend.as_ref().map(|b| b.own_data().to_path_buf());
    let managed = spec.as_ref().and_then(|s| s.rootfs.managed).unwrap_or(true);
    // Only a rootfs directly in the container directory is ever removed (with the rest).
    let rootfs_name = rootfs
        .as_ref()
        .filter(|rootfs| rootfs.parent() == Some(dir.as_path()))
        .and_then(|rootfs| rootfs.file_name().map(OsStr::to_os_string));
    let keep = if managed {
        None
    } else {
        rootfs_name.as_deref()
    };
    if rootfs_name.is_none() {
        // A store further down the container directory (an overlay's upper) goes with it.
        report.rootfs_left = rootfs.filter(|rootfs| !rootfs.starts_with(&dir) && rootfs.exists());
    }
    if let (true, Some(name), Some(Backend::Btrfs(_))) = (managed, &rootfs_name, &backend) {
        remove_subvolume(&dir, name)?;
    }
    super::dependents::forget(paths);
    // `copy -e -t`: the upper's tmpfs, mounted in the container directory, goes first.
    if let Some(Backend::Overlay(overlay)) = &backend {
        let holder = overlay.workdir().parent().map(Path::to_path_buf);
        if let Some(holder) = holder.filter(|h| h.parent() == Some(dir.as_path())) {
            rlxc_storage::backend::overlay::unmount_tmpfs(&holder).map_err(|cause| {
                DestroyError::Io {
                    step: "unmounting the overlay's tmpfs",
                    path: holder.clone(),
                    cause,
                }
            })?;
        }
    }
    let removal: Removal = remove_container_dir(&dir, keep).map_err(|cause| DestroyError::Io {
        step: "removing",
        path: dir.clone(),
        cause,
    })?;
    report.mount_points = removal.mount_points;
    report.removed = removal.removed;
    if removal.kept.is_some() {
        report.rootfs_left = removal.kept;
    }
    Ok(report)
}

/// A running container is refused, or with `-f` killed; what a crashed run left is removed
/// (and said). Nothing of a run is left when this returns `Ok`.
fn stop_if_running(
    paths: &ContainerPaths,
    options: DestroyOptions,
    report: &mut DestroyReport,
    operation: &OperationLock,
) -> Result<(), DestroyError> {
    let leftovers = |cause| DestroyError::Leftovers {
        name: paths.name.clone(),
        cause,
    };
    let state = match settle(paths, operation).map_err(leftovers)? {
        Found::Alive(state) => state,
        Found::Nothing => return Ok(()),
        Found::Cleared(cleared) => {
            report.cleared = Some(cleared);
            return Ok(());
        }
    };
    if !options.force {
        return Err(DestroyError::Running {
            name: paths.name.clone(),
        });
    }
    force_stop(paths, operation)?;
    report.killed_init = Some(state.init.pid);
    match settle(paths, operation).map_err(leftovers)? {
        Found::Alive(_) => Err(DestroyError::Running {
            name: paths.name.clone(),
        }),
        _ => Ok(()),
    }
}

/// `-f`: the stop of `rlxc stop -k` (SIGKILL through a pidfd that pins the recorded init, a
/// thaw if it is frozen, then the wait for the monitor's teardown).
fn force_stop(paths: &ContainerPaths, operation: &OperationLock) -> Result<(), DestroyError> {
    let options = StopOptions {
        halt_signal: None,
        stop_signal: libc::SIGKILL,
        timeout: None,
        kill: true,
        nokill: false,
        nowait: false,
    };
    stop(paths, &options, Some(operation))
        .map(drop)
        .map_err(|cause| DestroyError::Stop {
            name: paths.name.clone(),
            cause,
        })
}

/// The config, or `None` when there is no config file (a directory that a crash left).
fn load_config(
    paths: &ContainerPaths,
    options: DestroyOptions,
    report: &mut DestroyReport,
) -> Result<Option<ContainerSpec>, DestroyError> {
    let path = paths.config();
    if !path.exists() {
        return Ok(None);
    }
    match rlxc_config::load_file(&path, &[]) {
        Ok(loaded) => Ok(Some(loaded.spec)),
        Err(failure) if options.force => {
            report.config_problem = Some(format!(
                "{} does not load, so no destroy hook ran: {failure}",
                path.display()
            ));
            Ok(None)
        }
        Err(failure) => Err(DestroyError::Config { path, failure }),
    }
}

/// `lxc.rootfs.path` as a store (see `rlxc_storage::backend`); its `own_data` (directory,
/// overlay upper, loop image) is what `lxc.rootfs.managed` is about.
fn backend(spec: &ContainerSpec) -> Option<Backend> {
    Backend::parse(spec.rootfs.path.as_deref()?).ok()
}

/// A btrfs rootfs directly in the container directory goes as the subvolume it is, in one
/// ioctl (`BTRFS_IOC_SNAP_DESTROY`), looked up on the open directory without following a
/// link. One that is not a subvolume, or holds subvolumes of its own, is left to the tree
/// removal that follows, which empties and removes it entry by entry.
fn remove_subvolume(dir: &Path, name: &OsStr) -> Result<(), DestroyError> {
    let io = |cause| DestroyError::Io {
        step: "removing the btrfs subvolume",
        path: dir.join(name),
        cause,
    };
    let parent = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io(e.into()))?;
    match btrfs::destroy_subvolume_at(parent.as_fd(), name) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) => Ok(()),
        Err(e) => Err(io(e)),
    }
}

/// Runs each `lxc.hook.destroy` (see `crate::hooks`). The first failing hook stops the
/// destroy before anything is removed, as in LXC.
fn run_destroy_hooks(paths: &ContainerPaths, spec: &ContainerSpec) -> Result<usize, DestroyError> {
    let Some(hooks) = spec.hooks.commands.get(&HookPoint::Destroy) else {
        return Ok(0);
    };
    let context = HookContext::new(&paths.name, &paths.config(), spec);
    crate::hooks::run(hooks, Hook::Lxc(HookPoint::Destroy), &context)
        .map_err(|hook| DestroyError::Hook { hook })?;
    Ok(hooks.len())
}
