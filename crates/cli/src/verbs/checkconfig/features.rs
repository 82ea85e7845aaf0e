//! The features checked, as one table: section, label, whether rlxc needs it, how to read the
//! kernel config, and which live probe answers for the running system.

use rlxc_runtime::namespaces::Namespace;

use super::kernel_config::KernelVersion;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Namespaces,
    ControlGroups,
    Networking,
    Security,
    Misc,
    CheckpointRestore,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Self::Namespaces,
        Self::ControlGroups,
        Self::Networking,
        Self::Security,
        Self::Misc,
        Self::CheckpointRestore,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Namespaces => "Namespaces",
            Self::ControlGroups => "Control groups",
            Self::Networking => "Networking",
            Self::Security => "Security",
            Self::Misc => "Misc",
            Self::CheckpointRestore => "Checkpoint/Restore",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A container cannot start without it.
    Required,
    /// Some configurations or verbs need it.
    Optional,
}

/// How the kernel config answers for a feature.
#[derive(Debug, Clone, Copy)]
pub enum ConfigRule {
    /// One option, `=y` or `=m`.
    Option(&'static str),
    /// The first name the config mentions counts; later names are older spellings
    /// (`CONFIG_MEMCG` was `CONFIG_CGROUP_MEM_RES_CTLR` before 3.6).
    Renamed(&'static [&'static str]),
    /// Every option must be enabled.
    AllOf(&'static [&'static str]),
    /// The option was removed in `since` because the feature became unconditional (given
    /// `needs`, if any).
    BuiltInSince {
        option: &'static str,
        since: KernelVersion,
        needs: &'static [&'static str],
        /// What to print when the kernel is new enough, e.g. "always on since 4.7".
        says: &'static str,
    },
    /// Only meaningful for kernels in `[from, until)`; outside it the row is left out.
    OnlyFor {
        option: &'static str,
        from: KernelVersion,
        until: KernelVersion,
    },
    /// No option: always part of Linux.
    Always,
}

/// Where a cgroup controller can show up on the running system.
#[derive(Debug, Clone, Copy)]
pub struct Controller {
    /// Name as a v1 hierarchy controller.
    pub v1: &'static str,
    /// Name in cgroup2's `cgroup.controllers`; `None` when v2 has no such controller.
    pub v2: Option<&'static str>,
    /// True when cgroup2 provides it without a controller entry (freezer, perf_event, the
    /// cpuacct statistics in `cpu.stat`).
    pub v2_builtin: bool,
}

/// The live check for a feature on the running system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Veth,
    Macvlan,
    Vlan,
    Bridge,
}

#[derive(Debug, Clone, Copy)]
pub enum Probe {
    None,
    Namespace(Namespace),
    /// Which layout is mounted at all.
    CgroupLayout,
    Controller(Controller),
    /// cgroup2 mounted, so BPF device programs have somewhere to attach.
    CgroupV2Mounted,
    Link(LinkKind),
    /// v1 `memory.memsw.*` files.
    SwapAccounting,
    Seccomp,
    SeccompFilter,
    Fuse,
}

#[derive(Debug, Clone, Copy)]
pub struct Feature {
    pub section: Section,
    pub label: &'static str,
    pub need: Need,
    pub config: ConfigRule,
    pub probe: Probe,
}

use ConfigRule::{AllOf, Always, BuiltInSince, OnlyFor, Option as Opt, Renamed};
use Need::{Optional, Required};
use Section::*;

const fn kernel(major: u32, minor: u32) -> KernelVersion {
    KernelVersion::new(major, minor)
}

const fn row(
    section: Section,
    label: &'static str,
    need: Need,
    config: ConfigRule,
    probe: Probe,
) -> Feature {
    Feature {
        section,
        label,
        need,
        config,
        probe,
    }
}

const fn namespace(
    label: &'static str,
    need: Need,
    config: ConfigRule,
    kind: Namespace,
) -> Feature {
    row(Namespaces, label, need, config, Probe::Namespace(kind))
}

/// An optional cgroup controller with where it lives on v1 and v2.
const fn controller(
    label: &'static str,
    config: ConfigRule,
    v1: &'static str,
    v2: Option<&'static str>,
    v2_builtin: bool,
) -> Feature {
    let probe = Probe::Controller(Controller { v1, v2, v2_builtin });
    row(ControlGroups, label, Optional, config, probe)
}

const fn link(label: &'static str, option: &'static str, kind: LinkKind) -> Feature {
    row(Networking, label, Optional, Opt(option), Probe::Link(kind))
}

/// An optional option without a live probe, labelled with its own name (as LXC does).
const fn bare(section: Section, option: &'static str) -> Feature {
    row(section, option, Optional, Opt(option), Probe::None)
}

/// The rows in output order. Labels follow `lxc-checkconfig` where it has the same check.
#[rustfmt::skip]
pub fn all() -> Vec<Feature> {
    vec![
        row(Namespaces, "Namespaces", Required, Opt("CONFIG_NAMESPACES"), Probe::None),
        namespace("Utsname namespace", Required, Opt("CONFIG_UTS_NS"), Namespace::Uts),
        namespace("Ipc namespace", Required, Opt("CONFIG_IPC_NS"), Namespace::Ipc),
        namespace("Pid namespace", Required, Opt("CONFIG_PID_NS"), Namespace::Pid),
        namespace("Mount namespace", Required, Always, Namespace::Mount),
        namespace("Network namespace", Optional, Opt("CONFIG_NET_NS"), Namespace::Net),
        namespace("User namespace", Optional, Opt("CONFIG_USER_NS"), Namespace::User),
        namespace("Cgroup namespace", Optional, Opt("CONFIG_CGROUPS"), Namespace::Cgroup),
        namespace("Time namespace", Optional, Opt("CONFIG_TIME_NS"), Namespace::Time),
        row(Namespaces, "Multiple /dev/pts instances", Required, BuiltInSince {
            option: "CONFIG_DEVPTS_MULTIPLE_INSTANCES",
            since: kernel(4, 7),
            needs: &[],
            says: "always on since 4.7",
        }, Probe::None),

        row(ControlGroups, "Cgroups", Required, Opt("CONFIG_CGROUPS"), Probe::CgroupLayout),
        controller("Cgroup device", Opt("CONFIG_CGROUP_DEVICE"), "devices", None, false),
        row(ControlGroups, "Cgroup BPF device (v2)", Optional,
            AllOf(&["CONFIG_CGROUP_BPF", "CONFIG_BPF_SYSCALL"]), Probe::CgroupV2Mounted),
        controller("Cgroup sched", Opt("CONFIG_CGROUP_SCHED"), "cpu", Some("cpu"), false),
        controller("Cgroup cpu account", Opt("CONFIG_CGROUP_CPUACCT"), "cpuacct", None, true),
        controller("Cgroup memory controller", Renamed(&["CONFIG_MEMCG", "CONFIG_CGROUP_MEM_RES_CTLR"]),
            "memory", Some("memory"), false),
        row(ControlGroups, "Cgroup memory swap accounting", Optional, BuiltInSince {
            option: "CONFIG_MEMCG_SWAP",
            since: kernel(6, 1),
            needs: &["CONFIG_MEMCG", "CONFIG_SWAP"],
            says: "built in since 6.1",
        }, Probe::SwapAccounting),
        controller("Cgroup cpuset", Opt("CONFIG_CPUSETS"), "cpuset", Some("cpuset"), false),
        controller("Cgroup freezer", Opt("CONFIG_CGROUP_FREEZER"), "freezer", None, true),
        controller("Cgroup pids", Opt("CONFIG_CGROUP_PIDS"), "pids", Some("pids"), false),
        controller("Cgroup blkio / io", Opt("CONFIG_BLK_CGROUP"), "blkio", Some("io"), false),
        controller("Cgroup perf_event", Opt("CONFIG_CGROUP_PERF"), "perf_event", None, true),
        controller("Cgroup hugetlb", Opt("CONFIG_CGROUP_HUGETLB"), "hugetlb", Some("hugetlb"), false),

        link("Veth pair device", "CONFIG_VETH", LinkKind::Veth),
        link("Macvlan", "CONFIG_MACVLAN", LinkKind::Macvlan),
        link("Vlan (802.1Q)", "CONFIG_VLAN_8021Q", LinkKind::Vlan),
        link("Bridges", "CONFIG_BRIDGE", LinkKind::Bridge),
        row(Networking, "Advanced netfilter", Optional, Opt("CONFIG_NETFILTER_ADVANCED"), Probe::None),
        // Merged into CONFIG_NF_NAT in 5.1; LXC checks them for 3.7 to 4.x only.
        row(Networking, "CONFIG_NF_NAT_IPV4", Optional, OnlyFor {
            option: "CONFIG_NF_NAT_IPV4", from: kernel(3, 7), until: kernel(5, 1),
        }, Probe::None),
        row(Networking, "CONFIG_NF_NAT_IPV6", Optional, OnlyFor {
            option: "CONFIG_NF_NAT_IPV6", from: kernel(3, 7), until: kernel(5, 1),
        }, Probe::None),
        bare(Networking, "CONFIG_IP_NF_TARGET_MASQUERADE"),
        bare(Networking, "CONFIG_IP6_NF_TARGET_MASQUERADE"),
        bare(Networking, "CONFIG_NETFILTER_XT_TARGET_CHECKSUM"),
        bare(Networking, "CONFIG_NETFILTER_XT_MATCH_COMMENT"),

        row(Security, "Seccomp", Optional, Opt("CONFIG_SECCOMP"), Probe::Seccomp),
        row(Security, "Seccomp filter (BPF)", Optional, Opt("CONFIG_SECCOMP_FILTER"), Probe::SeccompFilter),
        // Unconditional since 2.6.33; versions here have no patch level, so 3.0 stands in.
        row(Security, "File capabilities", Optional, BuiltInSince {
            option: "CONFIG_SECURITY_FILE_CAPABILITIES",
            since: kernel(3, 0),
            needs: &[],
            says: "always on since 2.6.33",
        }, Probe::None),

        row(Misc, "FUSE (for lxcfs)", Optional, Opt("CONFIG_FUSE_FS"), Probe::Fuse),

        row(CheckpointRestore, "checkpoint restore", Optional, Opt("CONFIG_CHECKPOINT_RESTORE"), Probe::None),
        bare(CheckpointRestore, "CONFIG_FHANDLE"),
        bare(CheckpointRestore, "CONFIG_EVENTFD"),
        bare(CheckpointRestore, "CONFIG_EPOLL"),
        bare(CheckpointRestore, "CONFIG_UNIX_DIAG"),
        bare(CheckpointRestore, "CONFIG_INET_DIAG"),
        bare(CheckpointRestore, "CONFIG_PACKET_DIAG"),
        bare(CheckpointRestore, "CONFIG_NETLINK_DIAG"),
    ]
}
