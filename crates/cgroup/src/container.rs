//! [`ContainerCgroups`]: the directories of one container, one per hierarchy.

use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{Mode, OFlags};

use crate::cgroupfs::{CgroupFs, CreatedDirs, RealFs};
use crate::create::{self, CgroupRequest};
use crate::delegate::{self, V2Delegation};
use crate::files::{self, check_key, read_procs_below};
use crate::own::OwnCgroups;
use crate::{kill, remove, CgroupLayout, Error};

/// Which hierarchies [`ContainerCgroups::add_process`] writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Every hierarchy.
    All,
    /// Only the v1 ones: the process is in the cgroup2 one already, by
    /// `clone3(CLONE_INTO_CGROUP)` with [`ContainerCgroups::unified_fd`].
    V1Only,
    /// Only the cgroup2 one (the v1 ones were entered before).
    V2Only,
}

impl Placement {
    fn includes(self, unified: bool) -> bool {
        match self {
            Placement::All => true,
            Placement::V1Only => !unified,
            Placement::V2Only => unified,
        }
    }
}

/// One leaf of a container's cgroups as a state file keeps it (see
/// [`ContainerCgroups::reopen`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeafRecord {
    pub dir: PathBuf,
    /// The cgroup2 one.
    #[serde(default)]
    pub unified: bool,
    /// The v1 controllers of its hierarchy (none for cgroup2).
    #[serde(default)]
    pub controllers: Vec<String>,
    /// The container's inner cgroup below `dir` (see [`ContainerCgroups::inner`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<PathBuf>,
}

/// The cgroups of one container: a directory in every v1 hierarchy that has a controller
/// (and systemd's named one) and one in the cgroup2 hierarchy, all below the cgroup the
/// creating process ran in. Dropping it leaves the cgroups in place; [`Self::remove`]
/// removes them (the monitor keeps this in its undo list).
///
/// With an *inner* cgroup (`lxc.cgroup.dir.container.inner`) the limits stay on these
/// directories and the processes go one level down, into the inner cgroup, which becomes the
/// root of the container's cgroup namespace: the container may then own the whole tree it
/// sees (systemd makes its slices there) without reaching a limit the host set.
#[derive(Debug)]
pub struct ContainerCgroups {
    /// Every directory created, parents before children.
    paths: Vec<PathBuf>,
    /// Where processes go, one per hierarchy; `true` for the cgroup2 one.
    leaves: Vec<(PathBuf, bool)>,
    delegation: V2Delegation,
    /// The v1 controllers of each leaf, where known (made here, not reopened): the key
    /// `memory.max` is looked for in the memory hierarchy's leaf first.
    controllers: Vec<Vec<String>>,
    /// The inner cgroup's name, the same below every leaf.
    inner: Option<PathBuf>,
}

impl ContainerCgroups {
    /// Makes the container's cgroup below the caller's own cgroup (from `/proc/self/cgroup`)
    /// in every hierarchy of `layout`. Fails with [`Error::AlreadyRunning`] or
    /// [`Error::Stale`] if it exists already, having changed nothing. No cgroup2 controller
    /// is enabled: see [`Self::create_with`].
    pub fn create(layout: &CgroupLayout, relative_path: &Path) -> Result<Self, Error> {
        Self::create_with(
            layout,
            &OwnCgroups::of_this_process()?,
            &CgroupRequest::new(relative_path),
        )
    }

    /// [`Self::create`] with the caller's cgroups given and cgroup2 controllers to delegate.
    /// On failure every directory this call made is removed again.
    pub fn create_with(
        layout: &CgroupLayout,
        own: &OwnCgroups,
        request: &CgroupRequest,
    ) -> Result<Self, Error> {
        create::create(layout, own, request, &RealFs)
    }

    pub(crate) fn from_parts(
        paths: Vec<PathBuf>,
        leaves: Vec<(PathBuf, bool)>,
        delegation: V2Delegation,
    ) -> Self {
        Self {
            paths,
            leaves,
            delegation,
            controllers: Vec::new(),
            inner: None,
        }
    }

    fn with_inner(mut self, inner: Option<PathBuf>) -> Self {
        self.inner = inner;
        self
    }

    pub(crate) fn with_controllers(mut self, controllers: Vec<Vec<String>>) -> Self {
        self.controllers = controllers;
        self
    }

    /// Makes the inner cgroup `inner` below the container's in every hierarchy; from now on
    /// processes enter there (see the type's docs). Called once the limits are written: a v1
    /// devices cgroup refuses a deny-all once it has children, which inherit its rules when
    /// made. On cgroup2 the delegated controllers are passed down to it. On failure what
    /// this call made is removed again.
    pub fn make_inner(&mut self, inner: &Path) -> Result<(), Error> {
        self.make_inner_with(inner, &RealFs)
    }

    pub(crate) fn make_inner_with(&mut self, inner: &Path, fs: &dyn CgroupFs) -> Result<(), Error> {
        create::check_inner_name(inner)?;
        let mut made = CreatedDirs::new(fs);
        for (dir, unified) in &self.leaves {
            if *unified {
                let access = delegate::Access::MayEnable { is_caller: false };
                let mut passed = V2Delegation::default();
                let wanted = self.delegation.enabled.clone();
                self.delegation.enabled =
                    delegate::enable_in(dir, &wanted, access, fs, &mut passed)?;
                self.delegation.not_delegated.extend(passed.not_delegated);
            }
            let child = dir.join(inner);
            if !create::make_path_step(&child, fs, &mut made)? {
                return Err(create::already_exists(child));
            }
            if !*unified && child.join("cpuset.cpus").exists() {
                create::inherit_cpuset(&child, fs)?;
            }
        }
        self.paths.extend(made.commit());
        self.inner = Some(inner.to_owned());
        Ok(())
    }

    /// What a state file records of the leaves, for [`Self::reopen`].
    pub fn leaf_records(&self) -> Vec<LeafRecord> {
        self.leaves
            .iter()
            .enumerate()
            .map(|(index, (dir, unified))| LeafRecord {
                dir: dir.clone(),
                unified: *unified,
                controllers: self.controllers.get(index).cloned().unwrap_or_default(),
                inner: self.inner.clone(),
            })
            .collect()
    }

    /// Reopens from recorded [`Self::paths`] and [`Self::leaf_records`] without looking at
    /// the filesystem, so a key's file is found in its controller's hierarchy at once (`rlxc
    /// cgroup`, `info`, the /proc view's every read). Without records (a state file of an
    /// older rlxc) as [`Self::from_paths`].
    pub fn reopen(paths: Vec<PathBuf>, leaves: &[LeafRecord]) -> Self {
        if leaves.is_empty() {
            return Self::from_paths(paths);
        }
        let controllers = leaves.iter().map(|leaf| leaf.controllers.clone()).collect();
        let inner = leaves.iter().find_map(|leaf| leaf.inner.clone());
        let leaves = leaves
            .iter()
            .map(|leaf| (leaf.dir.clone(), leaf.unified))
            .collect();
        Self::from_parts(paths, leaves, V2Delegation::default())
            .with_controllers(controllers)
            .with_inner(inner)
    }

    /// Reopens from recorded [`Self::paths`], for stop after a monitor crash. The deepest
    /// directories are where processes are; the cgroup2 one is told by its
    /// `cgroup.controllers` file, which v1 cgroups do not have.
    pub fn from_paths(paths: Vec<PathBuf>) -> Self {
        let leaves = paths
            .iter()
            .filter(|dir| {
                !paths
                    .iter()
                    .any(|other| other != *dir && other.starts_with(dir))
            })
            .map(|dir| (dir.clone(), dir.join("cgroup.controllers").exists()))
            .collect();
        Self::from_parts(paths, leaves, V2Delegation::default())
    }

    /// Every directory this container made, parents before children: with the default
    /// one-component path, one per hierarchy. Record it to reopen with [`Self::from_paths`].
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// The container's directory in each hierarchy: its limits, and its processes with
    /// every cgroup below.
    pub fn leaves(&self) -> impl Iterator<Item = &Path> {
        self.leaves.iter().map(|(dir, _)| dir.as_path())
    }

    /// The inner cgroup's name, where the container has one.
    pub fn inner(&self) -> Option<&Path> {
        self.inner.as_deref()
    }

    /// Where processes enter, in each hierarchy: the inner cgroup, or the leaf itself.
    fn entries(&self) -> impl Iterator<Item = (PathBuf, bool)> + '_ {
        self.leaves.iter().map(|(dir, unified)| match &self.inner {
            Some(inner) => (dir.join(inner), *unified),
            None => (dir.clone(), *unified),
        })
    }

    /// The cgroup2 directory of the container, if the host has that hierarchy.
    pub fn unified_dir(&self) -> Option<&Path> {
        self.leaves
            .iter()
            .find(|(_, unified)| *unified)
            .map(|(dir, _)| dir.as_path())
    }

    /// The cgroup2 directory processes enter (the inner one, where there is one).
    pub fn unified_entry(&self) -> Option<PathBuf> {
        self.entries()
            .find(|(_, unified)| *unified)
            .map(|(dir, _)| dir)
    }

    /// Which requested cgroup2 controllers are usable, and why the others are not.
    /// Empty after [`Self::from_paths`].
    pub fn v2_delegation(&self) -> &V2Delegation {
        &self.delegation
    }

    /// An `O_DIRECTORY` fd of the cgroup2 directory processes enter, for
    /// `clone3(CLONE_INTO_CGROUP)`.
    pub fn unified_fd(&self) -> Result<Option<OwnedFd>, Error> {
        let Some(dir) = self.unified_entry() else {
            return Ok(None);
        };
        let dir = dir.as_path();
        let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
        rustix::fs::open(dir, flags, Mode::empty())
            .map(Some)
            .map_err(|errno| Error::OpenDir {
                path: dir.to_owned(),
                cause: errno.into(),
            })
    }

    /// [`Self::unified_fd`] for a process that joins the running container (attach). cgroup2
    /// takes no process into a cgroup that passes domain controllers on to its children (the
    /// container's systemd does that at its root): there the process goes into `.lxc` below
    /// it, made now if missing, as LXC's attach does.
    pub fn unified_join_fd(&self) -> Result<Option<OwnedFd>, Error> {
        let Some(entry) = self.unified_entry() else {
            return Ok(None);
        };
        let passes_on = !files::read_key(&entry, "cgroup.subtree_control")?
            .trim()
            .is_empty();
        let dir = if passes_on {
            let dir = entry.join(".lxc");
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(cause) => return Err(Error::Create { path: dir, cause }),
            }
            dir
        } else {
            entry
        };
        let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
        rustix::fs::open(&dir, flags, Mode::empty())
            .map(Some)
            .map_err(|errno| Error::OpenDir {
                path: dir.clone(),
                cause: errno.into(),
            })
    }

    /// Gives the container's cgroups to its root (host ids `uid`, `gid`) for an unprivileged
    /// container: see [`crate::chown`].
    pub fn give_to(&self, uid: u32, gid: u32) -> Result<(), Error> {
        let entries: Vec<PathBuf> = self.entries().map(|(dir, _)| dir).collect();
        crate::chown::give_to(entries.iter().map(PathBuf::as_path), uid, gid)
    }

    /// Writes `pid` into `cgroup.procs` of every hierarchy (or only of the v1 ones).
    pub fn add_process(&self, pid: i32, which: Placement) -> Result<(), Error> {
        for (dir, unified) in self.entries() {
            if !which.includes(unified) {
                continue;
            }
            files::write_key(&dir, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Opens the files through which a single-threaded process moves *itself* in, for
    /// [`SelfEntry::enter`] (also after a fork or clone: the fds are inherited).
    ///
    /// v1 hierarchies are entered through `tasks` with `0`: for a process of one thread that
    /// moves the whole process (its children are born there), and the kernel then takes only
    /// `cgroup_mutex` (`cgroup_procs_write_start`: a thread moving itself needs no
    /// threadgroup stability). Writing `cgroup.procs`, or any pid but `0`, write-locks the
    /// global `cgroup_threadgroup_rwsem`, whose first taker waits an RCU grace period: 5–17 ms
    /// on a busy host, measured 11.7 ms against 0.04 ms for `tasks`. cgroup2 has no such
    /// path (its `cgroup.threads` needs a threaded subtree): its `cgroup.procs` is used, or
    /// skipped with [`Placement::V1Only`] (`clone3(CLONE_INTO_CGROUP)` avoids the lock there).
    pub fn self_entry(&self, which: Placement) -> Result<SelfEntry, Error> {
        let mut files = Vec::new();
        for (dir, unified) in self.entries() {
            if !which.includes(unified) {
                continue;
            }
            let key = self_entry_key(unified);
            let flags = OFlags::WRONLY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(dir.join(key), flags, Mode::empty()).map_err(|errno| {
                Error::Write {
                    path: dir.clone(),
                    key: key.to_owned(),
                    value: "0".to_owned(),
                    cause: errno.into(),
                }
            })?;
            files.push((dir, key, fd));
        }
        Ok(SelfEntry { files })
    }

    /// Moves the calling process, which must be single-threaded, into the container's
    /// cgroups; see [`Self::self_entry`].
    pub fn enter_self(&self, which: Placement) -> Result<(), Error> {
        self.self_entry(which)?.enter()
    }

    /// Every process in the container's cgroups and the cgroups below them, over all
    /// hierarchies, sorted.
    pub fn processes(&self) -> Result<Vec<i32>, Error> {
        let mut pids = Vec::new();
        for (dir, _) in &self.leaves {
            pids.extend(read_procs_below(dir)?);
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    pub fn is_empty(&self) -> Result<bool, Error> {
        Ok(self.processes()?.is_empty())
    }

    /// Kills every process and returns once they are all gone; see [`kill::kill_all`].
    pub fn kill_all(&self) -> Result<(), Error> {
        kill::kill_all(&self.leaves, kill::KILL_TIMEOUT)
    }

    /// Waits up to `timeout` for the cgroups to empty, then removes every directory,
    /// deepest first, with the cgroups the container made below its own; see
    /// [`remove::remove`]. Directories that are gone already are fine.
    pub fn remove(self, timeout: Duration) -> Result<(), Error> {
        self.remove_with(timeout, &RealFs)
    }

    /// Removes every directory if that takes no waiting and no killing: nothing is in them
    /// and nothing below them. False when something is; then [`Self::kill_all`] and
    /// [`Self::remove`] do it the long way.
    pub fn remove_if_empty(&self) -> bool {
        self.remove_if_empty_with(&RealFs)
    }

    pub(crate) fn remove_if_empty_with(&self, fs: &dyn CgroupFs) -> bool {
        remove::remove_if_empty(&self.paths, &self.leaves, fs)
    }

    pub(crate) fn remove_with(self, timeout: Duration, fs: &dyn CgroupFs) -> Result<(), Error> {
        remove::remove(&self.paths, &self.leaves, timeout, fs)
    }

    /// Writes a controller file in the hierarchy that has it (see [`Self::get`]).
    pub fn set(&self, key: &str, value: &str) -> Result<(), Error> {
        check_key(key)?;
        // The hierarchy of the key's controller first, opened without a look before (the
        // open says whether the file is there): `rlxc cgroup` and a start's limits mostly
        // name a key of a known controller.
        if let Some(dir) = self.owner_of(key) {
            match files::write_key(dir, key, value) {
                Err(Error::Write { cause: source, .. })
                    if source.kind() == io::ErrorKind::NotFound => {}
                written => return written,
            }
        }
        files::write_key(self.dir_with(key)?, key, value)
    }

    /// Reads a controller file from the hierarchy that has it: the v1 hierarchies first (on
    /// a hybrid host a controller there is the one in use; cgroup2 shows core files such as
    /// `cpu.stat` even without the controller), then cgroup2.
    pub fn get(&self, key: &str) -> Result<String, Error> {
        files::read_key(self.dir_with(key)?, key)
    }

    /// Whether some cgroup of the container has the file `key`.
    pub fn has(&self, key: &str) -> bool {
        self.dir_with(key).is_ok()
    }

    /// The container's cgroup in the hierarchy of `key`'s controller, where it has one.
    fn owner_of(&self, key: &str) -> Option<&Path> {
        let controller = crate::create::controller_of(key);
        self.controllers
            .iter()
            .position(|controllers| controllers.iter().any(|c| c == controller))
            .and_then(|index| self.leaves.get(index))
            .map(|(dir, _)| dir.as_path())
    }

    pub(crate) fn dir_with(&self, key: &str) -> Result<&Path, Error> {
        check_key(key)?;
        // The hierarchy of the key's controller, when known: one lookup instead of one per
        // hierarchy (a start writes some twenty keys).
        if let Some(dir) = self.owner_of(key).filter(|dir| dir.join(key).exists()) {
            return Ok(dir);
        }
        let v1_first = self
            .leaves
            .iter()
            .filter(|(_, unified)| !unified)
            .chain(self.leaves.iter().filter(|(_, unified)| *unified));
        for (dir, _) in v1_first {
            if dir.join(key).exists() {
                return Ok(dir);
            }
        }
        Err(Error::UnknownKey {
            key: key.to_owned(),
            searched: self.leaves.iter().map(|(dir, _)| dir.clone()).collect(),
        })
    }
}

/// The file of a cgroup through which a single-threaded process moves itself in: see
/// [`ContainerCgroups::self_entry`].
pub fn self_entry_key(unified: bool) -> &'static str {
    if unified {
        "cgroup.procs"
    } else {
        "tasks"
    }
}

/// Open files through which the calling process moves itself into a container's cgroups:
/// made by [`ContainerCgroups::self_entry`] on the host, written by the process that moves
/// (the container's first process, before it sets itself up).
#[derive(Debug)]
pub struct SelfEntry {
    files: Vec<(PathBuf, &'static str, OwnedFd)>,
}

impl SelfEntry {
    /// Writes `0` into each file. The caller must be single-threaded: a v1 `tasks` write
    /// moves only the writing thread.
    pub fn enter(&self) -> Result<(), Error> {
        for (dir, key, fd) in &self.files {
            rustix::io::write(fd, b"0").map_err(|errno| Error::Write {
                path: dir.clone(),
                key: (*key).to_owned(),
                value: "0".to_owned(),
                cause: errno.into(),
            })?;
        }
        Ok(())
    }
}
