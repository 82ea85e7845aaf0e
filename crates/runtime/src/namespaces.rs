//! The namespace kinds a container can get, and a live probe for each.

use std::fmt;
use std::io;
use std::str::FromStr;

use crate::process::fork::{unshare_in_child, ChildOutcome, ForkOrWait};
use crate::Error;

/// A kind of Linux namespace, named as in `lxc.namespace.*` and `/proc/PID/ns/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Namespace {
    Cgroup,
    Ipc,
    Mount,
    Net,
    Pid,
    Time,
    User,
    Uts,
}

impl Namespace {
    pub const ALL: [Namespace; 8] = [
        Self::Cgroup,
        Self::Ipc,
        Self::Mount,
        Self::Net,
        Self::Pid,
        Self::Time,
        Self::User,
        Self::Uts,
    ];

    /// The short name used by LXC's config keys and by `/proc/PID/ns/NAME`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cgroup => "cgroup",
            Self::Ipc => "ipc",
            Self::Mount => "mnt",
            Self::Net => "net",
            Self::Pid => "pid",
            Self::Time => "time",
            Self::User => "user",
            Self::Uts => "uts",
        }
    }

    /// The `CLONE_NEW*` flag for `clone`, `clone3` and `unshare`.
    pub fn clone_flag(self) -> libc::c_int {
        match self {
            Self::Cgroup => libc::CLONE_NEWCGROUP,
            Self::Ipc => libc::CLONE_NEWIPC,
            Self::Mount => libc::CLONE_NEWNS,
            Self::Net => libc::CLONE_NEWNET,
            Self::Pid => libc::CLONE_NEWPID,
            Self::Time => libc::CLONE_NEWTIME,
            Self::User => libc::CLONE_NEWUSER,
            Self::Uts => libc::CLONE_NEWUTS,
        }
    }

    /// The kernel option that builds this namespace in. Mount namespaces have none: they
    /// are always there.
    pub fn kernel_option(self) -> Option<&'static str> {
        match self {
            Self::Cgroup => Some("CONFIG_CGROUPS"),
            Self::Ipc => Some("CONFIG_IPC_NS"),
            Self::Mount => None,
            Self::Net => Some("CONFIG_NET_NS"),
            Self::Pid => Some("CONFIG_PID_NS"),
            Self::Time => Some("CONFIG_TIME_NS"),
            Self::User => Some("CONFIG_USER_NS"),
            Self::Uts => Some("CONFIG_UTS_NS"),
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Namespace {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| Error::UnknownNamespace {
                name: name.to_owned(),
            })
    }
}

/// Asks the running kernel whether a namespace of this kind can be created, by forking a
/// child that unshares it and exits with the result.
///
/// A child is used (rather than a thread) because some kinds, `user` in particular, cannot
/// be unshared by a multi-threaded process, and because the child's namespaces vanish with
/// it. For `pid` and `time`, success means the kernel accepted the new namespace for the
/// child's future children, which is what a container start needs.
pub fn can_create(kind: Namespace) -> Result<(), Error> {
    probe(kind, kind.clone_flag())
}

/// Like [`can_create`], but creates a user namespace first and the namespace inside it, as
/// an unprivileged container does. This is how a user without `CAP_SYS_ADMIN` gets the other
/// kinds; for [`Namespace::User`] it is the same as [`can_create`].
pub fn can_create_in_user_namespace(kind: Namespace) -> Result<(), Error> {
    probe(kind, libc::CLONE_NEWUSER | kind.clone_flag())
}

fn probe(kind: Namespace, flags: libc::c_int) -> Result<(), Error> {
    match unshare_in_child(flags) {
        Ok(ChildOutcome::Exited(0)) => Ok(()),
        Ok(ChildOutcome::Exited(errno)) => Err(Error::Unshare {
            namespace: kind,
            cause: io::Error::from_raw_os_error(errno),
        }),
        Ok(ChildOutcome::KilledBySignal(signal)) => Err(Error::ProbeKilled {
            namespace: kind,
            signal,
        }),
        Err(ForkOrWait::Fork(source)) => Err(Error::ProbeFork {
            namespace: kind,
            cause: source,
        }),
        Err(ForkOrWait::Wait(source)) => Err(Error::ProbeWait {
            namespace: kind,
            cause: source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Namespace::ALL {
            assert_eq!(kind.name().parse::<Namespace>().ok(), Some(kind));
        }
        assert!(matches!(
            "mount".parse::<Namespace>(),
            Err(Error::UnknownNamespace { .. })
        ));
    }

    #[test]
    fn clone_flags_are_distinct() {
        let mut flags: Vec<_> = Namespace::ALL
            .iter()
            .map(|kind| kind.clone_flag())
            .collect();
        flags.sort_unstable();
        flags.dedup();
        assert_eq!(flags.len(), Namespace::ALL.len());
    }
}
