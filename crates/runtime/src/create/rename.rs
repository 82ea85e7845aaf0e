//! `rlxc copy -R` (lxc-copy's rename): the stopped container's directory moved with one
//! `rename(2)`, its config rewritten for the new place, its clone hooks run; undone when a
//! hook fails.

use std::fs;
use std::path::{Path, PathBuf};

use rlxc_storage::copy as storage;

use super::clone_rootfs::rename_inside;
use super::copy::{io_error, read_config, run_clone_hooks, CopyError, Moved};
use super::CreateError;
use crate::leftovers::{self, Found};
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;

/// What `rlxc copy -R` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub dir: PathBuf,
    pub hooks_run: usize,
}

/// `lxc-copy -R`: moves the stopped container `source` to `target` (one `rename(2)` of its
/// directory; its config then names the new places, and the rootfs the new hostname), and
/// runs its clone hooks, as LXC's rename (a clone and a destroy) does; MACs stay. A failing
/// hook moves it back. The caller holds both operation locks.
pub fn rename(
    source_paths: &ContainerPaths,
    target: &ContainerPaths,
    source_lock: &OperationLock,
    target_lock: &OperationLock,
    hook_args: &[String],
) -> Result<Renamed, CopyError> {
    debug_assert!(source_lock.is_for(source_paths) && target_lock.is_for(target));
    crate::name::check(&target.name)?;
    let old_dir = source_paths.dir();
    if fs::symlink_metadata(&old_dir).is_err() {
        return Err(CopyError::NotDefined { dir: old_dir });
    }
    let (text, spec) = read_config(&source_paths.config())?;
    match leftovers::settle(source_paths, source_lock) {
        Ok(Found::Alive(_)) => {
            return Err(CopyError::Running {
                name: source_paths.name.clone(),
            })
        }
        Ok(_) => {}
        Err(cause) => {
            return Err(CopyError::Leftovers {
                name: source_paths.name.clone(),
                cause,
            })
        }
    }
    let new_dir = target.dir();
    if fs::symlink_metadata(&new_dir).is_ok() {
        return Err(CreateError::AlreadyExists { dir: new_dir }.into());
    }
    let rootfs_value = spec
        .rootfs
        .path
        .as_deref()
        .map(|value| storage::relocate(value, &old_dir, &new_dir));
    let rewritten = storage::rewrite(
        &text,
        &storage::Renaming {
            old_name: &source_paths.name,
            new_name: &target.name,
            old_dir: &old_dir,
            new_dir: &new_dir,
            rootfs: rootfs_value.as_deref(),
            keep_name: false,
            keep_macs: true,
        },
    );
    // The new config waits next to the old one; the directory moves; then it replaces the
    // old one. A crash in between leaves a container that still loads (its old config).
    let pending = old_dir.join(".config.rename");
    fs::write(&pending, &rewritten.text).map_err(io_error("writing", &pending))?;
    if let Err(error) = move_dir(&old_dir, &new_dir) {
        let _ = fs::remove_file(&pending);
        return Err(error);
    }
    let new_config = target.config();
    let installed = fs::rename(new_dir.join(".config.rename"), &new_config)
        .map_err(io_error("writing", &new_config));
    let finished = installed.and_then(|()| {
        let new_spec = rlxc_config::load_file(&new_config, &[])
            .map_err(CopyError::WrittenConfig)?
            .spec;
        if let Some(value) = new_spec.rootfs.path.as_deref() {
            rename_inside(value, &source_paths.name, &target.name)?;
        }
        run_clone_hooks(
            &new_spec,
            &Moved {
                name: &target.name,
                source_name: &source_paths.name,
                final_dir: &new_dir,
                dir: &new_dir,
            },
            hook_args,
            "the container was moved back",
        )
    });
    match finished {
        Ok(hooks_run) => Ok(Renamed {
            dir: new_dir,
            hooks_run,
        }),
        Err(error) => {
            // Back as it was: the old config, the old place, the old hostname.
            let _ = fs::write(&new_config, &text);
            let _ = move_dir(&new_dir, &old_dir);
            if let Some(value) = spec.rootfs.path.as_deref() {
                let _ = rename_inside(value, &target.name, &source_paths.name);
            }
            Err(error)
        }
    }
}

/// `rename(2)` without replacing what is there.
fn move_dir(from: &Path, to: &Path) -> Result<(), CopyError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::EXIST) => Err(CreateError::AlreadyExists {
            dir: to.to_path_buf(),
        }
        .into()),
        Err(rustix::io::Errno::XDEV) => Err(CopyError::NotYet {
            what: format!(
                "renaming to another filesystem ({} and {}): copy, then destroy the original",
                from.display(),
                to.display()
            ),
        }),
        Err(errno) => Err(CopyError::Io {
            step: "moving the container to",
            path: to.to_path_buf(),
            cause: errno.into(),
        }),
    }
}
