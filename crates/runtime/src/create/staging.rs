//! Atomic creation: a container is built in `$lxcpath/.NAME.create-XXXXXX` and renamed to
//! `$lxcpath/NAME` only when it is complete. Until then a drop guard owns the temporary
//! directory, so an error, a panic or a SIGINT/SIGTERM/SIGHUP leaves nothing behind.

use std::fs::{self, DirBuilder, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{renameat_with, RenameFlags, CWD};
use tempfile::TempDir;

use super::remove_tree::remove_container_dir;
use super::sys::{self, InterruptCatcher};
use super::CreateError;
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;

/// Mode of the lxcpath when rlxc makes it.
const LXCPATH_MODE: u32 = 0o755;
/// Mode of `$lxcpath/NAME`, as LXC makes it: the rootfs below may hold setuid binaries and
/// secrets, so other users do not get to look in.
const CONTAINER_DIR_MODE: u32 = 0o770;

/// The directory of a container's snapshots (LXC's `$lxcpath/NAME/snaps`).
pub const SNAPS: &str = "snaps";

/// The prefix of temporary directories, which `ls` must skip.
pub fn staging_prefix(name: &str) -> String {
    format!(".{name}.create-")
}

/// True for a directory name that is a create in progress (or one that a crash left).
pub fn is_staging_name(dir_name: &str) -> bool {
    dir_name.starts_with('.') && dir_name.contains(".create-")
}

/// The container name a staging directory is for (`.NAME.create-XXXXXX`).
fn staged_name(dir_name: &str) -> Option<&str> {
    let (name, _) = dir_name.strip_prefix('.')?.rsplit_once(".create-")?;
    (!name.is_empty()).then_some(name)
}

/// Removes the staging directories of `lxcpath` that a create or copy killed by SIGKILL (or
/// a crash) left: those whose container's operation lock nobody holds, as every create and
/// copy holds it for as long as its staging directory exists. `own` is the lock the caller
/// holds itself (its name's leftovers are its to remove). Returns what was removed; what
/// cannot be removed now is left for the next try.
pub fn clear_abandoned(lxcpath: &Path, own: Option<&OperationLock>) -> Vec<PathBuf> {
    let lxcpath = fs::canonicalize(lxcpath).unwrap_or_else(|_| lxcpath.to_path_buf());
    let Ok(entries) = fs::read_dir(&lxcpath) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(staged_name) else {
            continue;
        };
        let paths = ContainerPaths::new(&lxcpath, name);
        let held_by_us = own.is_some_and(|lock| lock.is_for(&paths));
        let lock = if held_by_us {
            None
        } else {
            match OperationLock::try_take(&paths, "removing an abandoned create") {
                Ok(Ok(lock)) => Some(lock),
                // Being made right now, or the lock cannot be had: not ours to touch.
                _ => continue,
            }
        };
        let dir = entry.path();
        if remove_container_dir(&dir, None).is_ok_and(|removal| removal.removed) {
            removed.push(dir);
        }
        drop(lock);
    }
    removed
}

/// A container being built. Dropping it without [`Staging::commit`] removes everything.
pub(crate) struct Staging {
    // Field order matters: the directory is removed before the signal handlers go back.
    dir: Option<TempDir>,
    target: PathBuf,
    _catcher: InterruptCatcher,
}

impl Staging {
    /// Makes the lxcpath if needed, refuses an existing container, and starts catching
    /// interrupting signals.
    pub(crate) fn begin(
        paths: &ContainerPaths,
        operation: &OperationLock,
    ) -> Result<Staging, CreateError> {
        DirBuilder::new()
            .recursive(true)
            .mode(LXCPATH_MODE)
            .create(&paths.lxcpath)
            .map_err(|cause| CreateError::Lxcpath {
                path: paths.lxcpath.clone(),
                cause,
            })?;
        // A killed create or copy's half-made directory goes before this one's is made.
        clear_abandoned(&paths.lxcpath, Some(operation));
        let target = paths.dir();
        if fs::symlink_metadata(&target).is_ok() {
            return Err(CreateError::AlreadyExists { dir: target });
        }
        Self::staged(paths, target)
    }

    /// A new version of the existing container `paths` (a snapshot's restore), swapped in by
    /// [`Staging::commit_replacing`].
    pub(crate) fn begin_replacing(
        paths: &ContainerPaths,
        operation: &OperationLock,
    ) -> Result<Staging, CreateError> {
        clear_abandoned(&paths.lxcpath, Some(operation));
        Self::staged(paths, paths.dir())
    }

    fn staged(paths: &ContainerPaths, target: PathBuf) -> Result<Staging, CreateError> {
        let catcher = InterruptCatcher::install().map_err(CreateError::Signals)?;
        let dir = tempfile::Builder::new()
            .prefix(&staging_prefix(&paths.name))
            .tempdir_in(&paths.lxcpath)
            .map_err(|cause| CreateError::Staging {
                lxcpath: paths.lxcpath.clone(),
                cause,
            })?;
        Ok(Staging {
            dir: Some(dir),
            target,
            _catcher: catcher,
        })
    }

    /// The temporary directory that becomes `$lxcpath/NAME`.
    pub(crate) fn path(&self) -> &Path {
        match &self.dir {
            Some(dir) => dir.path(),
            // `dir` is only taken by `commit`, which consumes self.
            None => Path::new(""),
        }
    }

    /// An error if a signal asked the create to stop; called between steps and by readers.
    pub(crate) fn check_interrupted() -> Result<(), CreateError> {
        match sys::interrupted_by() {
            Some(signal) => Err(CreateError::Interrupted {
                signal: sys::signal_name(signal),
            }),
            None => Ok(()),
        }
    }

    /// Moves the finished container into place. `RENAME_NOREPLACE`: a concurrent create of
    /// the same name that finished first wins, and this one fails instead of replacing it.
    pub(crate) fn commit(mut self) -> Result<PathBuf, CreateError> {
        Self::check_interrupted()?;
        let staged = self.path().to_path_buf();
        fs::set_permissions(&staged, Permissions::from_mode(CONTAINER_DIR_MODE))
            .map_err(CreateError::io("setting the mode of", &staged))?;
        match renameat_with(CWD, &staged, CWD, &self.target, RenameFlags::NOREPLACE) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) => {
                return Err(CreateError::AlreadyExists {
                    dir: self.target.clone(),
                })
            }
            Err(errno) => {
                return Err(CreateError::Io {
                    step: "moving the new container into place at",
                    path: self.target.clone(),
                    cause: io::Error::from(errno),
                })
            }
        }
        if let Some(dir) = self.dir.take() {
            // Renamed away: there is nothing left at the temporary path to remove.
            let _ = dir.keep();
        }
        Ok(self.target.clone())
    }

    /// Swaps the finished container with the existing one in one `RENAME_EXCHANGE`, after
    /// moving the old one's `snaps` across; the old version, now at the temporary path, is
    /// removed. Until the exchange the old container is whole (its `snaps` go back if it fails).
    pub(crate) fn commit_replacing(mut self) -> Result<PathBuf, CreateError> {
        Self::check_interrupted()?;
        let staged = self.path().to_path_buf();
        fs::set_permissions(&staged, Permissions::from_mode(CONTAINER_DIR_MODE))
            .map_err(CreateError::io("setting the mode of", &staged))?;
        let (old_snaps, new_snaps) = (self.target.join(SNAPS), staged.join(SNAPS));
        let moved_snaps = match fs::rename(&old_snaps, &new_snaps) {
            Ok(()) => true,
            Err(error) if error.kind() == io::ErrorKind::NotFound => false,
            Err(cause) => {
                return Err(CreateError::Io {
                    step: "moving the snapshots to",
                    path: new_snaps,
                    cause,
                })
            }
        };
        if let Err(errno) = renameat_with(CWD, &staged, CWD, &self.target, RenameFlags::EXCHANGE) {
            if moved_snaps {
                let _ = fs::rename(&new_snaps, &old_snaps);
            }
            return Err(CreateError::Io {
                step: "swapping the new version into place at",
                path: self.target.clone(),
                cause: io::Error::from(errno),
            });
        }
        // The old version is at the temporary path now: removed without following links.
        if let Some(dir) = self.dir.take() {
            let old = dir.keep();
            let _ = remove_container_dir(&old, None);
        }
        Ok(self.target.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_of_a_staging_directory_is_read_back() {
        assert_eq!(staged_name(".web.create-AbC123"), Some("web"));
        assert_eq!(staged_name(".a.create-b.create-XyZ"), Some("a.create-b"));
        assert_eq!(staged_name("web"), None);
        assert_eq!(staged_name("..create-x"), None);
    }
}
