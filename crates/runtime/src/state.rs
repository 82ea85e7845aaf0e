//! The state file of a running container, `RUN_DIR/state.json`.
//!
//! The monitor writes it (atomically) once init runs and whenever the state changes; the CLI
//! reads it to find init and the monitor without asking the monitor, so `stop`, `info` and
//! `attach` still work if the monitor died. A pid alone could have been reused by the time it
//! is read, so each pid comes with its start time from `/proc/PID/stat`, checked before use.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// LXC's container states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Stopped,
    Starting,
    Running,
    Stopping,
    Aborting,
    Freezing,
    Frozen,
    Thawed,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Stopped,
        State::Starting,
        State::Running,
        State::Stopping,
        State::Aborting,
        State::Freezing,
        State::Frozen,
        State::Thawed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            State::Stopped => "STOPPED",
            State::Starting => "STARTING",
            State::Running => "RUNNING",
            State::Stopping => "STOPPING",
            State::Aborting => "ABORTING",
            State::Freezing => "FREEZING",
            State::Frozen => "FROZEN",
            State::Thawed => "THAWED",
        }
    }

    pub fn from_name(name: &str) -> Option<State> {
        State::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A process identified beyond its pid: the start time (clock ticks since boot, field 22 of
/// `/proc/PID/stat`) tells a live process from a later one that got the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessId {
    /// Reads the start time of `pid` from `/proc`; `None` if it is gone.
    pub fn of(pid: i32) -> Option<ProcessId> {
        stat_of(pid).map(|(_, start_time)| ProcessId { pid, start_time })
    }

    /// True while this very process (not a successor with the same pid) is alive. A zombie
    /// is not: it has exited and only waits for its parent to reap it.
    pub fn is_alive(&self) -> bool {
        matches!(stat_of(self.pid), Some((state, start_time))
            if start_time == self.start_time && !matches!(state, 'Z' | 'X'))
    }
}

/// The state letter (field 3) and start time (field 22) of `/proc/PID/stat`, in one read.
fn stat_of(pid: i32) -> Option<(char, u64)> {
    // Room for the whole line up front: one read, where `fs::read_to_string` would ask for
    // the size (0 for a /proc file) and then read in growing pieces (six reads).
    let mut stat = Vec::with_capacity(1024);
    fs::File::open(format!("/proc/{pid}/stat"))
        .ok()?
        .read_to_end(&mut stat)
        .ok()?;
    // The command name (field 2) may contain spaces and ')', and any bytes, not only UTF-8
    // (the kernel cuts a name at 15 bytes, inside a character if need be, and a process may
    // set its own): fields start after the last ')', and only they are read as text.
    let after_name = stat.iter().rposition(|b| *b == b')')? + 1;
    let mut fields = std::str::from_utf8(&stat[after_name..])
        .ok()?
        .split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start_time = fields.nth(18)?.parse().ok()?;
    Some((state, start_time))
}

/// What the monitor records about a running container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    pub name: String,
    pub lxcpath: PathBuf,
    /// The config the container was started from.
    pub config: PathBuf,
    pub state: State,
    pub monitor: ProcessId,
    pub init: ProcessId,
    /// Every cgroup directory made for the container (one per hierarchy), to remove at stop.
    pub cgroups: Vec<PathBuf>,
    /// Each leaf of `cgroups` with its hierarchy's controllers, to reopen them without a look
    /// at every hierarchy (see [`StateFile::container_cgroups`]).
    #[serde(default)]
    pub cgroup_leaves: Vec<rlxc_cgroup::LeafRecord>,
    /// Host network interfaces made for the container, to delete at stop.
    #[serde(default)]
    pub host_links: Vec<String>,
    /// Host NICs lent to the container (`type = phys`), to send home at stop.
    #[serde(default)]
    pub phys_links: Vec<rlxc_net::container::PhysRecord>,
    /// What `rlxc device add` gave the running container: NICs to send home at stop (as
    /// `phys_links`) and the device rules, which a cgroup2 program must keep when it is
    /// replaced for the next one.
    #[serde(default)]
    pub added: AddedDevices,
    /// The bind mount keeping the container's network namespace alive while it holds host
    /// NICs, so they come home even after a monitor crash.
    #[serde(default)]
    pub netns_pin: Option<PathBuf>,
    /// The network namespace (inode) the monitor ran in; links are cleaned up only from there.
    #[serde(default)]
    pub host_netns: Option<u64>,
    /// The monitor's own cgroup directories (`rlxc.monitor.NAME`), removed with the rest.
    #[serde(default)]
    pub monitor_cgroups: Vec<PathBuf>,
    /// The file of the container's freezer (v1 `freezer.state` or cgroup2 `cgroup.freeze`),
    /// which holds its freeze state.
    #[serde(default)]
    pub freezer: Option<PathBuf>,
    /// Unix time the container started.
    pub started_at: u64,
    /// The /proc view's server answers the container's sysinfo(2) (init got the notify
    /// filter): `rlxc attach` hands its command's sysinfo to it too.
    #[serde(default)]
    pub sysinfo_view: bool,
    /// What later verbs need of the config the container runs with: the file's as `start -s`
    /// changed it, resolved once (the file may change or go while the container runs).
    /// `None` in state files of an rlxc before it was recorded.
    #[serde(default)]
    pub effective: Option<Effective>,
}

/// See [`StateFile::added`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedDevices {
    /// Host NICs moved in, in order.
    #[serde(default)]
    pub links: Vec<rlxc_net::container::PhysRecord>,
    /// Device rules in order: `(allow, "c 10:229 rwm")`.
    #[serde(default)]
    pub rules: Vec<(bool, String)>,
}

/// The effective config of a running container, as `stop`, `attach` and `info` need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective {
    /// `lxc.signal.halt` where it is set: unset, `stop` asks a sysvinit init through its
    /// FIFO and signals others with SIGPWR (see [`crate::stop::StopOptions`]).
    pub halt_signal: Option<i32>,
    /// `lxc.signal.reboot` and `.stop`, with LXC's defaults applied.
    pub reboot_signal: i32,
    pub stop_signal: i32,
    /// `lxc.init.uid` / `lxc.init.gid`: whom an attached command runs as by default.
    pub init_uid: u32,
    pub init_gid: u32,
    /// Every key and value, as `rlxc config show` renders them (`info -c KEY` reads these).
    pub config: Vec<(String, String)>,
}

impl Effective {
    /// LXC's defaults: SIGPWR halts (an init neither sysvinit nor systemd, where
    /// `lxc.signal.halt` is unset), SIGINT reboots, SIGKILL ends what is left.
    pub const DEFAULT_HALT_SIGNAL: i32 = libc::SIGPWR;
    pub const DEFAULT_REBOOT_SIGNAL: i32 = libc::SIGINT;
    pub const DEFAULT_STOP_SIGNAL: i32 = libc::SIGKILL;

    pub fn of(spec: &rlxc_config::ContainerSpec) -> Effective {
        let signal = |s: Option<rlxc_config::values::Signal>, default| s.map_or(default, |s| s.0);
        Effective {
            halt_signal: spec.signals.halt.map(|s| s.0),
            reboot_signal: signal(spec.signals.reboot, Self::DEFAULT_REBOOT_SIGNAL),
            stop_signal: signal(spec.signals.stop, Self::DEFAULT_STOP_SIGNAL),
            init_uid: spec.init.uid.unwrap_or(0),
            init_gid: spec.init.gid.unwrap_or(0),
            config: rlxc_config::keys::render(spec),
        }
    }
}

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: not a state file rlxc understands: {cause}")]
    Format {
        path: PathBuf,
        cause: serde_json::Error,
    },
}

impl StateFile {
    /// Reads the state file; `Ok(None)` when there is none (the container is not running).
    pub fn read(path: &Path) -> Result<Option<StateFile>, StateError> {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.to_path_buf(),
                    cause: source,
                })
            }
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|cause| StateError::Format {
                path: path.to_path_buf(),
                cause,
            })
    }

    /// The container's cgroups, reopened from what this file records.
    pub fn container_cgroups(&self) -> rlxc_cgroup::ContainerCgroups {
        rlxc_cgroup::ContainerCgroups::reopen(self.cgroups.clone(), &self.cgroup_leaves)
    }

    /// Tells `rlxc wait` to look again (inotify IN_ATTRIB) without rewriting the file: for
    /// changes that live elsewhere, such as the freezer's state.
    pub fn touch(path: &Path) -> Result<(), StateError> {
        let now = rustix::fs::Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_NOW,
        };
        let times = rustix::fs::Timestamps {
            last_access: now,
            last_modification: now,
        };
        rustix::fs::utimensat(rustix::fs::CWD, path, &times, rustix::fs::AtFlags::empty()).map_err(
            |errno| StateError::Io {
                path: path.to_path_buf(),
                cause: errno.into(),
            },
        )
    }

    /// Writes the state file atomically (temp file and rename), so a reader never sees half.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let io = |cause| StateError::Io {
            path: path.to_path_buf(),
            cause,
        };
        let dir = path.parent().unwrap_or(Path::new("/"));
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let text = serde_json::to_vec_pretty(self).map_err(|cause| StateError::Format {
            path: path.to_path_buf(),
            cause,
        })?;
        temp.write_all(&text).map_err(io)?;
        temp.persist(path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_identified_and_alive() {
        let me = ProcessId::of(std::process::id() as i32).expect("own stat");
        assert!(me.is_alive());
        let reused = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!reused.is_alive());
    }

    #[test]
    fn state_file_round_trips_and_missing_means_not_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        assert_eq!(StateFile::read(&path).expect("read"), None);
        let me = ProcessId::of(std::process::id() as i32).expect("own stat");
        let state = StateFile {
            name: "web".into(),
            lxcpath: "/var/lib/rlxc".into(),
            config: "/var/lib/rlxc/web/config".into(),
            state: State::Running,
            monitor: me,
            init: me,
            cgroups: vec!["/sys/fs/cgroup/x".into()],
            host_links: vec![],
            phys_links: vec![],
            added: AddedDevices::default(),
            netns_pin: None,
            host_netns: None,
            monitor_cgroups: vec![],
            started_at: 1,
            sysinfo_view: false,
            effective: Some(Effective::of(
                &rlxc_config::load_str(
                    "lxc.signal.halt = SIGUSR1\nlxc.init.uid = 1000\n",
                    Path::new("test.conf"),
                )
                .expect("config")
                .spec,
            )),
            freezer: None,
            cgroup_leaves: Vec::new(),
        };
        state.write(&path).expect("write");
        assert_eq!(StateFile::read(&path).expect("read"), Some(state));
    }

    #[test]
    fn state_names_are_lxcs() {
        for state in State::ALL {
            assert_eq!(State::from_name(state.name()), Some(state));
        }
        assert_eq!(State::from_name("running"), Some(State::Running));
    }
}
