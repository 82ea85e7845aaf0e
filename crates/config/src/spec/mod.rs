//! The typed, validated container description that the runtime consumes.
//!
//! Every field is `Option`/empty when the config did not set it: the spec records what the user
//! *wrote* (so `config show` can render it back), and the runtime applies its defaults on top.
//! Nothing here is a raw config string that still needs parsing.

mod network;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::values::{
    Arch, ByteSize, Capability, IdMap, LogLevel, MountAuto, MountEntry, Namespace, NamespaceSet,
    PrLimit, Resource, Signal, SyslogFacility, TimeOffset,
};

pub use network::Network;

/// Everything a container config can say, typed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ContainerSpec {
    pub uts_name: Option<String>,
    pub arch: Option<Arch>,
    pub rootfs: Rootfs,
    pub mounts: Mounts,
    pub autodev: Autodev,
    pub tty: Tty,
    pub console: Console,
    pub cgroup: Cgroup,
    pub capabilities: Capabilities,
    pub idmaps: Vec<IdMap>,
    pub namespaces: Namespaces,
    pub time_offsets: TimeOffsets,
    /// Networks by index (`lxc.net.N`); indices need not be contiguous.
    pub networks: BTreeMap<u32, Network>,
    pub hooks: Hooks,
    pub security: Security,
    pub prlimits: BTreeMap<Resource, PrLimit>,
    /// `lxc.sysctl.KEY` in file order of first appearance; later values replace earlier ones.
    pub sysctls: BTreeMap<String, String>,
    /// `lxc.proc.FILE` values written to `/proc/<init>/FILE`.
    pub proc_settings: BTreeMap<String, String>,
    pub sched_core: Option<bool>,
    pub init: Init,
    pub environment: Vec<String>,
    pub signals: Signals,
    pub autostart: Autostart,
    pub monitor: Monitor,
    pub ephemeral: Option<bool>,
    /// `lxc.procview`: the container's own /proc view (unset = on where the host can serve it).
    pub procview: Option<bool>,
    pub log: Log,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Rootfs {
    /// `lxc.rootfs.path`: a directory or `TYPE:SOURCE` (dir, overlay, loop, lvm, ...).
    pub path: Option<String>,
    pub mount: Option<String>,
    pub options: Option<String>,
    pub managed: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Mounts {
    pub fstab: Option<String>,
    pub entries: Vec<MountEntry>,
    pub auto: Option<MountAuto>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Autodev {
    pub enabled: Option<bool>,
    pub tmpfs_size: Option<ByteSize>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tty {
    /// `lxc.tty.max`: number of `/dev/ttyN` the container gets.
    pub max: Option<u32>,
    pub dir: Option<String>,
    /// `lxc.pty.max`: limit of the container's private devpts.
    pub pty_max: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Console {
    /// `lxc.console.path`: a host device to use as console, or `none`.
    pub path: Option<String>,
    /// `lxc.console.logfile`: every byte the console prints is appended here.
    pub logfile: Option<String>,
    pub size: Option<ConsoleSize>,
    pub rotate: Option<bool>,
    pub buffer_size: Option<ConsoleSize>,
}

/// A console log or ring-buffer size: bytes or `auto` (128 KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConsoleSize {
    Auto,
    Bytes(ByteSize),
}

/// One `lxc.cgroup.KEY = VALUE` or `lxc.cgroup2.KEY = VALUE` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CgroupSetting {
    /// `controller.file`, e.g. `memory.limit_in_bytes`.
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cgroup {
    /// v1 settings in file order (order matters for device rules).
    pub v1: Vec<CgroupSetting>,
    /// v2 settings in file order.
    pub v2: Vec<CgroupSetting>,
    pub dir: Option<String>,
    pub dir_container: Option<String>,
    pub dir_monitor: Option<String>,
    pub dir_monitor_pivot: Option<String>,
    pub dir_container_inner: Option<String>,
    pub relative: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Capabilities {
    /// `lxc.cap.drop`, accumulated over lines.
    pub drop: Vec<Capability>,
    /// `lxc.cap.keep`, accumulated; `Some(empty)` is `lxc.cap.keep = none` (keep nothing).
    pub keep: Option<Vec<Capability>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Namespaces {
    pub clone: Option<NamespaceSet>,
    pub keep: Option<NamespaceSet>,
    /// `lxc.namespace.share.NS = NAME|PID|PATH`.
    pub share: BTreeMap<Namespace, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimeOffsets {
    pub boot: Option<TimeOffset>,
    pub monotonic: Option<TimeOffset>,
}

/// The lifecycle points a user hook can run at, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum HookPoint {
    PreStart,
    PreMount,
    Mount,
    Autodev,
    StartHost,
    Start,
    Stop,
    PostStop,
    Clone,
    Destroy,
}

impl HookPoint {
    pub const ALL: [HookPoint; 10] = [
        HookPoint::PreStart,
        HookPoint::PreMount,
        HookPoint::Mount,
        HookPoint::Autodev,
        HookPoint::StartHost,
        HookPoint::Start,
        HookPoint::Stop,
        HookPoint::PostStop,
        HookPoint::Clone,
        HookPoint::Destroy,
    ];

    /// The suffix after `lxc.hook.`.
    pub fn name(self) -> &'static str {
        match self {
            HookPoint::PreStart => "pre-start",
            HookPoint::PreMount => "pre-mount",
            HookPoint::Mount => "mount",
            HookPoint::Autodev => "autodev",
            HookPoint::StartHost => "start-host",
            HookPoint::Start => "start",
            HookPoint::Stop => "stop",
            HookPoint::PostStop => "post-stop",
            HookPoint::Clone => "clone",
            HookPoint::Destroy => "destroy",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Hooks {
    /// Commands per hook point, in file order.
    pub commands: BTreeMap<HookPoint, Vec<String>>,
    /// `lxc.hook.version`: false = arguments (0), true = environment (1).
    pub version: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Security {
    pub seccomp_profile: Option<String>,
    pub seccomp_allow_nesting: Option<bool>,
    pub seccomp_notify_proxy: Option<String>,
    pub seccomp_notify_cookie: Option<String>,
    pub apparmor_profile: Option<String>,
    pub apparmor_allow_incomplete: Option<bool>,
    pub apparmor_allow_nesting: Option<bool>,
    pub apparmor_raw: Vec<String>,
    pub selinux_context: Option<String>,
    pub selinux_context_keyring: Option<String>,
    /// `lxc.keyring.session`: true (the default) gives the container a fresh session keyring.
    pub keyring_session: Option<bool>,
    pub no_new_privs: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Init {
    /// `lxc.init.cmd`, split into words.
    pub cmd: Option<String>,
    pub execute_cmd: Option<String>,
    pub cwd: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub groups: Vec<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Signals {
    pub halt: Option<Signal>,
    pub reboot: Option<Signal>,
    pub stop: Option<Signal>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Autostart {
    pub auto: Option<bool>,
    pub delay: Option<u32>,
    pub order: Option<i32>,
    /// `lxc.group`, accumulated over lines.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Monitor {
    pub unshare: Option<bool>,
    /// Signal init gets when the monitor dies; `Some(None)` is the config's `0` (keep running).
    pub pdeath_signal: Option<Option<Signal>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Log {
    pub level: Option<LogLevel>,
    pub file: Option<String>,
    pub syslog: Option<SyslogFacility>,
}
