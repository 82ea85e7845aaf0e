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
use rlxc_storage::backend::{btrfs, mount, overlay, Backend, Kind, Overlay};
use rlxc_storage::copy as storage;
use std::os::fd::AsRawFd;

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

/// How the clone's rootfs is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A full copy into a directory.
    Full,
    /// `-s` of a `dir` source (or `-B overlay`): `overlay:SRC_ROOTFS:NEWDIR/overlay/delta`,
    /// LXC 5's layout (an empty `rootfs` mount point, `overlay/{delta,work}`).
    Overlay,
    /// `-s` of a btrfs subvolume (or `-B btrfs`): a writable btrfs snapshot, `btrfs:NEWDIR/rootfs`.
    Btrfs,
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

/// The source's config and its rootfs directory.
struct Source {
    text: String,
    /// `lxc.rootfs.path` as written.
    rootfs_value: String,
    rootfs: PathBuf,
    backend: Backend,
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
    let backend = Backend::parse(&rootfs_value).map_err(|_| not_copied_yet(&rootfs_value))?;
    let rootfs = match backend.directory() {
        Some(dir) => dir.to_path_buf(),
        None => return Err(not_copied_yet(&rootfs_value)),
    };
    Ok(Source {
        text,
        rootfs_value,
        rootfs,
        backend,
    })
}

fn not_copied_yet(value: &str) -> CopyError {
    let kind = value.split(':').next().unwrap_or(value);
    CopyError::NotYet {
        what: format!("copying a container whose rootfs is {kind} ({value})"),
    }
}

/// The directory of a `dir` rootfs (`dir:/path` or `/path`) or a `btrfs` one; the other
/// backing stores are not copied yet.
pub(super) fn dir_rootfs(value: &str) -> Result<PathBuf, CopyError> {
    match Backend::parse(value) {
        Ok(backend) => match backend.directory() {
            Some(dir) => Ok(dir.to_path_buf()),
            None => Err(not_copied_yet(value)),
        },
        Err(_) => Err(not_copied_yet(value)),
    }
}

/// What `-s` and `-B` ask of a source with this config: LXC's choice (`-s` of a `dir` is an
/// overlay, of a btrfs subvolume a btrfs snapshot).
pub fn choose_method(
    source: &ContainerPaths,
    snapshot: bool,
    backing_store: Option<&str>,
) -> Result<Method, CopyError> {
    let config = source.config();
    let subvolume = || {
        let Ok(text) = fs::read_to_string(&config) else {
            return false;
        };
        let value = text.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            matches!(key.trim(), "lxc.rootfs.path" | "lxc.rootfs").then(|| value.trim().to_string())
        });
        value
            .and_then(|value| dir_rootfs(&value).ok())
            .is_some_and(|dir| btrfs::is_subvolume(&dir).unwrap_or(false))
    };
    match (backing_store, snapshot) {
        (None | Some("dir"), false) => Ok(Method::Full),
        (None, true) if subvolume() => Ok(Method::Btrfs),
        (None, true) | (Some("overlay" | "overlayfs"), _) => Ok(Method::Overlay),
        (Some("btrfs"), _) if subvolume() => Ok(Method::Btrfs),
        (Some("btrfs"), _) => Err(CopyError::NotYet {
            what: "a btrfs copy of a container whose rootfs is not a btrfs subvolume".into(),
        }),
        (Some("dir"), true) => Err(CopyError::NotYet {
            what: "a snapshot (-s) into a dir backing store: a dir copy is a full copy".into(),
        }),
        (Some(other), _) => Err(CopyError::NotYet {
            what: format!("copies to the {other} backing store (-B {other})"),
        }),
    }
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
    let (rootfs_value, mount_points) = match request.method {
        Method::Full => {
            let value = match source.rootfs_value.starts_with("dir:") {
                true => format!("dir:{}", new_rootfs.display()),
                false => new_rootfs.display().to_string(),
            };
            (value, full_copy(&source, &staged)?)
        }
        Method::Overlay => {
            if source.backend.kind() != Kind::Dir {
                return Err(not_copied_yet(&source.rootfs_value));
            }
            if request.upper_on_tmpfs {
                let dir = staged.join(OVERLAY_DIR);
                fs::create_dir(&dir).map_err(io_error("making", &dir))?;
                overlay::mount_tmpfs(&dir).map_err(io_error("mounting a tmpfs on", &dir))?;
                tmpfs.0 = Some(dir);
            }
            (overlay_clone(&source, &staged, &new_dir)?, Vec::new())
        }
        Method::Btrfs => {
            let rootfs = staged.join("rootfs");
            btrfs::snapshot(&source.rootfs, &rootfs, false)
                .map_err(io_error("making a btrfs snapshot at", &rootfs))?;
            (format!("btrfs:{}", new_rootfs.display()), Vec::new())
        }
    };
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
    copy_dir_files(&old_dir, &source.rootfs, &rewritten.referenced, &staged)?;
    let froze = freeze.thaw()?;
    Staging::check_interrupted()?;

    let config = staged.join("config");
    fs::write(&config, &rewritten.text).map_err(io_error("writing", &config))?;
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

/// The full copy of the source's rootfs to `STAGED/rootfs`; the mount points it skipped.
fn full_copy(source: &Source, staged: &Path) -> Result<Vec<PathBuf>, CopyError> {
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
    Ok(report.mount_points)
}

/// LXC 5's overlay clone: `overlay/delta` (the upper) and `overlay/work` in the new
/// directory, and `rootfs`, an empty directory, where it is mounted. Returns the value of
/// `lxc.rootfs.path`.
fn overlay_clone(source: &Source, staged: &Path, new_dir: &Path) -> Result<String, CopyError> {
    let rootfs = staged.join("rootfs");
    fs::create_dir(&rootfs).map_err(io_error("making", &rootfs))?;
    let overlay = Overlay {
        lower: source.rootfs.clone(),
        upper: staged.join(OVERLAY_UPPER),
    };
    overlay
        .make_dirs()
        .map_err(io_error("making the overlay's directories", &overlay.upper))?;
    let value = Backend::Overlay(Overlay {
        lower: source.rootfs.clone(),
        upper: new_dir.join(OVERLAY_UPPER),
    });
    Ok(value.to_string())
}

/// `overlay/delta`: where LXC 5 keeps a clone's own changes.
pub const OVERLAY_UPPER: &str = "overlay/delta";
/// The directory of the upper and work directories (a tmpfs with `-t`).
pub const OVERLAY_DIR: &str = "overlay";

/// The tmpfs of a clone being made, unmounted if the copy fails.
struct TmpfsGuard(Option<PathBuf>);

impl Drop for TmpfsGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = overlay::unmount_tmpfs(&dir);
        }
    }
}

/// The clone's name in its rootfs. An overlay's rootfs is mounted (detached, reached through
/// `/proc/self/fd`) so the changed files are copied up into its upper, as at run time.
fn rename_clone(
    spec: &ContainerSpec,
    staged: &Path,
    new_dir: &Path,
    old: &str,
    new: &str,
) -> Result<(), CopyError> {
    let value = spec.rootfs.path.as_deref().unwrap_or_default();
    let here = storage::relocate(value, new_dir, staged);
    let etc = staged.join("rootfs/etc");
    match Backend::parse(&here) {
        Ok(backend @ Backend::Overlay(_)) => {
            let mounted =
                mount::mount_detached(&backend, false, None).map_err(|cause| CopyError::Io {
                    step: "mounting the overlay of",
                    path: staged.to_path_buf(),
                    cause: std::io::Error::other(cause.to_string()),
                })?;
            let root = PathBuf::from(format!("/proc/self/fd/{}", mounted.as_raw_fd()));
            storage::rename_in_rootfs(&root, old, new)
                .map_err(io_error("naming the clone in", &etc))
        }
        Ok(backend) => match backend.directory() {
            Some(dir) => storage::rename_in_rootfs(dir, old, new)
                .map_err(io_error("naming the clone in", &etc)),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
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
    context.source_name = Some(moved.source_name.to_string());
    context.extra_args = args.to_vec();
    let commands: Vec<String> = commands.iter().map(|command| here(command)).collect();
    crate::hooks::run(&commands, Hook::Lxc(HookPoint::Clone), &context)
        .map_err(|hook| CopyError::Hook { hook, undone })?;
    Ok(commands.len())
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
