//! Stopping a container, LXC's way: the halt signal, a wait, then a kill. Works from the state
//! file alone, so a container whose monitor died can still be stopped, and cleans up after
//! such a monitor.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_send_signal, Signal};

use crate::leftovers::{Cleared, Found, LeftoverError};
use crate::lock::{OperationLock, TeardownWatch};
use crate::paths::ContainerPaths;
use crate::state::{ProcessId, StateFile};

/// How the monitor's own teardown (cgroups, run dir) may take after init is gone.
const MONITOR_TEARDOWN: Duration = Duration::from_secs(15);

#[derive(Debug, Clone)]
pub struct StopOptions {
    /// The clean-shutdown signal where `lxc.signal.halt` sets one. Unset, a sysvinit init is
    /// asked for runlevel 0 through its `/run/initctl` (see [`crate::initctl`]), and any
    /// other init gets what LXC sends: see [`halt_signal_of`].
    pub halt_signal: Option<i32>,
    /// The hard-stop signal (`lxc.signal.stop`, SIGKILL by default).
    pub stop_signal: i32,
    /// `None` waits forever (`-t -1`).
    pub timeout: Option<Duration>,
    /// `-k`: no clean shutdown.
    pub kill: bool,
    /// `--nokill`: never escalate.
    pub nokill: bool,
    /// `-W`: send and return.
    pub nowait: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopOutcome {
    /// It was not running (LXC's exit 2); what a crashed run had left was removed.
    NotRunning { cleared: Option<Cleared> },
    /// Stopped cleanly by the halt request.
    Halted { request: HaltRequest },
    /// Killed: `-k`, or the timeout ran out, or init showed it ignores the halt signal.
    Killed {
        after_timeout: bool,
        halt_ignored: bool,
    },
    /// `--nokill`, and init ignores the halt signal: it is still running.
    HaltIgnored,
    /// `-W`: the signal was sent.
    Signalled,
    /// `--nokill` and the timeout ran out: still running.
    StillRunning,
}

/// How init was asked to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HaltRequest {
    Signal(i32),
    /// `telinit 0`'s request, written to sysvinit's FIFO (`/run/initctl`).
    Initctl {
        fifo: &'static str,
    },
}

impl std::fmt::Display for HaltRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HaltRequest::Signal(signal) => {
                write!(
                    f,
                    "signal {signal} ({})",
                    rlxc_config::values::Signal(*signal)
                )
            }
            HaltRequest::Initctl { fifo } => {
                write!(f, "runlevel 0 through /{fifo} (as `telinit 0` does)")
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StopError {
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("signalling init (pid {pid}): {cause}")]
    Signal { pid: i32, cause: rustix::io::Errno },
    #[error("waiting for init (pid {pid}): {cause}")]
    Wait { pid: i32, cause: rustix::io::Errno },
    #[error("the container is frozen and could not be thawed to take the signal: {0}")]
    Thaw(rlxc_cgroup::Error),
    #[error(transparent)]
    Leftovers(#[from] LeftoverError),
}

/// Whether init takes `signal` at all: it has a handler (`SigCgt`) or blocks it to collect
/// it with sigwaitinfo/signalfd (`SigBlk`, as busybox init and systemd do). The init of a pid
/// namespace never receives a signal it neither handles nor blocks, so a halt signal like
/// that would do nothing.
pub fn catches_signal(pid: i32, signal: i32) -> Option<bool> {
    let taken = signal_mask(pid, "SigCgt:")? | signal_mask(pid, "SigBlk:")?;
    Some((1..=64).contains(&signal) && taken & (1u64 << (signal - 1)) != 0)
}

/// systemd halts on SIGRTMIN+3 (and starts only `sigpwr.target` on SIGPWR, which does
/// nothing in a Debian guest).
const SYSTEMD_HALT: i32 = 37;

/// The halt signal where the config names none: SIGRTMIN+3 for an init that blocks it to take
/// it (systemd), as LXC decides, else SIGPWR.
pub fn halt_signal_of(pid: i32, configured: Option<i32>) -> i32 {
    configured.unwrap_or_else(|| {
        if blocks_signal(pid, SYSTEMD_HALT) {
            SYSTEMD_HALT
        } else {
            crate::state::Effective::DEFAULT_HALT_SIGNAL
        }
    })
}

fn blocks_signal(pid: i32, signal: i32) -> bool {
    signal_mask(pid, "SigBlk:").is_some_and(|mask| mask & (1u64 << (signal - 1)) != 0)
}

fn signal_mask(pid: i32, field: &str) -> Option<u64> {
    // Lossy: the Name: line holds the process's name, which need not be UTF-8.
    let status =
        String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/status")).ok()?).into_owned();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

/// After this long without exiting, an init that shows no handler for the halt signal is
/// taken to ignore it (it would sit out the whole timeout otherwise). Inits that handle it,
/// such as busybox's, have exited by then.
const HALT_GRACE: Duration = Duration::from_secs(3);

/// When the halt signal is sent a second time, for an init that was not ready the first time.
const RESEND_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, PartialEq, Eq)]
enum Halt {
    Exited,
    /// Still running after a grace period, with no handler for the signal.
    Ignored,
    TimedOut,
}

/// Waits for init to exit after the halt signal. /proc's handler masks are a hint, not the
/// truth (busybox init takes SIGPWR without a handler showing there), so they are only asked
/// once init has had `HALT_GRACE` to react.
fn wait_for_halt(
    init: &OwnedFd,
    pid: i32,
    request: HaltRequest,
    options: &StopOptions,
) -> Result<Halt, StopError> {
    let wait = |limit| wait_exit(init, limit).map_err(|cause| StopError::Wait { pid, cause });
    let HaltRequest::Signal(halt_signal) = request else {
        // sysvinit read the request whole from its FIFO, or it did not take it at all: there
        // is nothing to send again, and no handler mask to ask.
        return Ok(if wait(options.timeout)? {
            Halt::Exited
        } else {
            Halt::TimedOut
        });
    };
    let grace = options.timeout.map_or(HALT_GRACE, |t| t.min(HALT_GRACE));
    // An init that started moments ago may not take signals yet (a pid namespace's init
    // drops what it has no handler for): one more halt signal a second in gives it a chance.
    let first = grace.min(RESEND_AFTER);
    if wait(Some(first))? {
        return Ok(Halt::Exited);
    }
    signal(init, pid, halt_signal)?;
    if wait(Some(grace.saturating_sub(first)))? {
        return Ok(Halt::Exited);
    }
    if catches_signal(pid, halt_signal) == Some(false) {
        return Ok(Halt::Ignored);
    }
    let rest = options.timeout.map(|t| t.saturating_sub(grace));
    Ok(if wait(rest)? {
        Halt::Exited
    } else {
        Halt::TimedOut
    })
}

/// A pidfd for a recorded process, only if it is still that very process.
fn open_verified(process: &ProcessId) -> Option<OwnedFd> {
    let fd = crate::process::pidfd::open(process.pid).ok()?;
    // Checked after opening: the pidfd now pins the process, so the identity cannot change.
    process.is_alive().then_some(fd)
}

/// Waits until the process behind `pidfd` exits; false when `timeout` ran out first.
fn wait_exit(pidfd: &OwnedFd, timeout: Option<Duration>) -> Result<bool, rustix::io::Errno> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let remaining = match deadline {
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(false);
                }
                Some(deadline - now)
            }
            None => None,
        };
        let spec = remaining.map(|d| Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        match poll(&mut fds, spec.as_ref()) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// A frozen container's processes take no signal until they are thawed, so a stop or a
/// reboot that only signalled a frozen container would wait for ever (LXC's stop thaws too).
/// Thawed right after the signal, so the first thing init does once it runs again is to take
/// it. Nothing to do where the container is not frozen or its cgroup is already gone.
fn thaw_to_take(state: &StateFile) -> Result<(), StopError> {
    match crate::resources::thaw_recorded(state) {
        Ok(()) => Ok(()),
        Err(_) if crate::resources::live_freeze_state(state) == crate::state::State::Running => {
            Ok(())
        }
        Err(source) => Err(StopError::Thaw(source)),
    }
}

fn signal(fd: &OwnedFd, pid: i32, signo: i32) -> Result<(), StopError> {
    let signal = Signal::from_named_raw(signo).unwrap_or(Signal::KILL);
    match pidfd_send_signal(fd, signal) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => Ok(()),
        Err(source) => Err(StopError::Signal { pid, cause: source }),
    }
}

/// Where a stop or reboot starts from: the running container's state file, or why there is
/// nothing to stop. Without the operation lock (`stop -k --nolock`) only the state file is
/// read, and nothing a crash left is removed.
fn running(
    paths: &ContainerPaths,
    operation: Option<&OperationLock>,
) -> Result<Result<StateFile, Option<Cleared>>, StopError> {
    let found = match operation {
        Some(operation) => crate::leftovers::settle(paths, operation)?,
        None => match StateFile::read(&paths.state_file())? {
            Some(state) if state.init.is_alive() => Found::Alive(Box::new(state)),
            _ => Found::Nothing,
        },
    };
    Ok(match found {
        Found::Alive(state) => Ok(*state),
        Found::Nothing => Err(None),
        Found::Cleared(cleared) => Err(Some(cleared)),
    })
}

/// Stops the container recorded in `paths`' state file. The caller holds the container's
/// operation lock (`None` only for `stop -k --nolock`).
pub fn stop(
    paths: &ContainerPaths,
    options: &StopOptions,
    operation: Option<&OperationLock>,
) -> Result<StopOutcome, StopError> {
    let state = match running(paths, operation)? {
        Ok(state) => state,
        Err(cleared) => return Ok(StopOutcome::NotRunning { cleared }),
    };
    let Some(init) = open_verified(&state.init) else {
        // It ended in between: what its monitor leaves is waited for, and a crash's removed.
        let cleared = match operation.map(|op| crate::leftovers::settle(paths, op)) {
            Some(Ok(Found::Cleared(cleared))) => Some(cleared),
            Some(Err(error)) => return Err(error.into()),
            _ => None,
        };
        return Ok(StopOutcome::NotRunning { cleared });
    };
    // Opened now, while this run's lock file is where the state file says.
    let teardown = TeardownWatch::open(paths);
    let pid = state.init.pid;
    let outcome = if options.kill {
        signal(&init, pid, options.stop_signal)?;
        thaw_to_take(&state)?;
        StopOutcome::Killed {
            after_timeout: false,
            halt_ignored: false,
        }
    } else {
        let request = ask_to_halt(&init, pid, options.halt_signal)?;
        thaw_to_take(&state)?;
        if options.nowait {
            return Ok(StopOutcome::Signalled);
        }
        match wait_for_halt(&init, pid, request, options)? {
            Halt::Exited => StopOutcome::Halted { request },
            Halt::Ignored if options.nokill => return Ok(StopOutcome::HaltIgnored),
            Halt::TimedOut if options.nokill => return Ok(StopOutcome::StillRunning),
            halt => {
                signal(&init, pid, options.stop_signal)?;
                // Frozen again while we waited: it would not die.
                thaw_to_take(&state)?;
                StopOutcome::Killed {
                    after_timeout: true,
                    halt_ignored: halt == Halt::Ignored,
                }
            }
        }
    };
    if !options.nowait {
        wait_exit(&init, None).map_err(|cause| StopError::Wait { pid, cause })?;
        wait_for_teardown(paths, &state, teardown, operation)?;
    }
    Ok(outcome)
}

/// Sends the halt signal, or, where none is set and init is sysvinit, writes `telinit 0`'s
/// request to its FIFO: sysvinit maps SIGPWR to the inittab's powerfail entry, which need
/// not halt (Debian's does not).
fn ask_to_halt(
    init: &OwnedFd,
    pid: i32,
    halt_signal: Option<i32>,
) -> Result<HaltRequest, StopError> {
    let request = match halt_signal {
        Some(signal) => HaltRequest::Signal(signal),
        None => match crate::initctl::request(pid, crate::initctl::Runlevel::Halt) {
            Ok(fifo) => HaltRequest::Initctl { fifo },
            Err(why) => {
                crate::log_debug!("halt: not through initctl ({why})");
                HaltRequest::Signal(halt_signal_of(pid, None))
            }
        },
    };
    if let HaltRequest::Signal(signo) = request {
        signal(init, pid, signo)?;
    }
    crate::log_info!("halt: asked init (pid {pid}) to shut down with {request}");
    Ok(request)
}

/// Init is gone: the monitor now tears down, and its last child removes the monitor's own
/// cgroup and the run directory; wait for both (the monitor's pidfd, then the lock), and
/// clean up ourselves after a monitor that died without doing so. A monitor that does not
/// finish in time is an error: the stop is not done while anything of the container is left.
fn wait_for_teardown(
    paths: &ContainerPaths,
    state: &StateFile,
    teardown: TeardownWatch,
    operation: Option<&OperationLock>,
) -> Result<(), StopError> {
    if let Some(monitor) = open_verified(&state.monitor) {
        if !matches!(wait_exit(&monitor, Some(MONITOR_TEARDOWN)), Ok(true)) {
            return Err(LeftoverError::StillEnding {
                monitor: Some(state.monitor.pid),
                waited: MONITOR_TEARDOWN,
            }
            .into());
        }
    }
    if !teardown.wait_for(MONITOR_TEARDOWN) {
        return Err(LeftoverError::StillEnding {
            monitor: None,
            waited: MONITOR_TEARDOWN,
        }
        .into());
    }
    if let Some(operation) = operation {
        crate::leftovers::settle(paths, operation)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_mask_is_read_from_proc() {
        // A fresh `sleep` neither handles nor blocks SIGPWR (30); std clears the signal mask
        // of the processes it spawns, whatever other test threads block.
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = sleeper.id() as i32;
        let taken = catches_signal(pid, 30);
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert_eq!(taken, Some(false));
        assert_eq!(catches_signal(i32::MAX, 30), None);
    }
}

/// How a reboot request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebootOutcome {
    NotRunning {
        cleared: Option<Cleared>,
    },
    /// A new init runs (its pid).
    Restarted {
        pid: i32,
    },
    /// `-W`: the signal was sent.
    Signalled,
    /// Init did not restart within the timeout.
    TimedOut,
}

/// `stop -r`: sends the reboot signal; the container's init reboots (reboot(2) in its pid
/// namespace ends it with SIGHUP) and the monitor starts it again in place.
pub fn reboot(
    paths: &ContainerPaths,
    reboot_signal: i32,
    timeout: Option<Duration>,
    nowait: bool,
    operation: &OperationLock,
) -> Result<RebootOutcome, StopError> {
    let state = match running(paths, Some(operation))? {
        Ok(state) => state,
        Err(cleared) => return Ok(RebootOutcome::NotRunning { cleared }),
    };
    let Some(init) = open_verified(&state.init) else {
        return Ok(RebootOutcome::NotRunning { cleared: None });
    };
    let pid = state.init.pid;
    signal(&init, pid, reboot_signal)?;
    thaw_to_take(&state)?;
    if nowait {
        return Ok(RebootOutcome::Signalled);
    }
    let started = Instant::now();
    if !wait_exit(&init, timeout).map_err(|cause| StopError::Wait { pid, cause })? {
        return Ok(RebootOutcome::TimedOut);
    }
    let left = timeout.map(|t| t.saturating_sub(started.elapsed()));
    let running =
        crate::status::wait_for(paths, &[crate::state::State::Running], left).map_err(|e| {
            StopError::Wait {
                pid,
                cause: rustix::io::Errno::from_io_error(&e).unwrap_or(rustix::io::Errno::IO),
            }
        })?;
    match crate::status::current(paths) {
        (crate::state::State::Running, Some(file)) if running => {
            Ok(RebootOutcome::Restarted { pid: file.init.pid })
        }
        _ => Ok(RebootOutcome::TimedOut),
    }
}
