//! What rlxc adds to a container's cgroup settings on its own, where LXC leaves the host
//! open: a device policy when the config has none, a deny of the host's console when the
//! config's rules would open it, and a process limit when the config sets none. Each goes to
//! the version (v1 or cgroup2) the host has the controller on, before the plan is made, so
//! it is written or translated like a line of the config.

use crate::devices::{DeviceRule, DeviceType, ACCESS_READ, ACCESS_WRITE};
use crate::CgroupLayout;

/// The container's process limit when its config sets none: LXC sets none, and a fork bomb
/// then takes every pid of the host. 4096 is far above what a system container runs (a
/// full distribution with its services: a few hundred) and an eighth of a default
/// `pid_max` (32768). `lxc.cgroup.pids.max = max` lifts it on purpose.
pub const DEFAULT_PIDS_MAX: u32 = 4096;

/// The device policy of a config without device rules, LXC's `common.conf`: no device but
/// the harmless ones, any may be created (mknod) but not opened. Without it a privileged
/// root could mknod and read the host's disks. The console (5:1) is not in it.
pub const DEFAULT_DEVICE_RULES: &[(&str, &str, &str)] = &[
    ("devices.deny", "a", "every device, but:"),
    ("devices.allow", "c *:* m", "any node may be made"),
    ("devices.allow", "b *:* m", "any node may be made"),
    ("devices.allow", "c 1:3 rwm", "/dev/null"),
    ("devices.allow", "c 1:5 rwm", "/dev/zero"),
    ("devices.allow", "c 1:7 rwm", "/dev/full"),
    ("devices.allow", "c 1:8 rwm", "/dev/random"),
    ("devices.allow", "c 1:9 rwm", "/dev/urandom"),
    ("devices.allow", "c 5:0 rwm", "/dev/tty"),
    ("devices.allow", "c 5:2 rwm", "/dev/ptmx"),
    ("devices.allow", "c 136:* rwm", "/dev/pts/*"),
    ("devices.allow", "c 10:229 rwm", "/dev/fuse"),
    ("devices.allow", "c 10:200 rwm", "/dev/net/tun"),
];

/// The device the host's console is (`/dev/console`, 5:1).
const HOST_CONSOLE: (u32, u32) = (5, 1);

/// Settings as the config has them, `(controller.file, value)` in file order.
type Settings = Vec<(String, String)>;

/// Which settings list an addition goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    None,
    V1,
    V2,
}

/// The config's v1 and v2 settings with rlxc's additions appended (see the module docs).
pub(crate) fn with_defaults(
    layout: &CgroupLayout,
    v1: &[(String, String)],
    v2: &[(String, String)],
) -> (Settings, Settings) {
    let mut lists = (v1.to_vec(), v2.to_vec());
    let mut add = |version: Version, key: &str, value: String| match version {
        Version::V1 => lists.0.push((key.to_owned(), value)),
        Version::V2 => lists.1.push((key.to_owned(), value)),
        Version::None => {}
    };
    let has_rules =
        |settings: &[(String, String)]| settings.iter().any(|(key, _)| key.starts_with("devices."));
    if !has_rules(v1) && !has_rules(v2) {
        let version = device_version(layout);
        for (key, value, _) in DEFAULT_DEVICE_RULES {
            add(version, key, (*value).to_owned());
        }
    } else {
        let (major, minor) = HOST_CONSOLE;
        add(
            console_deny(v1, v2),
            "devices.deny",
            format!("c {major}:{minor} rwm"),
        );
    }
    add(
        pids_version(layout, v1, v2),
        "pids.max",
        DEFAULT_PIDS_MAX.to_string(),
    );
    lists
}

/// Device rules go to the v1 devices controller where the host has it, else to the cgroup2
/// program (an eBPF program, not a controller: always there with cgroup2).
fn device_version(layout: &CgroupLayout) -> Version {
    if layout.v1_hierarchy_of("devices").is_some() {
        Version::V1
    } else if layout.v2.is_some() {
        Version::V2
    } else {
        Version::None
    }
}

/// A container's own /dev/console is a pty of its devpts (major 136), so char 5:1 is only
/// ever the *host's* console: a root that may mknod (the seed allows `c *:* m` and
/// `c 5:1 rwm`) could open it and type into the host's login. Denied last, in the version
/// of the rule that would open it.
fn console_deny(v1: &[(String, String)], v2: &[(String, String)]) -> Version {
    let opens_console = |rule: &DeviceRule| {
        rule.allow
            && rule.kind != DeviceType::Block
            && rule.major.is_none_or(|m| m == HOST_CONSOLE.0)
            && rule.minor.is_none_or(|m| m == HOST_CONSOLE.1)
            && rule.access & (ACCESS_READ | ACCESS_WRITE) != 0
    };
    let opened_by = |settings: &[(String, String)]| {
        settings.iter().any(|(key, value)| {
            key == "devices.allow"
                && DeviceRule::parse(true, value).is_ok_and(|r| opens_console(&r))
        })
    };
    if opened_by(v2) {
        Version::V2
    } else if opened_by(v1) {
        Version::V1
    } else {
        Version::None
    }
}

/// The default `pids.max` goes nowhere when the config has one (either version) or the host
/// has no pids controller, else where the controller is (v1 first).
fn pids_version(
    layout: &CgroupLayout,
    v1: &[(String, String)],
    v2: &[(String, String)],
) -> Version {
    if v1.iter().chain(v2).any(|(key, _)| key == "pids.max") {
        Version::None
    } else if layout.v1_hierarchy_of("pids").is_some() {
        Version::V1
    } else if layout.v2.as_ref().is_some_and(|v2| v2.has("pids")) {
        Version::V2
    } else {
        Version::None
    }
}
