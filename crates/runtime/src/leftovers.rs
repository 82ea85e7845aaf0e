//! What a crashed run of a container leaves, found and removed.
//!
//! A run directory whose lifetime lock nobody holds (see [`crate::lock`]) belongs to a run
//! whose monitor, or whose `rlxc start` before the monitor existed, was killed. What that run
//! made is recorded before it is made: `RUN_DIR/cgroups.json` (every cgroup directory the
//! start may make, written before the first mkdir), then the state file (init, network,
//! cgroups) once init runs. [`settle`] reads both and removes what is there, so every verb
//! that holds the container's operation lock starts from a container that is either alive
//! or entirely gone.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rlxc_cgroup::ContainerCgroups;

use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::state::StateFile;

/// How long a monitor may take over its teardown (stop hooks, network, cgroups) before a
/// verb that waits for it says so instead of waiting on.
pub const TEARDOWN_LIMIT: Duration = Duration::from_secs(30);

/// How long the processes a crash left get to die after SIGKILL before their cgroups are
/// given up on.
const CGROUP_REMOVE_TIMEOUT: Duration = Duration::from_secs(10);

const PLANNED_CGROUPS: &str = "cgroups.json";

/// What a verb holding the operation lock finds of the container.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// Nothing: the container is not running and no run left anything.
    Nothing,
    /// A run of it is alive: its monitor holds the lifetime lock and its init runs.
    Alive(Box<StateFile>),
    /// A crashed run left something, now removed: what it was, for the user to hear once.
    Cleared(Cleared),
}

/// What was removed after a crashed run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cleared {
    pub cgroups: usize,
    pub network_problems: Vec<String>,
}

impl std::fmt::Display for Cleared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("removed what a crashed run of it left:")?;
        if self.cgroups > 0 {
            write!(f, " {} cgroup directories;", self.cgroups)?;
        }
        f.write_str(" its run directory")?;
        for problem in &self.network_problems {
            write!(f, "; not undone: {problem}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeftoverError {
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(
        "its monitor{} has neither brought it up nor ended it in {}s: it may be stopped \
         (SIGSTOP; `kill -CONT` lets it go on) or stuck (after `kill -KILL`, the next verb \
         removes what it left)",
        monitor.map(|pid| format!(" (pid {pid})")).unwrap_or_default(),
        waited.as_secs()
    )]
    StillEnding {
        monitor: Option<i32>,
        waited: Duration,
    },
    #[error("removing the cgroups a crashed run left: {0}")]
    Cgroups(rlxc_cgroup::Error),
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("a crashed run left {path}, which could not be removed")]
    Remains { path: PathBuf },
}

/// Records, before any is made, the cgroup directories a start may make.
pub(crate) fn record_planned_cgroups(
    paths: &ContainerPaths,
    leaves: &[PathBuf],
) -> std::io::Result<()> {
    let path = paths.run_dir().join(PLANNED_CGROUPS);
    let partial = path.with_extension("json.partial");
    let text = serde_json::to_vec(leaves).map_err(std::io::Error::other)?;
    fs::write(&partial, text)?;
    fs::rename(&partial, &path)
}

fn planned_cgroups(paths: &ContainerPaths) -> Vec<PathBuf> {
    fs::read(paths.run_dir().join(PLANNED_CGROUPS))
        .ok()
        .and_then(|text| serde_json::from_slice(&text).ok())
        .unwrap_or_default()
}

/// Whether something of the container is there that no live run owns: a run directory whose
/// lifetime lock nobody holds. A look only (for `ls` and `info`); [`settle`] removes it.
pub fn crashed_run_left_something(paths: &ContainerPaths) -> bool {
    paths.run_dir().exists() && !crate::lock::is_held(paths)
}

/// For a verb that only looks (`ls`, `info`): removes what a crashed run left where that is
/// debris only (no init of it lives on) and no other verb is at the container. `None` when
/// there was nothing to remove, or it was not this verb's to remove now. A running container
/// that a dead copy left frozen is thawed first (when no verb is at it).
pub fn clear_if_idle(paths: &ContainerPaths, what: &str) -> Option<Result<Cleared, LeftoverError>> {
    thaw_if_idle(paths, what);
    if !crashed_run_left_something(paths) {
        return None;
    }
    let state = StateFile::read(&paths.state_file()).ok().flatten();
    if state.is_some_and(|state| state.init.is_alive()) {
        return None;
    }
    let lock = OperationLock::try_take(paths, what).ok()?.ok()?;
    match settle(paths, &lock) {
        Ok(Found::Cleared(cleared)) => Some(Ok(cleared)),
        Ok(_) => None,
        Err(error) => Some(Err(error)),
    }
}

/// For a look: a running container that a copy which died left frozen is thawed, when no
/// verb is at it (see [`crate::create::freeze_guard`]).
fn thaw_if_idle(paths: &ContainerPaths, what: &str) {
    let marker = paths.run_dir().join(crate::create::freeze_guard::MARKER);
    if !marker.exists() {
        return;
    }
    let Some(_lock) = OperationLock::try_take(paths, what)
        .ok()
        .and_then(Result::ok)
    else {
        return;
    };
    let state = StateFile::read(&paths.state_file()).ok().flatten();
    if let Some(state) = state.filter(|state| state.init.is_alive()) {
        crate::create::freeze_guard::thaw_abandoned(paths, &state);
    }
}

/// Where the container stands, for a verb that holds its operation lock: alive, or nothing
/// of it left. A monitor that is ending the container is waited for (at most
/// [`TEARDOWN_LIMIT`]); whatever a crashed run left is removed first.
pub fn settle(paths: &ContainerPaths, lock: &OperationLock) -> Result<Found, LeftoverError> {
    debug_assert!(lock.is_for(paths));
    if !paths.run_dir().exists() {
        return Ok(Found::Nothing);
    }
    let deadline = Instant::now() + TEARDOWN_LIMIT;
    loop {
        let state = StateFile::read(&paths.state_file())?;
        let monitor = state.as_ref().map(|state| state.monitor.pid);
        // An init that outlived its monitor still runs the container: a verb stops it (or
        // refuses to act on a running container) rather than have it removed as debris.
        if let Some(state) = state.filter(|state| state.init.is_alive()) {
            crate::create::freeze_guard::thaw_abandoned(paths, &state);
            return Ok(Found::Alive(Box::new(state)));
        }
        if !crate::lock::is_held(paths) {
            break;
        }
        // A monitor between init's end and its own (or its last child removing its
        // cgroup), or one still starting whose `rlxc start` was killed: neither takes long.
        if Instant::now() >= deadline {
            return Err(LeftoverError::StillEnding {
                monitor,
                waited: TEARDOWN_LIMIT,
            });
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if !paths.run_dir().exists() {
        return Ok(Found::Nothing);
    }
    clear(paths).map(Found::Cleared)
}

/// Removes what a crashed run left: its processes, its network, its cgroups, then its run
/// directory; an error if any of it stays.
fn clear(paths: &ContainerPaths) -> Result<Cleared, LeftoverError> {
    let mut cleared = Cleared::default();
    let state = StateFile::read(&paths.state_file())?;
    let mut cgroups = planned_cgroups(paths);
    if let Some(state) = &state {
        cgroups.extend(state.cgroups.iter().cloned());
        cgroups.extend(state.monitor_cgroups.iter().cloned());
    }
    cgroups.sort();
    cgroups.dedup();
    let existing: Vec<PathBuf> = cgroups.into_iter().filter(|dir| dir.exists()).collect();
    cleared.cgroups = existing.len();
    let cgroups = ContainerCgroups::from_paths(existing);
    // Whatever is left in its cgroups goes before the network is undone: a NIC lent to the
    // container comes home only once its namespace is gone.
    cgroups.kill_all().map_err(LeftoverError::Cgroups)?;
    if let Some(state) = &state {
        cleared.network_problems = crate::monitor::recover_network_after_crash(paths, state);
    }
    cgroups
        .remove(CGROUP_REMOVE_TIMEOUT)
        .map_err(LeftoverError::Cgroups)?;
    // The container's end, which its dead monitor could not tell the watchers.
    crate::monitor::remove_run_dir_stopped(paths);
    clear_abandoned_removals(paths.run_root());
    let run_dir = paths.run_dir();
    if run_dir.exists() {
        return Err(LeftoverError::Remains { path: run_dir });
    }
    Ok(cleared)
}

/// Run directories being removed (`.removed.PID`, see `monitor::teardown`) whose remover
/// was killed half-way: removed by whoever clears a crashed run next.
fn clear_abandoned_removals(run_root: &Path) {
    let Ok(entries) = fs::read_dir(run_root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(".removed."))
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_what_went() {
        let cleared = Cleared {
            cgroups: 3,
            network_problems: vec!["veth1: no such device".into()],
        };
        assert_eq!(
            cleared.to_string(),
            "removed what a crashed run of it left: 3 cgroup directories; its run directory; \
             not undone: veth1: no such device"
        );
    }

    #[test]
    fn planned_cgroups_are_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = ContainerPaths::with_run_root(Path::new("/srv/x"), "web", dir.path());
        fs::create_dir_all(paths.run_dir()).expect("run dir");
        assert!(planned_cgroups(&paths).is_empty());
        let leaves = vec![PathBuf::from("/sys/fs/cgroup/memory/rlxc.payload.web")];
        record_planned_cgroups(&paths, &leaves).expect("record");
        assert_eq!(planned_cgroups(&paths), leaves);
    }
}
