//! The seed's funtoo0 config, pasted verbatim from the wiki, loads and means what it says.

use std::path::{Path, PathBuf};

use rlxc_config::values::{Capability, Ipv4Gateway, NetType, Personality};
use rlxc_config::{load_file, Loaded};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn seed() -> Loaded {
    load_file(&fixture("funtoo0.conf"), &[]).unwrap_or_else(|e| panic!("seed config: {e}"))
}

#[test]
fn identity_rootfs_and_console() {
    let spec = seed().spec;
    assert_eq!(spec.uts_name.as_deref(), Some("funtoo0"));
    assert_eq!(spec.rootfs.path.as_deref(), Some("/lxc/funtoo0/rootfs/"));
    let arch = spec.arch.expect("arch");
    assert_eq!(
        (arch.name.as_str(), arch.personality),
        ("x86_64", Personality::Linux64)
    );
    // LXC 1.x meaning of `lxc.console = FILE`: log the console there.
    assert_eq!(
        spec.console.logfile.as_deref(),
        Some("/var/log/lxc/funtoo0.console")
    );
    assert_eq!(spec.console.path, None);
    // `lxc.tty = 0  # set to 0 if ...`: the inline comment is not part of the value, and the
    // commented-out `#lxc.tty = 6` line above it does not count.
    assert_eq!(spec.tty.max, Some(0));
    assert_eq!(spec.tty.pty_max, Some(1024));
}

#[test]
fn capabilities() {
    let drop: Vec<&str> = seed()
        .spec
        .capabilities
        .drop
        .iter()
        .map(Capability::name)
        .collect();
    assert_eq!(
        drop,
        [
            "sys_module",
            "mac_admin",
            "mac_override",
            "sys_time",
            "audit_control",
            "audit_write",
            "syslog",
            "sys_admin",
            "sys_rawio"
        ]
    );
    assert_eq!(seed().spec.capabilities.keep, None);
}

#[test]
fn cgroup_devices_and_limits_in_file_order() {
    let spec = seed().spec;
    let lines: Vec<(String, String)> = spec
        .cgroup
        .v1
        .iter()
        .map(|s| (s.key.clone(), s.value.clone()))
        .collect();
    let expected = [
        ("devices.deny", "a"),
        ("devices.allow", "c *:* m"),
        ("devices.allow", "b *:* m"),
        ("devices.allow", "c 1:3 rwm"),
        ("devices.allow", "c 1:5 rwm"),
        ("devices.allow", "c 1:7 rwm"),
        ("devices.allow", "c 1:8 rwm"),
        ("devices.allow", "c 1:9 rwm"),
        ("devices.allow", "c 5:0 rwm"),
        ("devices.allow", "c 5:1 rwm"),
        ("devices.allow", "c 5:2 rwm"),
        ("devices.allow", "c 10:229 rwm"),
        ("devices.allow", "c 136:* rwm"),
        ("devices.allow", "c 254:0 rwm"),
        ("cpu.shares", "1024"),
        ("cpuset.cpus", "0"),
        ("memory.limit_in_bytes", "1024M"),
        ("memory.memsw.limit_in_bytes", "2048M"),
        ("blkio.weight", "500"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(lines, expected);
    assert!(spec.cgroup.v2.is_empty());
}

#[test]
fn mount_entries() {
    let spec = seed().spec;
    let entries: Vec<String> = spec
        .mounts
        .entries
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        entries,
        [
            "proc proc proc nosuid,nodev,noexec 0 0",
            "sysfs sys sysfs nosuid,nodev,noexec,ro 0 0",
            "shm dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,mode=1777,size=256m,create=dir 0 0",
            "tmpfs run tmpfs nosuid,nodev,noexec,mode=0755,size=128m 0 0",
            "tmpfs tmp tmpfs nosuid,nodev,noexec,mode=1777,size=128m 0 0",
        ]
    );
    let shm = &spec.mounts.entries[2];
    assert_eq!(
        (
            shm.source.as_str(),
            shm.target.as_str(),
            shm.fstype.as_str()
        ),
        ("shm", "dev/shm", "tmpfs")
    );
    assert_eq!(shm.data(), "mode=1777,size=256m");
    assert!(shm.create().is_some());
}

#[test]
fn network() {
    let spec = seed().spec;
    assert_eq!(spec.networks.len(), 1);
    let net = &spec.networks[&0];
    assert_eq!(net.net_type, Some(NetType::Veth));
    assert_eq!(net.up, Some(true));
    assert_eq!(net.link.as_deref(), Some("br0"));
    assert_eq!(net.name.as_deref(), Some("eth0"));
    let addresses: Vec<String> = net.ipv4_addresses.iter().map(ToString::to_string).collect();
    assert_eq!(addresses, ["192.168.1.2/24"]);
    assert_eq!(
        net.ipv4_gateway,
        Some(Ipv4Gateway::Address([192, 168, 1, 1].into()))
    );
    // `lxc.network.hwaddr = #put your LXC container MAC address here, ...` sets nothing.
    assert_eq!(net.hwaddr, None);
}

#[test]
fn nothing_else_is_set() {
    let spec = seed().spec;
    assert!(spec.hooks.commands.is_empty());
    assert!(spec.idmaps.is_empty());
    assert!(spec.environment.is_empty());
    assert_eq!(spec.mounts.auto, None);
}

#[test]
fn one_warning_per_legacy_key_naming_the_modern_key() {
    let warnings = seed().warnings;
    let keys: Vec<&str> = warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "lxc.utsname",
            "lxc.rootfs",
            "lxc.console",
            "lxc.tty",
            "lxc.pts",
            "lxc.network.type",
            "lxc.network.flags",
            "lxc.network.link",
            "lxc.network.ipv4",
            "lxc.network.ipv4.gateway",
            "lxc.network.hwaddr",
            "lxc.network.name"
        ]
    );
    let utsname = warnings[0].to_string();
    assert!(
        utsname.ends_with("funtoo0.conf:2: lxc.utsname: legacy key, read as lxc.uts.name"),
        "{utsname}"
    );
    let ipv4 = &warnings[8].message;
    assert!(ipv4.contains("lxc.net.0.ipv4.address"), "{ipv4}");
}
