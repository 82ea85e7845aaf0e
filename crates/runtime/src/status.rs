//! A container's current state, read from its state file, and waiting for a state without
//! polling: the events journal (see [`crate::events`]) for every change rlxc makes, inotify on
//! the run directories and the pidfds of init and the monitor for what a crash leaves
//! untold, and cgroup2's `cgroup.events` for a freeze made through the cgroup file. Only a
//! v1 freezer, which tells nobody, is looked at again while its state matters.

use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify;

use crate::paths::ContainerPaths;
use crate::state::{State, StateFile};

/// The state and, while it runs (or is being torn down), the state file.
pub fn current(paths: &ContainerPaths) -> (State, Option<StateFile>) {
    match StateFile::read(&paths.state_file()) {
        Ok(Some(state)) if state.init.is_alive() => (live_state(&state), Some(state)),
        // Init is gone but its monitor still tears down (cgroups, network), or the monitor's
        // last child removes the monitor's cgroup: not STOPPED yet, so `wait -s STOPPED`
        // returns only once nothing of the container is left.
        Ok(Some(state)) if state.monitor.is_alive() || crate::lock::is_held(paths) => {
            (State::Stopping, Some(state))
        }
        // A start holds the lock before init runs and the state file is written.
        Ok(None) if crate::lock::is_held(paths) => (State::Starting, None),
        _ => (State::Stopped, None),
    }
}

/// How often `wait_for` looks at a v1 freezer that says FREEZING, and at one that matters
/// otherwise (frozen, or a freeze state awaited).
const FREEZING_RECHECK: Duration = Duration::from_millis(20);
const FREEZER_RECHECK: Duration = Duration::from_millis(100);

/// A freeze or thaw need not come from `rlxc freeze` (which touches the state file): one
/// through the cgroup file shows in the freezer only. cgroup2 announces it in
/// `cgroup.events` (watched here); a v1 freezer tells nobody, so it is looked at again after
/// the returned time while its state matters to this wait.
fn watch_freezer(
    file: &StateFile,
    state: State,
    wanted: &[State],
    watcher: &impl std::os::fd::AsFd,
) -> Option<Duration> {
    let freezer = file.freezer.as_ref()?;
    if freezer.ends_with("cgroup.freeze") {
        let events = freezer.with_file_name("cgroup.events");
        let _ = inotify::add_watch(watcher, events, inotify::WatchFlags::MODIFY);
        return None;
    }
    let freeze_awaited = wanted
        .iter()
        .any(|w| matches!(w, State::Frozen | State::Freezing | State::Thawed));
    match state {
        State::Freezing => Some(FREEZING_RECHECK),
        State::Frozen => Some(FREEZER_RECHECK),
        State::Running if freeze_awaited => Some(FREEZER_RECHECK),
        _ => None,
    }
}

/// The state of a container whose init lives: what its monitor recorded (STARTING,
/// RUNNING, ...), and for a running one what its freezer says (FROZEN, FREEZING).
pub(crate) fn live_state(file: &StateFile) -> State {
    match file.state {
        // FREEZING, FROZEN and THAWED only in state files of rlxc before the freezer was
        // the place of the freeze state.
        State::Running | State::Freezing | State::Frozen | State::Thawed => {
            crate::resources::live_freeze_state(file)
        }
        other => other,
    }
}

/// Waits until the container is in one of `wanted`; false when `timeout` ran out first.
pub fn wait_for(
    paths: &ContainerPaths,
    wanted: &[State],
    timeout: Option<Duration>,
) -> std::io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    // First, so no change after the look at the state below is missed. Without it (an
    // unwritable run root) the run directory's files and the pidfds still wake this wait.
    let mut events =
        crate::events::Watch::new(paths.run_root(), std::slice::from_ref(&paths.lxcpath)).ok();
    let run_root = paths
        .run_dir()
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let _ = std::fs::create_dir_all(&run_root);
    let watcher = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
    let changes = inotify::WatchFlags::CREATE
        | inotify::WatchFlags::MOVED_TO
        | inotify::WatchFlags::DELETE
        | inotify::WatchFlags::CLOSE_WRITE
        // freeze and unfreeze touch the state file (the freezer holds that state).
        | inotify::WatchFlags::ATTRIB;
    inotify::add_watch(&watcher, &run_root, changes)?;
    let mut was_frozen = false;
    loop {
        // Watch the run directory too once it exists (the state file is renamed into it).
        let _ = inotify::add_watch(&watcher, paths.run_dir(), changes);
        let (state, file) = current(paths);
        if wanted.contains(&state) {
            return Ok(true);
        }
        // THAWED is the moment a frozen container runs again: seen as that change.
        was_frozen |= matches!(state, State::Frozen | State::Freezing);
        if was_frozen && state == State::Running && wanted.contains(&State::Thawed) {
            return Ok(true);
        }
        // While running, init's exit (STOPPING: the monitor writes no state for it) and the
        // monitor's (STOPPED, or its last child's lock) are the changes the files do not show.
        let pidfd = |pid: i32| crate::process::pidfd::open(pid).ok();
        let init = file
            .as_ref()
            .filter(|_| state != State::Stopping)
            .and_then(|f| pidfd(f.init.pid));
        let monitor = file.as_ref().and_then(|f| pidfd(f.monitor.pid));
        let remaining = match deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) => Some(left),
                None => return Ok(false),
            },
            None => None,
        };
        let remaining = match file
            .as_ref()
            .and_then(|f| watch_freezer(f, state, wanted, &watcher))
        {
            Some(recheck) => Some(remaining.map_or(recheck, |r| r.min(recheck))),
            None => remaining,
        };
        let spec = remaining.map(|d| Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        let mut fds = vec![PollFd::new(&watcher, PollFlags::IN)];
        if let Some(events) = &events {
            fds.push(PollFd::new(events, PollFlags::IN));
        }
        fds.extend(
            [&init, &monitor]
                .into_iter()
                .flatten()
                .map(|pidfd| PollFd::new(pidfd, PollFlags::IN)),
        );
        match poll(&mut fds, spec.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        drop(fds);
        // A change this container made into a wanted state is what was awaited, also one
        // gone by the time its state is read (THAWED, STOPPING, ABORTING).
        let reached = events.as_mut().is_some_and(|events| {
            events
                .take()
                .iter()
                .any(|e| e.name == paths.name && e.state.is_some_and(|s| wanted.contains(&s)))
        });
        if reached {
            return Ok(true);
        }
        drain(&watcher);
    }
}

fn drain(watcher: &impl std::os::fd::AsFd) {
    let mut buffer = [0u8; 4096];
    while matches!(rustix::io::read(watcher, &mut buffer), Ok(n) if n > 0) {}
}
