use std::io;

use crate::namespaces::Namespace;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(
        "unknown namespace {name:?} (expected one of cgroup, ipc, mnt, net, pid, time, user, uts)"
    )]
    UnknownNamespace { name: String },
    #[error("probing the {namespace} namespace: fork failed: {source}")]
    ProbeFork {
        namespace: Namespace,
        #[source]
        source: io::Error,
    },
    #[error("probing the {namespace} namespace: waiting for the probe child failed: {source}")]
    ProbeWait {
        namespace: Namespace,
        #[source]
        source: io::Error,
    },
    #[error("probing the {namespace} namespace: the probe child was killed by signal {signal}")]
    ProbeKilled { namespace: Namespace, signal: i32 },
    /// The kernel refused to create the namespace.
    #[error("cannot create a {namespace} namespace: {source}")]
    Unshare {
        namespace: Namespace,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The errno behind the failure, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Self::ProbeFork { source, .. }
            | Self::ProbeWait { source, .. }
            | Self::Unshare { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}
