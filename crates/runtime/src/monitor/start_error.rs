//! Why the monitor's start failed: one variant per step of `launch::start`, each with its
//! typed cause and, where the step is about one, the config key (and the value, where several
//! lines may set the key) the CLI points at. Sent to the CLI over the status pipe as a
//! [`StartFailure`], so that the CLI never reads an error's text to find the config line.

use std::path::PathBuf;

use crate::hooks::HookError;
use crate::spawn::SpawnError;

/// A step of the monitor's start that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("entering the monitor's cgroup: {0}")]
    MonitorCgroup(rlxc_cgroup::Error),
    #[error("lxc.monitor.unshare = 1: a mount namespace for the monitor: {0}")]
    MonitorUnshare(std::io::Error),
    #[error(transparent)]
    PreStartHooks(HookError),
    /// `key`: the `lxc.cgroup.*` / `lxc.cgroup2.*` setting the cause names, if any.
    #[error("{cause}")]
    PayloadCgroups {
        key: Option<String>,
        cause: rlxc_cgroup::Error,
    },
    /// Mounting an overlay or loop rootfs, which the monitor does before the clone.
    #[error(transparent)]
    RootfsStore(crate::rootfs::RootfsError),
    #[error("{path}: {cause}")]
    ControlSocket {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("lxc.console.logfile = {path}: {cause}")]
    ConsoleLog { path: String, cause: std::io::Error },
    #[error("giving the cgroups to the container's root (lxc.idmap): {0}")]
    CgroupOwnership(rlxc_cgroup::Error),
    #[error(transparent)]
    CgroupEntry(rlxc_cgroup::Error),
    /// The /proc view (`lxc.procview`).
    #[error(transparent)]
    ProcView(super::procview::ProcViewError),
    #[error("holding the namespaces for lxc.hook.stop: {0}")]
    HoldNamespaces(std::io::Error),
    #[error(transparent)]
    Network(super::network::NetworkError),
    #[error("lxc.proc.{file} = {value}: {path}: {cause}")]
    ProcSetting {
        file: String,
        value: String,
        path: String,
        cause: std::io::Error,
    },
    #[error(transparent)]
    StartHostHooks(HookError),
    /// The spawn itself (clone, id maps, the child's own steps); its host steps are the
    /// variants above.
    #[error(transparent)]
    Spawn(Box<SpawnError<StartError>>),
    #[error("init exited at once")]
    InitGone,
    /// Init died while the start set it up or exec'd it (see `init_death`).
    #[error("{0}")]
    InitDied(super::init_death::InitDeath),
    #[error("cannot read the monitor's own /proc entry")]
    MonitorGone,
    #[error(transparent)]
    StateFile(crate::state::StateError),
    #[error(transparent)]
    EventLoop(std::io::Error),
}

impl StartError {
    /// The step's name, as the CLI shows it.
    pub fn step(&self) -> &'static str {
        match self {
            StartError::MonitorCgroup(_) => "monitor cgroup",
            StartError::MonitorUnshare(_) => "monitor mount namespace",
            StartError::PreStartHooks(_) => "pre-start hooks",
            StartError::PayloadCgroups { .. } => "cgroups",
            StartError::RootfsStore(_) => "rootfs",
            StartError::ControlSocket { .. } => "control socket",
            StartError::ConsoleLog { .. } => "console log",
            StartError::CgroupOwnership(_) => "cgroup ownership",
            StartError::CgroupEntry(_) => "cgroup entry",
            StartError::ProcView(_) => "/proc view",
            StartError::HoldNamespaces(_) => "namespaces for stop hooks",
            StartError::Network(_) => "network",
            StartError::ProcSetting { .. } => "proc settings",
            StartError::StartHostHooks(_) => "start-host hooks",
            StartError::Spawn(_) | StartError::InitGone | StartError::InitDied(_) => "spawn",
            StartError::MonitorGone | StartError::StateFile(_) => "state file",
            StartError::EventLoop(_) => "event loop",
        }
    }

    /// The config key the failed step is about, and the value where the key is one of a
    /// list (a mount entry, a hook command), so the CLI can find the very line.
    pub fn config_line(&self) -> Option<(String, Option<String>)> {
        match self {
            StartError::MonitorUnshare(_) => Some(("lxc.monitor.unshare".into(), None)),
            StartError::PreStartHooks(hook) | StartError::StartHostHooks(hook) => {
                Some(hook_line(hook))
            }
            StartError::PayloadCgroups { key, .. } => key.clone().map(|key| (key, None)),
            StartError::ConsoleLog { .. } => Some(("lxc.console.logfile".into(), None)),
            StartError::RootfsStore(_) => Some(("lxc.rootfs.path".into(), None)),
            StartError::CgroupOwnership(_) => Some(("lxc.idmap".into(), None)),
            StartError::ProcView(_) => Some(("lxc.procview".into(), None)),
            StartError::HoldNamespaces(_) => Some(("lxc.hook.stop".into(), None)),
            StartError::Network(error) => error.config_key().map(|key| (key, None)),
            StartError::ProcSetting { file, value, .. } => {
                Some((format!("lxc.proc.{file}"), Some(value.clone())))
            }
            StartError::InitDied(death) => death.config_key().map(|key| (key, None)),
            StartError::Spawn(error) => match error.as_ref() {
                SpawnError::Child { config, .. } => {
                    config.as_ref().map(|c| (c.key.clone(), c.value.clone()))
                }
                SpawnError::IdMaps(_) => Some(("lxc.idmap".into(), None)),
                SpawnError::TimeNamespace(_) => Some(("lxc.time.offset".into(), None)),
                SpawnError::Share(_) => Some(("lxc.namespace.share".into(), None)),
                SpawnError::Prlimit { .. } => Some(("lxc.prlimit".into(), None)),
                _ => None,
            },
            _ => None,
        }
    }

    /// What goes to the CLI: the step, the config line, and the cause chain as text.
    pub fn to_failure(&self) -> StartFailure {
        let (key, value) = match self.config_line() {
            Some((key, value)) => (Some(key), value),
            None => (None, None),
        };
        StartFailure {
            step: self.step().to_string(),
            key,
            value,
            message: self.to_string(),
        }
    }
}

fn hook_line(hook: &HookError) -> (String, Option<String>) {
    match hook {
        HookError::Spawn { key, command, .. } | HookError::Failed { key, command, .. } => {
            (key.clone(), Some(command.clone()))
        }
    }
}

/// A failed start as the status pipe carries it (JSON, after the `WARN` lines).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StartFailure {
    pub step: String,
    pub key: Option<String>,
    pub value: Option<String>,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_goes_through_the_pipe_as_json_with_its_step_and_key() {
        let error = StartError::ProcSetting {
            file: "oom_score_adj".into(),
            value: "5000".into(),
            path: "/proc/1/oom_score_adj".into(),
            cause: std::io::Error::from_raw_os_error(libc::EINVAL),
        };
        let failure = error.to_failure();
        let text = serde_json::to_string(&failure).expect("serializes");
        let back: StartFailure = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, failure);
        assert_eq!(back.step, "proc settings");
        assert_eq!(back.key.as_deref(), Some("lxc.proc.oom_score_adj"));
        assert_eq!(back.value.as_deref(), Some("5000"));
        assert!(back.message.starts_with("lxc.proc.oom_score_adj = 5000: "));
    }
}
