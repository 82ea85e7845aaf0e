//! The equivalent configurations every tool runs: one lxc.conf text (rlxc and LXC read the same
//! file) and one OCI config.json (crun and runc read the same bundle), all on the same busybox
//! rootfs made by `rlxc create -t busybox`.
//!
//! What they share: new pid, mount, uts, ipc and network namespaces (network: loopback only),
//! the rootfs read-write, /proc, /sys and a cgroup view, a tmpfs /dev with the usual nodes, a
//! devpts instance, no console, no user namespace, no network devices, no hooks. What differs,
//! because it is each tool's default and not a knob the others have: LXC drops no
//! capabilities in this config (rlxc neither), the OCI spec keeps only three and masks a few
//! /proc paths; crun/runc also mount /dev/shm and /dev/mqueue.

/// The lxc.conf of a bench container, for rlxc and LXC alike.
pub fn lxc_conf(name: &str, rootfs: &str, init: &str) -> String {
    format!(
        "# rlxc-bench: the same file is read by rlxc and by LXC\n\
         lxc.uts.name = {name}\n\
         lxc.rootfs.path = dir:{rootfs}\n\
         lxc.rootfs.managed = 0\n\
         lxc.init.cmd = {init}\n\
         lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed\n\
         lxc.autodev = 1\n\
         lxc.pty.max = 1024\n\
         lxc.tty.max = 0\n\
         lxc.console.path = none\n\
         lxc.net.0.type = empty\n\
         lxc.signal.halt = SIGPWR\n"
    )
}

/// busybox init's table in the bench rootfs: no gettys (an OCI container without a terminal
/// has no ttys to run them on) and nothing to do at start or halt, so every tool's idle
/// container is the same single process.
pub const INITTAB: &str =
    "# rlxc-bench: an idle busybox init, nothing to run\n::shutdown:/bin/true\n";

/// The OCI config.json for crun and runc: `crun spec`'s default, with the rootfs path, no
/// terminal, a writable rootfs and the given command.
pub fn oci_config(rootfs: &str, args: &[&str]) -> String {
    let args = args
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let caps = r#"["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]"#;
    format!(
        r#"{{
  "ociVersion": "1.0.0",
  "process": {{
    "terminal": false,
    "user": {{ "uid": 0, "gid": 0 }},
    "args": [{args}],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {{ "bounding": {caps}, "effective": {caps}, "permitted": {caps}, "ambient": {caps} }},
    "rlimits": [{{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }}],
    "noNewPrivileges": true
  }},
  "root": {{ "path": "{rootfs}", "readonly": false }},
  "hostname": "bench",
  "mounts": [
    {{ "destination": "/proc", "type": "proc", "source": "proc" }},
    {{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] }},
    {{ "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] }},
    {{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] }},
    {{ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"] }},
    {{ "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] }},
    {{ "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] }}
  ],
  "linux": {{
    "resources": {{ "devices": [{{ "allow": false, "access": "rwm" }}] }},
    "namespaces": [{{ "type": "pid" }}, {{ "type": "network" }}, {{ "type": "ipc" }}, {{ "type": "uts" }}, {{ "type": "mount" }}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }}
}}
"#
    )
}

/// The lxc.conf of the systemd guest, for rlxc and LXC alike: what LXC's download template
/// writes for a Debian guest (issue 19), as the integration tests boot it. Loopback only
/// (the issue measured with a veth on a bridge; the bench makes no host network devices).
pub fn guest_conf(name: &str, rootfs: &str) -> String {
    format!(
        "# rlxc-bench: the same file is read by rlxc and by LXC\n\
         lxc.include = /usr/share/lxc/config/debian.common.conf\n\
         lxc.rootfs.path = dir:{rootfs}\n\
         lxc.uts.name = {name}\n\
         lxc.net.0.type = empty\n"
    )
}
