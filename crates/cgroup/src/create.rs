//! Making a container's cgroup in every hierarchy, below the caller's own cgroup. Every
//! directory is registered in [`CreatedDirs`] the moment `mkdir` returns, so a failure at any
//! later step removes exactly what this call made and nothing else.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::cgroupfs::{CgroupFs, CreatedDirs};
use crate::delegate::{self, V2Delegation};
use crate::files::{self, read_procs_below};
use crate::own::{parent_dirs, OwnCgroups, ParentDir};
use crate::{CgroupLayout, ContainerCgroups, Error};

/// What to create; see [`ContainerCgroups::create_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupRequest {
    /// Relative to the caller's cgroup in each hierarchy: `rlxc.payload.NAME` by default,
    /// or an `lxc.cgroup.dir`-style path of several components (`lxc/web`).
    pub relative_path: PathBuf,
    /// Controllers the container's settings need (`memory` for `memory.max`). A v1 hierarchy
    /// provides its controllers as they are; on cgroup2 the missing ones are enabled in the
    /// parents' `cgroup.subtree_control` where that is possible, and what could not be is
    /// reported by [`ContainerCgroups::v2_delegation`]. Nothing else is ever enabled.
    pub controllers: Vec<String>,
}

impl CgroupRequest {
    pub fn new(relative_path: impl Into<PathBuf>) -> Self {
        Self {
            relative_path: relative_path.into(),
            controllers: Vec::new(),
        }
    }

    pub fn with_controllers<S: Into<String>>(
        mut self,
        controllers: impl IntoIterator<Item = S>,
    ) -> Self {
        self.controllers = controllers.into_iter().map(Into::into).collect();
        self
    }
}

/// `rlxc.payload.NAME`: where the container's processes go.
pub fn payload_path(name: &str) -> PathBuf {
    PathBuf::from(format!("rlxc.payload.{name}"))
}

/// `rlxc.monitor.NAME`: where the container's monitor can go.
pub fn monitor_path(name: &str) -> PathBuf {
    PathBuf::from(format!("rlxc.monitor.{name}"))
}

/// The directory `relative_path` names in each hierarchy [`ContainerCgroups::create_with`]
/// would make it in, made or not: what a start records before it makes anything, so that
/// whatever a crash leaves of it can be found and removed.
///
/// [`ContainerCgroups::create_with`]: crate::ContainerCgroups::create_with
pub fn leaf_dirs(
    layout: &CgroupLayout,
    own: &OwnCgroups,
    relative_path: &Path,
) -> Result<Vec<PathBuf>, Error> {
    check_relative_path(relative_path)?;
    Ok(parent_dirs(layout, own)?
        .into_iter()
        .map(|(_, parent)| parent.join(relative_path))
        .collect())
}

/// The controller a key belongs to: `memory` for `memory.max`.
pub fn controller_of(key: &str) -> &str {
    key.split_once('.')
        .map_or(key, |(controller, _)| controller)
}

/// The recipe. In each hierarchy: make every missing component of the relative path; the
/// last one must be new (else: running or stale). In the cpuset hierarchy each new
/// directory gets its parent's cpus and mems; on cgroup2 the requested controllers are
/// delegated level by level.
pub(crate) fn create(
    layout: &CgroupLayout,
    own: &OwnCgroups,
    request: &CgroupRequest,
    fs: &dyn CgroupFs,
) -> Result<ContainerCgroups, Error> {
    check_relative_path(&request.relative_path)?;
    let parents = parent_dirs(layout, own)?;
    refuse_existing(&parents, &request.relative_path)?;
    let v2_wanted: Vec<String> = request
        .controllers
        .iter()
        .filter(|controller| layout.v1_hierarchy_of(controller).is_none())
        .cloned()
        .collect();
    let mut made = CreatedDirs::new(fs);
    let mut leaves = Vec::with_capacity(parents.len());
    let mut controllers = Vec::with_capacity(parents.len());
    let mut delegation = V2Delegation::default();
    for (kind, parent) in parents {
        let leaf = match &kind {
            ParentDir::V1 { has_cpuset, .. } => {
                make_path(&parent, &request.relative_path, fs, &mut made, |dir| {
                    if *has_cpuset {
                        inherit_cpuset(dir, fs)?;
                    }
                    Ok(())
                })?
            }
            ParentDir::V2 => {
                let (leaf, delegated) = delegate::make_v2_path(
                    &parent,
                    &request.relative_path,
                    &v2_wanted,
                    fs,
                    &mut made,
                )?;
                delegation = delegated;
                leaf
            }
        };
        leaves.push((leaf, kind == ParentDir::V2));
        controllers.push(match kind {
            ParentDir::V1 { controllers, .. } => controllers,
            ParentDir::V2 => Vec::new(),
        });
    }
    Ok(
        ContainerCgroups::from_parts(made.commit(), leaves, delegation)
            .with_controllers(controllers),
    )
}

fn check_relative_path(path: &Path) -> Result<(), Error> {
    let invalid = |reason| Error::InvalidRelativePath {
        path: path.to_owned(),
        reason,
    };
    if path.as_os_str().is_empty() {
        return Err(invalid("empty"));
    }
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(invalid("must be relative, without `.` or `..`"));
    }
    Ok(())
}

/// Makes each component below `parent` in turn; `prepare` runs on every directory made here
/// (not on ones that existed: they are not ours to write into).
fn make_path(
    parent: &Path,
    relative: &Path,
    fs: &dyn CgroupFs,
    made: &mut CreatedDirs<'_>,
    mut prepare: impl FnMut(&Path) -> Result<(), Error>,
) -> Result<PathBuf, Error> {
    let mut dir = parent.to_owned();
    let count = relative.components().count();
    for (index, component) in relative.components().enumerate() {
        dir.push(component);
        if make_path_step(&dir, fs, made)? {
            prepare(&dir)?;
        } else if index + 1 == count {
            return Err(already_exists(dir));
        }
    }
    Ok(dir)
}

/// `mkdir`: true when made (and registered), false when it was there already.
pub(crate) fn make_path_step(
    dir: &Path,
    fs: &dyn CgroupFs,
    made: &mut CreatedDirs<'_>,
) -> Result<bool, Error> {
    match fs.mkdir(dir) {
        Ok(()) => {
            made.register(dir.to_owned());
            Ok(true)
        }
        Err(source) if source.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(Error::Create {
            path: dir.to_owned(),
            cause: source,
        }),
    }
}

/// Checks the container's directory in every hierarchy before making any, so the verdict
/// (running or stale) looks at all of them: a process may be in some hierarchies only. A
/// directory that appears after this check is still caught by `mkdir` ([`already_exists`]).
fn refuse_existing(parents: &[(ParentDir, PathBuf)], relative: &Path) -> Result<(), Error> {
    let existing: Vec<PathBuf> = parents
        .iter()
        .map(|(_, parent)| parent.join(relative))
        .filter(|leaf| leaf.exists())
        .collect();
    let Some(first) = existing.first() else {
        return Ok(());
    };
    let mut pids = Vec::new();
    for leaf in &existing {
        pids.extend(read_procs_below(leaf)?);
    }
    pids.sort_unstable();
    pids.dedup();
    Err(if pids.is_empty() {
        Error::Stale {
            paths: existing.clone(),
        }
    } else {
        Error::AlreadyRunning {
            path: first.clone(),
            pids,
        }
    })
}

/// The leaf appeared between the check and `mkdir`: running or stale, by its processes.
pub(crate) fn already_exists(dir: PathBuf) -> Error {
    match read_procs_below(&dir) {
        Ok(pids) if pids.is_empty() => Error::Stale { paths: vec![dir] },
        Ok(pids) => Error::AlreadyRunning { path: dir, pids },
        Err(error) => error,
    }
}

/// The inner cgroup is one directory below the container's.
pub(crate) fn check_inner_name(inner: &Path) -> Result<(), Error> {
    let mut components = inner.components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) => Ok(()),
        _ => Err(Error::InvalidRelativePath {
            path: inner.to_owned(),
            reason: "an inner cgroup is one name, without `/`, `.` or `..`",
        }),
    }
}

/// A new v1 cpuset cgroup starts with empty `cpuset.cpus` and `cpuset.mems`, and no task can
/// join it until both are set: copy the parent's (unless the parent's `clone_children`
/// already did). `cgroup.clone_children` in our own directory makes the cgroups that the
/// container creates below it inherit them too.
pub(crate) fn inherit_cpuset(dir: &Path, fs: &dyn CgroupFs) -> Result<(), Error> {
    let parent = dir.parent().unwrap_or(dir);
    for key in ["cpuset.cpus", "cpuset.mems"] {
        if !files::read_key(dir, key)?.trim().is_empty() {
            continue;
        }
        let mut value = files::read_key(parent, key)?.trim().to_owned();
        if value.is_empty() {
            // cpuset_v2_mode: an empty setting means "all of the effective ones".
            let effective = key.replace("cpuset.", "cpuset.effective_");
            value = files::read_key(parent, &effective)?.trim().to_owned();
        }
        fs.write(dir, key, &value)?;
    }
    fs.write(dir, "cgroup.clone_children", "1")
}

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
