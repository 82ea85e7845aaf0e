//! The container's cgroups: it may not raise its own limits nor set a `release_agent` (a
//! program the host kernel runs as root). The seed mounts no cgroupfs (and its sysfs entry
//! would cover an automount): every file that is there must be read-only, and a fresh
//! cgroupfs mount must fail.

use crate::{Container, Setup};

escape_tests!(release_agent_and_limit_writes, cgroupfs_mount_attempts);

fn release_agent_and_limit_writes(setup: Setup) {
    let c = Container::start(setup, "esc-cgw", &["lxc.cgroup.memory.limit_in_bytes=256M"]);
    let limit_file = c.cgroup_dir("memory").join("memory.limit_in_bytes");
    let limit = std::fs::read_to_string(&limit_file).expect("limit");
    assert_eq!(limit.trim(), (256u64 << 20).to_string());
    let out = c.sh_ok(
        "for f in /sys/fs/cgroup/memory/memory.limit_in_bytes \
                  /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes \
                  /sys/fs/cgroup/pids/pids.max \
                  /sys/fs/cgroup/memory/release_agent \
                  /sys/fs/cgroup/memory/notify_on_release \
                  /sys/fs/cgroup/devices/devices.allow; do \
           [ -e $f ] || continue; echo \"$f $(probe write $f)\"; done",
    );
    for line in out.lines() {
        assert!(
            line.ends_with(" EROFS") || line.ends_with(" EACCES") || line.ends_with(" EPERM"),
            "writable in the container: {line}"
        );
    }
    c.sh("echo -1 > /sys/fs/cgroup/memory/memory.limit_in_bytes");
    assert_eq!(std::fs::read_to_string(&limit_file).expect("limit"), limit);
    // release_agent exists only in the root cgroup of a v1 hierarchy; the host's stays as it was.
    let agent = std::fs::read_to_string("/sys/fs/cgroup/memory/release_agent").unwrap_or_default();
    assert!(!agent.contains("escape"), "{agent}");
    c.stop();
}

/// A new cgroupfs mount (to reach the root cgroup's release_agent) needs CAP_SYS_ADMIN,
/// which the seed drops; rlxc's own cgroup namespace would root it at the container anyway.
fn cgroupfs_mount_attempts(setup: Setup) {
    let c = Container::start(setup, "esc-cgm", &[]);
    let out = c.sh(
        "mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg && \
         echo /escape > /tmp/cg/release_agent && echo mounted",
    );
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("mounted"));
    let agent = std::fs::read_to_string("/sys/fs/cgroup/memory/release_agent").unwrap_or_default();
    assert!(!agent.contains("escape"), "{agent}");
    c.stop();
}
