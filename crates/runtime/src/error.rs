//! The runtime's own error, and [`from_cause!`] for the errors of its modules.
//!
//! Every error of rlxc's crates follows one rule (docs/architecture.md, "Errors"): its message
//! says all, its cause included, and `source()` never returns that cause again, so that `{:#}`
//! in the CLI and `to_string()` in the monitor's log and start report print each cause once.

use std::io;

use crate::namespaces::Namespace;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(
        "unknown namespace {name:?} (expected one of cgroup, ipc, mnt, net, pid, time, user, uts)"
    )]
    UnknownNamespace { name: String },
    #[error("probing the {namespace} namespace: fork failed: {cause}")]
    ProbeFork {
        namespace: Namespace,
        cause: io::Error,
    },
    #[error("probing the {namespace} namespace: waiting for the probe child failed: {cause}")]
    ProbeWait {
        namespace: Namespace,
        cause: io::Error,
    },
    #[error("probing the {namespace} namespace: the probe child was killed by signal {signal}")]
    ProbeKilled { namespace: Namespace, signal: i32 },
    /// The kernel refused to create the namespace.
    #[error("cannot create a {namespace} namespace: {cause}")]
    Unshare {
        namespace: Namespace,
        cause: io::Error,
    },
}

impl Error {
    /// The errno behind the failure, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::ProbeFork { cause, .. }
            | Self::ProbeWait { cause, .. }
            | Self::Unshare { cause, .. } => cause.raw_os_error(),
            _ => None,
        }
    }
}

/// `impl From<CAUSE> for ERROR` wrapping the cause in one variant: what thiserror's `#[from]`
/// does, without making the cause the error's `source()` too (the message has it already).
macro_rules! from_cause {
    ($cause:ty => $error:ident $(<$generic:ident>)? :: $variant:ident) => {
        impl$(<$generic>)? From<$cause> for $error$(<$generic>)? {
            fn from(cause: $cause) -> Self {
                $error::$variant(cause)
            }
        }
    };
}
pub(crate) use from_cause;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::channel::ChannelError;
    use crate::monitor::start_error::StartError;
    use crate::spawn::SpawnError;

    fn einval() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::EINVAL)
    }

    fn cgroup_write() -> rlxc_cgroup::Error {
        rlxc_cgroup::Error::Write {
            path: "/sys/fs/cgroup/x".into(),
            key: "memory.max".into(),
            value: "banana".into(),
            cause: einval(),
        }
    }

    /// Errors of several crates and shapes (a cause in a field, a tuple, transparent, nested)
    /// with the text of their innermost cause.
    fn samples() -> Vec<(Box<dyn std::error::Error>, String)> {
        let json = serde_json::from_str::<u8>("not json").expect_err("not json");
        let json_text = json.to_string();
        let einval_text = einval().to_string();
        vec![
            (Box::new(cgroup_write()), einval_text.clone()),
            (
                Box::new(StartError::PayloadCgroups {
                    key: None,
                    cause: cgroup_write(),
                }),
                einval_text.clone(),
            ),
            (
                Box::new(StartError::Spawn(Box::new(SpawnError::Channel(
                    ChannelError::Io(rustix::io::Errno::PIPE),
                )))),
                rustix::io::Errno::PIPE.to_string(),
            ),
            (
                Box::new(crate::stop::StopError::State(
                    crate::state::StateError::Format {
                        path: PathBuf::from("/run/rlxc/x/state.json"),
                        cause: json,
                    },
                )),
                json_text,
            ),
            (
                Box::new(crate::rootfs::RootfsError::FstabRead {
                    path: "/nonexistent/fstab".into(),
                    cause: std::io::Error::from_raw_os_error(libc::ENOENT),
                }),
                std::io::Error::from_raw_os_error(libc::ENOENT).to_string(),
            ),
            (
                Box::new(crate::create::CreateError::Io {
                    step: "writing",
                    path: "/var/lib/rlxc/x/config".into(),
                    cause: einval(),
                }),
                einval_text.clone(),
            ),
            (
                Box::new(rlxc_net::Error::Kernel {
                    op: rlxc_net::Operation::SetLinkUp,
                    link: "veth0".into(),
                    cause: einval(),
                }),
                einval_text,
            ),
        ]
    }

    /// The rule of this module's docs: the message has the cause, and no `source()` in the
    /// chain repeats what its error's message already says (`{:#}` would print it twice).
    #[test]
    fn every_cause_is_told_once() {
        for (error, innermost) in samples() {
            let message = error.to_string();
            assert_eq!(message.matches(&innermost).count(), 1, "{message}");
            let mut parent: &dyn std::error::Error = error.as_ref();
            while let Some(source) = parent.source() {
                let (outer, inner) = (parent.to_string(), source.to_string());
                assert!(!outer.contains(&inner), "{outer:?} repeats {inner:?}");
                parent = source;
            }
        }
    }
}
