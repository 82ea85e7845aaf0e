//! Namespaces (`lxc.namespace.clone`, `lxc.namespace.keep`, `lxc.namespace.share.*`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ValueError;

keyword_enum! {
    /// A kind of namespace, named as in `/proc/PID/ns`. `mount` is accepted as an alias of
    /// `mnt` (LXC 5 rejects it although its own man page example uses it).
    pub enum Namespace {
        Cgroup = "cgroup",
        Ipc = "ipc",
        Mnt = "mnt" | "mount",
        Net = "net",
        Pid = "pid",
        Time = "time",
        User = "user",
        Uts = "uts",
    }
}
keyword_from_str!(Namespace, "namespace");

impl Namespace {
    /// The `CLONE_NEW*` flag for `clone3`/`unshare`/`setns`.
    pub fn clone_flag(&self) -> i32 {
        match self {
            Namespace::Cgroup => libc::CLONE_NEWCGROUP,
            Namespace::Ipc => libc::CLONE_NEWIPC,
            Namespace::Mnt => libc::CLONE_NEWNS,
            Namespace::Net => libc::CLONE_NEWNET,
            Namespace::Pid => libc::CLONE_NEWPID,
            // Kernel 5.6+; spelled out because not every libc target defines it.
            Namespace::Time => 0x80,
            Namespace::User => libc::CLONE_NEWUSER,
            Namespace::Uts => libc::CLONE_NEWUTS,
        }
    }
}

/// A whitespace-separated list of namespaces; order and repeats do not matter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct NamespaceSet(pub BTreeSet<Namespace>);

impl NamespaceSet {
    /// All flags or-ed together.
    pub fn clone_flags(&self) -> i32 {
        self.0.iter().fold(0, |acc, ns| acc | ns.clone_flag())
    }
}

impl FromStr for NamespaceSet {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        if input.trim().is_empty() {
            return Err(ValueError::new(
                input,
                "expected namespace names such as 'net ipc uts'",
            ));
        }
        input
            .split_whitespace()
            .map(|w| {
                w.parse::<Namespace>()
                    .map_err(|e| super::within(input, w, e))
            })
            .collect::<Result<_, _>>()
            .map(NamespaceSet)
    }
}

impl fmt::Display for NamespaceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(Namespace::name).collect();
        f.write_str(&names.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_flags() {
        assert_eq!("MNT".parse(), Ok(Namespace::Mnt));
        assert_eq!("mount".parse(), Ok(Namespace::Mnt));
        assert_eq!(Namespace::Time.clone_flag(), 0x80);
        assert_eq!(Namespace::Mnt.clone_flag(), 0x0002_0000);
        let s: NamespaceSet = "net ipc\tnet UTS".parse().unwrap();
        assert_eq!(s.to_string(), "ipc net uts");
        assert_eq!(
            s.clone_flags(),
            libc::CLONE_NEWNET | libc::CLONE_NEWIPC | libc::CLONE_NEWUTS
        );
    }

    #[test]
    fn rejects_unknown() {
        let e = "net usr".parse::<NamespaceSet>().unwrap_err();
        assert!(e.0.contains("did you mean 'user'"), "{e}");
        assert!("".parse::<NamespaceSet>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(v in proptest::collection::btree_set(proptest::sample::select(Namespace::ALL), 1..8)) {
            let s = NamespaceSet(v);
            prop_assert_eq!(s.to_string().parse::<NamespaceSet>(), Ok(s));
        }
    }
}
