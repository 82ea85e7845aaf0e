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
use rlxc_storage::backend::{overlay, Backend};
use rlxc_storage::copy as storage;
use std::os::fd::AsRawFd;

use super::clone_rootfs::{self, TmpfsGuard, OVERLAY_DIR};
pub use super::clone_rootfs::{choose_method, snapshot_method, Method};
use super::freeze_guard::FreezeGuard;
use super::staging::Staging;
use super::CreateError;
use crate::hooks::{Hook, HookContext};
use crate::leftovers::{self, Found};
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;

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
    #[error("{rootfs}: {why}")]
    Refused { rootfs: String, why: String },
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

pub(super) fn io_error(
    step: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> CopyError {
    let path = path.to_path_buf();
    move |cause| CopyError::Io { step, path, cause }
}

/// What `rlxc copy` was asked.
#[derive(Debug, Clone)]
pub struct CopyRequest<'a> {
    pub source: &'a ContainerPaths,
    pub target: &'a ContainerPaths,
    pub method: Method,
    /// `-K`: the clone keeps the hostname.
    pub keep_name: bool,
    /// `-M`: the clone keeps the MACs.
    pub keep_macs: bool,
    /// The words after `--`, for the clone hooks.
    pub hook_args: Vec<String>,
    /// Lines added at the end of the clone's config (`lxc.ephemeral = 1`, `-m` mounts).
    pub extra_config: String,
    /// Files written into the clone's directory (a snapshot's `ts` and `comment`).
    pub extra_files: Vec<(&'static str, String)>,
    /// Directories made in the clone's directory, parents first (`-m overlay=`'s upper).
    pub extra_dirs: Vec<String>,
    /// The name the rootfs's `/etc/hosts` holds, when not the source's (a snapshot's).
    pub hostname: Option<&'a str>,
    /// Replace an existing (stopped) target, keeping its `snaps` (a snapshot's restore).
    pub replace: bool,
    /// `-t` of an overlay clone: its `overlay` directory (upper and work) is a tmpfs.
    pub upper_on_tmpfs: bool,
}

impl<'a> CopyRequest<'a> {
    /// A plain full copy of `source` to `target`.
    pub fn new(source: &'a ContainerPaths, target: &'a ContainerPaths) -> CopyRequest<'a> {
        CopyRequest {
            source,
            target,
            method: Method::Full,
            keep_name: false,
            keep_macs: false,
            hook_args: Vec::new(),
            extra_config: String::new(),
            extra_files: Vec::new(),
            extra_dirs: Vec::new(),
            hostname: None,
            replace: false,
            upper_on_tmpfs: false,
        }
    }
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

/// The source's config and its rootfs.
pub(super) struct Source {
    text: String,
    /// `lxc.rootfs.path` as written.
    pub(super) rootfs_value: String,
    pub(super) backend: Backend,
}

/// `lxc.rootfs.path` of the config at `config`, as written.
pub(super) fn rootfs_value(config: &Path) -> Result<String, CopyError> {
    read_config(config)?
        .1
        .rootfs
        .path
        .ok_or_else(|| CopyError::NoRootfs {
            path: config.to_path_buf(),
        })
}

/// A container's config: its text (rewritten for the copy) and what it says.
pub(super) fn read_config(config: &Path) -> Result<(String, ContainerSpec), CopyError> {
    let text = fs::read_to_string(config).map_err(io_error("reading", config))?;
    let spec = rlxc_config::load_file(config, &[])
        .map_err(|failure| CopyError::Config {
            path: config.to_path_buf(),
            failure,
        })?
        .spec;
    Ok((text, spec))
}

fn load_source(paths: &ContainerPaths) -> Result<Source, CopyError> {
    let dir = paths.dir();
    if fs::symlink_metadata(&dir).is_err() {
        return Err(CopyError::NotDefined { dir });
    }
    let config = paths.config();
    let (text, spec) = read_config(&config)?;
    let rootfs_value = spec
        .rootfs
        .path
        .clone()
        .ok_or(CopyError::NoRootfs { path: config })?;
    let backend = Backend::parse(&rootfs_value).map_err(|cause| CopyError::Refused {
        rootfs: rootfs_value.clone(),
        why: cause.to_string(),
    })?;
    Ok(Source {
        text,
        rootfs_value,
        backend,
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

    let staging = if request.replace {
        refuse_running(target, target_lock)?;
        Staging::begin_replacing(target, target_lock)?
    } else {
        Staging::begin(target, target_lock)?
    };
    let staged = staging.path().to_path_buf();
    let freeze = FreezeGuard::settle(source_paths, source_lock)?;
    // Dropped before `staging` (declared after it): a failed copy unmounts its tmpfs first.
    let mut tmpfs = TmpfsGuard(None);
    if request.upper_on_tmpfs && request.method == Method::Overlay {
        let dir = staged.join(OVERLAY_DIR);
        fs::create_dir(&dir).map_err(io_error("making", &dir))?;
        overlay::mount_tmpfs(&dir).map_err(io_error("mounting a tmpfs on", &dir))?;
        tmpfs.0 = Some(dir);
    }
    let running_init = running_init(source_paths);
    let clone_rootfs::Made {
        value: rootfs_value,
        mount_points,
    } = clone_rootfs::make(request.method, &source, &staged, &new_dir, running_init)?;
    let old_dir = source_paths.dir();
    let mut rewritten = storage::rewrite(
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
    rewritten.text.push_str(&request.extra_config);
    copy_dir_files(
        &old_dir,
        source.backend.own_data(),
        &rewritten.referenced,
        &staged,
    )?;
    let froze = freeze.thaw()?;
    Staging::check_interrupted()?;

    let config = staged.join("config");
    fs::write(&config, &rewritten.text).map_err(io_error("writing", &config))?;
    for name in &request.extra_dirs {
        let path = staged.join(name);
        fs::create_dir(&path).map_err(io_error("making", &path))?;
    }
    for (name, text) in &request.extra_files {
        let path = staged.join(name);
        fs::write(&path, text).map_err(io_error("writing", &path))?;
    }
    let spec = rlxc_config::load_file(&config, &[])
        .map_err(CopyError::WrittenConfig)?
        .spec;
    if !request.keep_name {
        let old_name = request.hostname.unwrap_or(&source_paths.name);
        rename_clone(&spec, &staged, &new_dir, old_name, &target.name)?;
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
    if request.method == Method::Overlay {
        super::dependents::record(source_paths, target, &staged)
            .map_err(io_error("recording the clone in", &source_paths.dir()))?;
    }
    let dir = if request.replace {
        staging.commit_replacing()?
    } else {
        staging.commit()?
    };
    // Moved with the directory: the container's now (destroy unmounts it).
    tmpfs.0 = None;
    Ok(Copied {
        dir,
        froze,
        mount_points,
        hooks_run,
    })
}

/// The init of `paths` while it runs (the caller holds its lock and has settled it).
fn running_init(paths: &ContainerPaths) -> Option<i32> {
    let state = crate::state::StateFile::read(&paths.state_file()).ok()??;
    state.init.is_alive().then_some(state.init.pid)
}

/// A stopped container (what a crashed run left cleared), or an error.
fn refuse_running(paths: &ContainerPaths, lock: &OperationLock) -> Result<(), CopyError> {
    match leftovers::settle(paths, lock) {
        Ok(Found::Alive(_)) => Err(CopyError::Running {
            name: paths.name.clone(),
        }),
        Ok(_) => Ok(()),
        Err(cause) => Err(CopyError::Leftovers {
            name: paths.name.clone(),
            cause,
        }),
    }
}

/// The clone's name in its rootfs (see [`clone_rootfs::rename_inside`]).
fn rename_clone(
    spec: &ContainerSpec,
    staged: &Path,
    new_dir: &Path,
    old: &str,
    new: &str,
) -> Result<(), CopyError> {
    let value = spec.rootfs.path.as_deref().unwrap_or_default();
    clone_rootfs::rename_inside(&storage::relocate(value, new_dir, staged), old, new)
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
pub(super) struct Moved<'a> {
    pub(super) name: &'a str,
    pub(super) source_name: &'a str,
    pub(super) final_dir: &'a Path,
    pub(super) dir: &'a Path,
}

/// Runs `lxc.hook.clone` as LXC does (`NAME lxc clone ARGS...`, `LXC_SRC_NAME`,
/// `LXC_ROOTFS_MOUNT`), with every path of the clone's directory (the hook's own command,
/// `LXC_CONFIG_FILE`, the rootfs) where the clone is while the hook runs: a hook that edits
/// the config or the rootfs edits the clone before it is moved into place.
pub(super) fn run_clone_hooks(
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
    // An overlay or loop rootfs is mounted for the hooks, as LXC's: they get its tree (through
    // this process's descriptor of the detached mount), not the upper or the image file.
    let mounted = clone_rootfs::mount_for_hooks(&context.rootfs_path)?;
    if let Some(fd) = &mounted {
        context.rootfs_mount = format!("/proc/{}/fd/{}", std::process::id(), fd.as_raw_fd());
    }
    context.source_name = Some(moved.source_name.to_string());
    context.extra_args = args.to_vec();
    let commands: Vec<String> = commands.iter().map(|command| here(command)).collect();
    crate::hooks::run(&commands, Hook::Lxc(HookPoint::Clone), &context)
        .map_err(|hook| CopyError::Hook { hook, undone })?;
    Ok(commands.len())
}
