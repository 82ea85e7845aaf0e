//! `rlxc copy` (LXC's `lxc-copy`): a full copy of a container, or its rename.
//!
//! A copy is built as a create is, in `$newpath/.NEW.create-XXXXXX` ([`Staging`]), and
//! renamed to `$newpath/NEW` only once complete and accepted by its clone hooks: an error,
//! a failing hook or a SIGINT leaves no `NEW`, and a SIGKILL leaves only the hidden
//! directory, which the next create, copy or `ls` removes ([`super::clear_abandoned`]).
//!
//! The recipe: check the names; settle the source (a crashed run's debris goes, a running
//! source is frozen for the copy and thawed after); copy the rootfs and the files of the
//! container's directory its config names; write the config for the new name; rename the
//! clone inside its rootfs; run `lxc.hook.clone`; move it into place.

use std::fs;
use std::path::{Path, PathBuf};

use rlxc_config::spec::HookPoint;
use rlxc_config::ContainerSpec;
use rlxc_storage::copy as storage;

use super::staging::Staging;
use super::CreateError;
use crate::hooks::{Hook, HookContext};
use crate::leftovers::{self, Found};
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::state::State;

/// The issue that tracks what `rlxc copy` does not do yet.
pub const ISSUE: &str = "#22";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    #[error(transparent)]
    Name(#[from] crate::name::InvalidName),
    #[error("Container is not defined: {dir} does not exist")]
    NotDefined { dir: PathBuf },
    #[error("the config {path} does not load:\n{failure}")]
    Config {
        path: PathBuf,
        failure: rlxc_config::LoadFailure,
    },
    #[error("{path} sets no lxc.rootfs.path: there is no rootfs to copy")]
    NoRootfs { path: PathBuf },
    #[error("not yet: {what} (see issue {ISSUE})")]
    NotYet { what: String },
    #[error("{name} is running: stop it before renaming it")]
    Running { name: String },
    #[error("{name}: {cause}")]
    Leftovers {
        name: String,
        cause: crate::leftovers::LeftoverError,
    },
    #[error("freezing {name} for the copy: {cause}")]
    Freeze {
        name: String,
        cause: crate::resources::ResourceError,
    },
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error("copying the rootfs {rootfs}: {cause}")]
    Tree {
        rootfs: PathBuf,
        cause: storage::TreeError,
    },
    #[error("copying {dir}: {cause}")]
    DirFile {
        dir: PathBuf,
        cause: storage::TreeError,
    },
    #[error("the config written for the copy does not load (a bug in rlxc):\n{0}")]
    WrittenConfig(rlxc_config::LoadFailure),
    /// The hook's own error in the message: it says it all already.
    #[error("{hook}; {undone}")]
    Hook {
        hook: crate::hooks::HookError,
        undone: &'static str,
    },
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
}

fn io_error(step: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CopyError {
    let path = path.to_path_buf();
    move |cause| CopyError::Io { step, path, cause }
}

/// What `rlxc copy` was asked.
#[derive(Debug, Clone)]
pub struct CopyRequest<'a> {
    pub source: &'a ContainerPaths,
    pub target: &'a ContainerPaths,
    /// `-K`: the clone keeps the hostname.
    pub keep_name: bool,
    /// `-M`: the clone keeps the MACs.
    pub keep_macs: bool,
    /// The words after `--`, for the clone hooks.
    pub hook_args: Vec<String>,
}

/// A copy that now exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub dir: PathBuf,
    /// The source ran and was frozen for the copy (and thawed after).
    pub froze: bool,
    /// Mount points below the source rootfs, copied as empty directories.
    pub mount_points: Vec<PathBuf>,
    pub hooks_run: usize,
}

/// The source's config and its rootfs directory.
struct Source {
    text: String,
    /// `lxc.rootfs.path` as written.
    rootfs_value: String,
    rootfs: PathBuf,
}

fn load_source(paths: &ContainerPaths) -> Result<Source, CopyError> {
    let dir = paths.dir();
    if fs::symlink_metadata(&dir).is_err() {
        return Err(CopyError::NotDefined { dir });
    }
    let config = paths.config();
    let text = fs::read_to_string(&config).map_err(io_error("reading", &config))?;
    let spec = rlxc_config::load_file(&config, &[])
        .map_err(|failure| CopyError::Config {
            path: config.clone(),
            failure,
        })?
        .spec;
    let rootfs_value = spec
        .rootfs
        .path
        .clone()
        .ok_or(CopyError::NoRootfs { path: config })?;
    let rootfs = dir_rootfs(&rootfs_value)?;
    Ok(Source {
        text,
        rootfs_value,
        rootfs,
    })
}

/// The directory of a `dir` rootfs (`dir:/path` or `/path`); the other backing stores are
/// not copied yet.
fn dir_rootfs(value: &str) -> Result<PathBuf, CopyError> {
    let path = value.strip_prefix("dir:").unwrap_or(value);
    if path.starts_with('/') {
        return Ok(PathBuf::from(path));
    }
    let kind = value.split(':').next().unwrap_or(value);
    Err(CopyError::NotYet {
        what: format!("copying a container whose rootfs is {kind} ({value})"),
    })
}

/// Makes `request.target` a full copy of `request.source`. The caller holds both
/// containers' operation locks.
pub fn copy(
    request: &CopyRequest<'_>,
    source_lock: &OperationLock,
    target_lock: &OperationLock,
) -> Result<Copied, CopyError> {
    let (source_paths, target) = (request.source, request.target);
    debug_assert!(source_lock.is_for(source_paths) && target_lock.is_for(target));
    crate::name::check(&target.name)?;
    let source = load_source(source_paths)?;
    let new_dir = target.dir();
    let new_rootfs = target.default_rootfs();
    let rootfs_value = match source.rootfs_value.starts_with("dir:") {
        true => format!("dir:{}", new_rootfs.display()),
        false => new_rootfs.display().to_string(),
    };

    let staging = Staging::begin(target, target_lock)?;
    let staged = staging.path().to_path_buf();
    let freeze = FreezeGuard::settle(source_paths, source_lock)?;
    let interrupted = || Staging::check_interrupted().is_err();
    let report = storage::copy_tree(&source.rootfs, &staged.join("rootfs"), &interrupted).map_err(
        |cause| match cause {
            storage::TreeError::Interrupted => match Staging::check_interrupted() {
                Err(error) => CopyError::Create(error),
                Ok(()) => CopyError::Tree {
                    rootfs: source.rootfs.clone(),
                    cause,
                },
            },
            cause => CopyError::Tree {
                rootfs: source.rootfs.clone(),
                cause,
            },
        },
    )?;
    let old_dir = source_paths.dir();
    let rewritten = storage::rewrite(
        &source.text,
        &storage::Renaming {
            old_name: &source_paths.name,
            new_name: &target.name,
            old_dir: &old_dir,
            new_dir: &new_dir,
            rootfs: Some(&rootfs_value),
            keep_name: request.keep_name,
            keep_macs: request.keep_macs,
        },
    );
    copy_dir_files(&old_dir, &source.rootfs, &rewritten.referenced, &staged)?;
    let froze = freeze.thaw()?;
    Staging::check_interrupted()?;

    let config = staged.join("config");
    fs::write(&config, &rewritten.text).map_err(io_error("writing", &config))?;
    let spec = rlxc_config::load_file(&config, &[])
        .map_err(CopyError::WrittenConfig)?
        .spec;
    if !request.keep_name {
        storage::rename_in_rootfs(&staged.join("rootfs"), &source_paths.name, &target.name)
            .map_err(io_error("naming the clone in", &staged.join("rootfs/etc")))?;
    }
    let hooks_run = run_clone_hooks(
        &spec,
        &Moved {
            name: &target.name,
            source_name: &source_paths.name,
            final_dir: &new_dir,
            dir: &staged,
        },
        &request.hook_args,
        "the copy was removed",
    )?;
    let dir = staging.commit()?;
    Ok(Copied {
        dir,
        froze,
        mount_points: report.mount_points,
        hooks_run,
    })
}

/// Copies the files of the old container's directory that its config names (an fstab,
/// hook scripts), but not the rootfs (copied already) nor the config (written anew).
fn copy_dir_files(
    old_dir: &Path,
    rootfs: &Path,
    referenced: &[PathBuf],
    staged: &Path,
) -> Result<(), CopyError> {
    for rel in referenced {
        let source = old_dir.join(rel);
        if source.starts_with(rootfs) || rel == Path::new("config") {
            continue;
        }
        // A name that is not a file there (a log not yet written, a directory): nothing
        // to copy, the path is rewritten all the same.
        if !fs::symlink_metadata(&source).is_ok_and(|meta| meta.is_file()) {
            continue;
        }
        storage::copy_file_below(old_dir, rel, staged).map_err(|cause| CopyError::DirFile {
            dir: old_dir.to_path_buf(),
            cause,
        })?;
    }
    Ok(())
}

/// Where a clone's hooks find it: its final directory in the config's text, and the
/// directory it is in while they run.
struct Moved<'a> {
    name: &'a str,
    source_name: &'a str,
    final_dir: &'a Path,
    dir: &'a Path,
}

/// Runs `lxc.hook.clone` as LXC does (`NAME lxc clone ARGS...`, `LXC_SRC_NAME`,
/// `LXC_ROOTFS_MOUNT`), with every path of the clone's directory (the hook's own command,
/// `LXC_CONFIG_FILE`, the rootfs) where the clone is while the hook runs: a hook that edits
/// the config or the rootfs edits the clone before it is moved into place.
fn run_clone_hooks(
    spec: &ContainerSpec,
    moved: &Moved<'_>,
    args: &[String],
    undone: &'static str,
) -> Result<usize, CopyError> {
    let Some(commands) = spec.hooks.commands.get(&HookPoint::Clone) else {
        return Ok(0);
    };
    let here = |value: &str| storage::relocate(value, moved.final_dir, moved.dir);
    let mut context = HookContext::new(moved.name, &moved.dir.join("config"), spec);
    context.rootfs_path = here(&context.rootfs_path);
    context.rootfs_mount = here(&context.rootfs_mount);
    context.source_name = Some(moved.source_name.to_string());
    context.extra_args = args.to_vec();
    let commands: Vec<String> = commands.iter().map(|command| here(command)).collect();
    crate::hooks::run(&commands, Hook::Lxc(HookPoint::Clone), &context)
        .map_err(|hook| CopyError::Hook { hook, undone })?;
    Ok(commands.len())
}

/// A running source frozen for the copy; thawed by [`FreezeGuard::thaw`], or when dropped
/// on an error. One that was frozen already stays frozen.
struct FreezeGuard<'a> {
    frozen: Option<(&'a ContainerPaths, &'a OperationLock)>,
}

impl<'a> FreezeGuard<'a> {
    fn settle(
        paths: &'a ContainerPaths,
        lock: &'a OperationLock,
    ) -> Result<FreezeGuard<'a>, CopyError> {
        let found = leftovers::settle(paths, lock).map_err(|cause| CopyError::Leftovers {
            name: paths.name.clone(),
            cause,
        })?;
        let Found::Alive(state) = found else {
            return Ok(FreezeGuard { frozen: None });
        };
        if crate::resources::live_freeze_state(&state) == State::Frozen {
            return Ok(FreezeGuard { frozen: None });
        }
        crate::resources::freeze(paths, lock).map_err(|cause| CopyError::Freeze {
            name: paths.name.clone(),
            cause,
        })?;
        Ok(FreezeGuard {
            frozen: Some((paths, lock)),
        })
    }

    /// Thaws what this froze; true when it froze something.
    fn thaw(mut self) -> Result<bool, CopyError> {
        let Some((paths, lock)) = self.frozen.take() else {
            return Ok(false);
        };
        crate::resources::unfreeze(paths, lock).map_err(|cause| CopyError::Freeze {
            name: paths.name.clone(),
            cause,
        })?;
        Ok(true)
    }
}

impl Drop for FreezeGuard<'_> {
    fn drop(&mut self) {
        if let Some((paths, lock)) = self.frozen.take() {
            let _ = crate::resources::unfreeze(paths, lock);
        }
    }
}

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
    let config = source_paths.config();
    let text = fs::read_to_string(&config).map_err(io_error("reading", &config))?;
    let spec = rlxc_config::load_file(&config, &[])
        .map_err(|failure| CopyError::Config {
            path: config.clone(),
            failure,
        })?
        .spec;
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
        if let Some(Ok(rootfs)) = new_spec.rootfs.path.as_deref().map(dir_rootfs) {
            storage::rename_in_rootfs(&rootfs, &source_paths.name, &target.name)
                .map_err(io_error("naming the container in", &rootfs.join("etc")))?;
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
            if let Some(Ok(rootfs)) = spec.rootfs.path.as_deref().map(dir_rootfs) {
                let _ = storage::rename_in_rootfs(&rootfs, &target.name, &source_paths.name);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dir_rootfs_is_copied_yet() {
        assert_eq!(
            dir_rootfs("dir:/srv/web/rootfs").expect("dir"),
            Path::new("/srv/web/rootfs")
        );
        assert_eq!(
            dir_rootfs("/srv/web/rootfs").expect("plain"),
            Path::new("/srv/web/rootfs")
        );
        let error = dir_rootfs("overlay:/a:/b").expect_err("overlay");
        assert_eq!(
            error.to_string(),
            "not yet: copying a container whose rootfs is overlay (overlay:/a:/b) (see issue #22)"
        );
    }
}
