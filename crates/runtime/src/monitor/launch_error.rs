//! Why a start did not reach RUNNING, as the CLI gets it: the validation's typed errors
//! (each naming its config key) and the monitor's step that failed.

use std::path::PathBuf;

use super::console::PeerError;
use super::start_error::StartFailure;
use crate::rootfs;
use crate::spawn;

/// Why a start did not reach RUNNING.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LaunchError {
    #[error("{name} is already running")]
    AlreadyRunning { name: String },
    #[error(transparent)]
    Plan(#[from] spawn::PlanError),
    /// What a crashed run left could not be removed, or its monitor is still ending it.
    #[error(transparent)]
    Leftovers(#[from] crate::leftovers::LeftoverError),
    #[error(transparent)]
    Rootfs(#[from] rootfs::RootfsError),
    #[error(transparent)]
    Userns(#[from] crate::userns::UsernsCheckError),
    #[error(transparent)]
    Share(#[from] spawn::share::ShareError),
    #[error(transparent)]
    Network(#[from] rlxc_net::Error),
    /// `lxc.console.path` names no terminal this host can relay the console to.
    #[error("lxc.console.path = {path}: {reason}")]
    ConsolePath { path: String, reason: PeerError },
    #[error("{what} {path}: {cause}")]
    Io {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("forking the monitor: {0}")]
    Fork(std::io::Error),
    #[error(transparent)]
    CgroupDir(#[from] super::cgroups::CgroupDirError),
    #[error(
        "cgroup2 device rules: bpf(2) is denied to rlxc itself ({source}): it runs in a \
         container whose seccomp policy denies bpf (rlxc's default policy does), so it cannot \
         load the device program every cgroup2 container gets; give that container a \
         seccomp profile that allows bpf (LXC's common.seccomp does) to nest containers in it"
    )]
    DevicesNeedBpf { source: std::io::Error },
    /// The host's cgroups, or the monitor's own, before the monitor exists.
    #[error("cgroups: {0}")]
    Cgroups(rlxc_cgroup::Error),
    #[error("the monitor's cgroup: {0}")]
    MonitorCgroup(rlxc_cgroup::Error),
    /// The monitor's log file (`-o` or `lxc.log.file =`) cannot be opened, or has no room.
    #[error("{origin} {path}: the log file cannot be written: {reason}")]
    LogFile {
        origin: &'static str,
        path: PathBuf,
        reason: std::io::Error,
    },
    /// `execute`'s front ended on a signal that its frozen command gets only once thawed.
    #[error(
        "{name} is FROZEN: signal {signal} was passed on and reaches the command once it is \
         thawed; not waiting for that (the command runs on under its monitor: rlxc unfreeze \
         -n {name}, or rlxc stop -n {name} -k)"
    )]
    FrozenInterrupted { name: String, signal: i32 },
    /// A step of the monitor's start failed; `key` (and `value`, where several lines may
    /// set the key) name the config line it was about.
    #[error("{step}: {message}")]
    Start {
        step: String,
        key: Option<String>,
        value: Option<String>,
        message: String,
    },
    /// The monitor's own report of what went wrong, outside the start's steps.
    #[error("{0}")]
    Monitor(String),
}

impl LaunchError {
    /// The config key the error is about, where the validation knows one: the CLI points at
    /// its origin (file:line) with it.
    pub fn config_key(&self) -> Option<String> {
        match self {
            LaunchError::Plan(error) => Some(error.config_key().to_string()),
            LaunchError::Rootfs(error) => error.config_key().map(str::to_string),
            LaunchError::Userns(crate::userns::UsernsCheckError::SysfsWithHostNetwork) => {
                Some("lxc.mount.auto".into())
            }
            LaunchError::Userns(_) => Some("lxc.idmap".into()),
            LaunchError::Share(error) => Some(error.config_key()),
            LaunchError::Network(rlxc_net::Error::Config { index, .. }) => {
                Some(format!("lxc.net.{index}"))
            }
            LaunchError::Network(rlxc_net::Error::NoSuchLink { index, .. }) => {
                Some(format!("lxc.net.{index}.link"))
            }
            LaunchError::ConsolePath { .. } => Some("lxc.console.path".into()),
            LaunchError::LogFile { origin, .. } if origin.starts_with("lxc.") => {
                Some("lxc.log.file".into())
            }
            LaunchError::Start { key, .. } => key.clone(),
            LaunchError::CgroupDir(error) => Some(error.config_key().to_string()),
            _ => None,
        }
    }

    /// The value of [`Self::config_key`]'s line, where the key is one of a list (a mount
    /// entry, a hook): the CLI then finds the very line that set it.
    pub fn config_value(&self) -> Option<&str> {
        match self {
            LaunchError::Start { value, .. } => value.as_deref(),
            _ => None,
        }
    }
}

impl From<StartFailure> for LaunchError {
    fn from(failure: StartFailure) -> LaunchError {
        LaunchError::Start {
            step: failure.step,
            key: failure.key,
            value: failure.value,
            message: failure.message,
        }
    }
}
