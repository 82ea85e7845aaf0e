//! What a start or an execute checks and takes before anything is made: the plans, what a
//! crashed run left removed, the run directory, the container's lifetime lock, the seccomp
//! filter kept for attach.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

use super::launch::{io, Launch, LaunchError};
use crate::leftovers::Found;
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::rootfs::RootfsPlan;
use crate::spawn::InitPlan;
use crate::state::StateFile;

/// What a start or an execute has checked and taken before anything is made.
pub(crate) struct Prepared {
    pub plan: InitPlan,
    pub rootfs_plan: RootfsPlan,
    /// What a crashed run had left, removed first.
    pub cleared: Option<crate::leftovers::Cleared>,
}

/// What both a start and an execute check and take before anything is made: the plans, the
/// run directory and the container's lifetime lock (`RUN_DIR/lock`, held from here to the
/// container's end: see [`crate::lock`]), with whatever a crashed run left removed.
pub(crate) fn prepare(
    launch: &Launch,
    operation: &OperationLock,
) -> Result<(Prepared, File), LaunchError> {
    let (plan, rootfs_plan) = super::validate::plan(launch)?;
    let cleared = match crate::leftovers::settle(&launch.paths, operation)? {
        Found::Alive(_) => {
            return Err(LaunchError::AlreadyRunning {
                name: launch.paths.name.clone(),
            })
        }
        Found::Cleared(cleared) => Some(cleared),
        Found::Nothing => None,
    };
    let run_dir = launch.paths.run_dir();
    if let Some(root) = run_dir.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(root)
            .map_err(io("creating", root))?;
    }
    let created_run_dir = match fs::DirBuilder::new().mode(0o700).create(&run_dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(io("creating", &run_dir)(e)),
    };
    let lock = match take_lock(&launch.paths) {
        Ok(lock) => lock,
        Err(error) => {
            if created_run_dir {
                let _ = fs::remove_dir_all(&run_dir);
            }
            return Err(error);
        }
    };
    if let Ok(Some(state)) = StateFile::read(&launch.paths.state_file()) {
        if state.monitor.is_alive() {
            return Err(LaunchError::AlreadyRunning {
                name: launch.paths.name.clone(),
            });
        }
    }
    if let Err(error) = keep_seccomp_filter(&launch.paths, &plan) {
        if created_run_dir {
            let _ = fs::remove_dir_all(&run_dir);
        }
        return Err(error);
    }
    Ok((
        Prepared {
            plan,
            rootfs_plan,
            cleared,
        },
        lock,
    ))
}

/// `RUN_DIR/seccomp.bpf`: the filter init gets, for attach (the profile file may change or
/// go while the container runs; the filter in force may not).
fn keep_seccomp_filter(paths: &ContainerPaths, plan: &InitPlan) -> Result<(), LaunchError> {
    let path = paths.seccomp_file();
    match &plan.seccomp {
        Some(program) => OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut file| file.write_all(&program.to_bytes()))
            .map_err(io("writing", &path)),
        None => match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("removing", &path)(e)),
        },
    }
}

/// An exclusive lock on `RUN_DIR/lock`, held by the monitor for the container's whole life.
fn take_lock(paths: &ContainerPaths) -> Result<File, LaunchError> {
    let path = paths.lock_file();
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)
        .map_err(io("opening", &path))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(file),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(LaunchError::AlreadyRunning {
            name: paths.name.clone(),
        }),
        Err(e) => Err(io("locking", &path)(e.into())),
    }
}
