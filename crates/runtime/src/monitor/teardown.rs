//! Undoing a container: what one start made, in reverse order. The monitor runs this when
//! init exits or a start fails; what a killed monitor could not undo is
//! [`crate::leftovers`]'s.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{getpid, pidfd_open, PidfdFlags};

use rlxc_cgroup::ContainerCgroups;

use super::cgroups::MonitorCgroup;
use super::network::NetworkGuard;
use crate::paths::ContainerPaths;
use crate::process::fork::{clone3, exit_child, Forked};
use crate::state::{ProcessId, StateFile};

/// How long removing the cgroups may wait for the last processes to go.
const CGROUP_REMOVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything one start made, recorded the moment it existed.
pub(crate) struct Made {
    paths: ContainerPaths,
    pub cgroups: Option<ContainerCgroups>,
    pub monitor_cgroup: Option<MonitorCgroup>,
    pub socket: Option<PathBuf>,
    pub init: Option<ProcessId>,
    pub network: Option<NetworkGuard>,
    /// The /proc view's server until the event loop takes it over.
    pub procview: Option<crate::procview::Server>,
    /// The container's namespaces, held for its stop hooks (`/proc/MONITOR/fd/N`, as LXC
    /// hands them over) when it has any; let go of once they have run.
    pub namespaces: Vec<(&'static str, std::os::fd::OwnedFd)>,
    /// Keeps the container from remounting its rootfs's filesystem read-only for the host
    /// (see `rootfs_pin`); let go of once its processes are gone.
    pub rootfs_pin: Option<std::os::fd::OwnedFd>,
}

impl Made {
    pub fn new(paths: ContainerPaths) -> Made {
        Made {
            paths,
            cgroups: None,
            monitor_cgroup: None,
            socket: None,
            init: None,
            network: None,
            procview: None,
            namespaces: Vec::new(),
            rootfs_pin: None,
        }
    }

    pub fn monitor_cgroup_paths(&self) -> Vec<PathBuf> {
        self.monitor_cgroup
            .as_ref()
            .map(MonitorCgroup::paths)
            .unwrap_or_default()
    }

    /// Writes the state file; the monitor keeps no copy (nothing reads it back, and the
    /// effective config in it would stay in the monitor's memory for the container's life).
    pub fn write_state(&self, state: StateFile) -> Result<(), crate::state::StateError> {
        state.write(&self.paths.state_file())?;
        Ok(())
    }

    /// Removes everything, newest first: processes, cgroups, socket, state, run directory.
    /// The monitor's own cgroup and the run directory may go only after the monitor has
    /// exited: see [`hand_over_to_last_child`].
    pub fn undo(&mut self) {
        self.undo_container();
        match self.monitor_cgroup.take() {
            // The user's pivot: the monitor goes there and its own cgroups go at once.
            Some(monitor) if monitor.leave_to_pivot() => {
                if let Err(e) = monitor.remove_now() {
                    crate::log_error!("removing the monitor's cgroups: {e}");
                }
                remove_run_dir_stopped(&self.paths);
            }
            Some(monitor) if monitor.born_inside => {
                if let Some(monitor) = hand_over_to_last_child(monitor, &self.paths) {
                    // No child to be had: then the move home (and its wait) is ours.
                    monitor.leave_unified();
                    monitor.leave();
                    remove_run_dir_stopped(&self.paths);
                }
            }
            // No cgroup2 on this host: the v1 moves home do not wait.
            Some(monitor) => {
                monitor.leave();
                remove_run_dir_stopped(&self.paths);
            }
            None => remove_run_dir_stopped(&self.paths),
        }
    }

    /// What the container itself made, for a reboot in place: the monitor's cgroup, the run
    /// directory and the lock in it stay.
    pub fn undo_container(&mut self) {
        // Killed and reaped first: it lives in the monitor's cgroup.
        drop(self.procview.take());
        // Interfaces `rlxc device` added go home first, from the pinned namespace.
        let device_pin = crate::device::send_home_at_stop(&self.paths);
        if let Some(network) = self.network.take() {
            network.undo();
        }
        if let Some(pin) = device_pin {
            super::unpin_netns(&pin);
        }
        if let Some(cgroups) = self.cgroups.take() {
            // Usually empty already: init's exit took its pid namespace with it.
            if !cgroups.remove_if_empty() {
                if let Err(e) = cgroups.kill_all() {
                    crate::log_error!("killing what is left in the container's cgroups: {e}");
                }
                if let Err(e) = cgroups.remove(CGROUP_REMOVE_TIMEOUT) {
                    crate::log_error!("removing the container's cgroups: {e}");
                }
            }
        }
        if let Some(socket) = self.socket.take() {
            if let Err(e) = fs::remove_file(&socket).or_else(gone_already) {
                crate::log_error!("removing the control socket {}: {e}", socket.display());
            }
        }
        drop(self.rootfs_pin.take());
    }
}

/// The monitor's last act when it was born in its cgroup2 cgroup: leaving it would wait for
/// an RCU grace period (see `MonitorCgroup`), so it stays there to the end, and a last child,
/// forked straight into the cgroup rlxc was started in, removes the monitor's cgroups once
/// the monitor has exited (a process that exited is in no cgroup), then the run directory.
/// The child inherits the container's lock and holds it until then, so whoever waits for the
/// lock ([`crate::lock::TeardownWatch`]) sees everything gone. Gives the cgroup back when no
/// such child could be made.
fn hand_over_to_last_child(
    monitor: MonitorCgroup,
    paths: &ContainerPaths,
) -> Option<MonitorCgroup> {
    let Ok(this_monitor) = pidfd_open(getpid(), PidfdFlags::empty()) else {
        return Some(monitor);
    };
    let Some(home) = monitor.unified_home_fd() else {
        return Some(monitor);
    };
    match clone3(0, Some(home.as_raw_fd())) {
        Ok(Forked::Child) => {
            // Born in the cgroups rlxc was started in: in cgroup2 by clone3, in v1 because the
            // monitor has no cgroups of its own there where the host has cgroup2 (the only
            // hosts with a last child: see `monitor_layout`).
            let mut fds = [PollFd::new(&this_monitor, PollFlags::IN)];
            while let Err(rustix::io::Errno::INTR) = poll(&mut fds, None) {}
            monitor.remove();
            remove_run_dir_stopped(paths);
            exit_child(0)
        }
        Ok(Forked::Parent { .. }) => None,
        Err(_) => Some(monitor),
    }
}

/// The run directory goes last; the lock inside it is released when the monitor exits.
/// Renamed out of the way first, so it vanishes at once: removing it in place deletes the
/// state file first, and a `wait -s STOPPED` woken by that would see the directory still
/// there (a `start` right after would find it too).
pub(crate) fn remove_run_dir(paths: &ContainerPaths) {
    let run_dir = paths.run_dir();
    let doomed = run_dir.with_file_name(format!(".removed.{}", std::process::id()));
    match fs::rename(&run_dir, &doomed) {
        Ok(()) => {
            if let Err(e) = fs::remove_dir_all(&doomed).or_else(gone_already) {
                crate::log_error!("removing the run directory {}: {e}", doomed.display());
            }
        }
        Err(_) => {
            if let Err(e) = fs::remove_dir_all(&run_dir).or_else(gone_already) {
                crate::log_error!("removing the run directory {}: {e}", run_dir.display());
            }
        }
    }
}

/// The run directory goes, and with it the last of the container: STOPPED for the watchers
/// (`rlxc wait -s STOPPED` then finds nothing left).
pub(crate) fn remove_run_dir_stopped(paths: &ContainerPaths) {
    remove_run_dir(paths);
    crate::events::state_changed(paths, crate::state::State::Stopped);
}

/// A removal of what is not there is no failure.
fn gone_already(error: std::io::Error) -> std::io::Result<()> {
    match error.kind() {
        std::io::ErrorKind::NotFound => Ok(()),
        _ => Err(error),
    }
}
