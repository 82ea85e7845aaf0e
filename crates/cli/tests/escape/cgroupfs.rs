//! The container's cgroups: it may not raise its own limits nor set a `release_agent` (a
//! program the host kernel runs as root). The seed mounts no cgroupfs (and its sysfs entry
//! would cover an automount): there it must stay that none is to be seen; the unprivileged
//! container's cgroup:mixed shows them, and every write must be refused and change nothing
//! the host reads. A fresh cgroupfs mount must fail. The host's release_agent files are
//! compared before and after attempts that write a marker to any the container can find.

use crate::{Container, Setup};

escape_tests!(release_agent_and_limit_writes, cgroupfs_mount_attempts);

/// (controller, file, what the container tries to write there, the file that shows the
/// effect: devices.allow is write-only).
const ATTEMPTS: &[(&str, &str, &str, &str)] = &[
    // memsw first: memory.limit_in_bytes may not exceed it.
    (
        "memory",
        "memory.memsw.limit_in_bytes",
        "-1",
        "memory.memsw.limit_in_bytes",
    ),
    (
        "memory",
        "memory.limit_in_bytes",
        "-1",
        "memory.limit_in_bytes",
    ),
    ("pids", "pids.max", "max", "pids.max"),
    ("memory", "notify_on_release", "1", "notify_on_release"),
    ("devices", "devices.allow", "a", "devices.list"),
];

fn release_agent_and_limit_writes(setup: Setup) {
    let c = Container::start(setup, "esc-cgw", &["lxc.cgroup.memory.limit_in_bytes=256M"]);
    let limit_file = c.cgroup_dir("memory").join("memory.limit_in_bytes");
    let limit = std::fs::read_to_string(&limit_file).expect("limit");
    assert_eq!(limit.trim(), (256u64 << 20).to_string());
    // The container's cgroup files as the host sees them, before the attempts; every one of
    // them this host has (memsw needs swap accounting) must be tried.
    let before: Vec<_> = ATTEMPTS
        .iter()
        .map(|(controller, _, _, witness)| {
            let host = c.cgroup_dir(controller).join(witness);
            (host.clone(), std::fs::read_to_string(&host).ok())
        })
        .collect();
    let agents = host_release_agents();
    let marker = format!("/escape-{}", c.name);
    let tries: Vec<String> = ATTEMPTS
        .iter()
        .map(|(controller, file, value, _)| format!("/sys/fs/cgroup/{controller}/{file} {value}"))
        .collect();
    // release_agent shows only in the root cgroup of a hierarchy, which a cgroup namespace
    // hides: any the container finds at all is tried.
    let out = c.sh_ok(&format!(
        "ls -A /sys/fs/cgroup | sed 's/^/entry /'; \
         printf '%s\\n' {tries} | while read f value; do \
           [ -e $f ] && echo \"$f $(probe write_text $f $value)\"; done; \
         for f in $(find /sys/fs/cgroup -name release_agent); do \
           echo \"$f $(probe write_text $f {marker})\"; done; echo done",
        tries = tries
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(" "),
    ));
    assert!(out.ends_with("done\n"), "{out}");
    let tried: Vec<&str> = out.lines().filter(|l| l.starts_with('/')).collect();
    for line in &tried {
        assert!(
            line.ends_with(" EROFS") || line.ends_with(" EACCES") || line.ends_with(" EPERM"),
            "writable in the container ({setup:?}): {line}"
        );
    }
    match setup {
        // The seed mounts no cgroupfs, and its sysfs entry covers /sys/fs/cgroup: there is
        // nothing of the cgroups to write to, which must stay so.
        Setup::SeedPrivileged => assert!(
            !out.contains("entry ") && tried.is_empty(),
            "cgroup files in the seed's container: {out}"
        ),
        // proc:mixed sys:mixed cgroup:mixed: each file the host has is there to be tried.
        Setup::Unprivileged => {
            for (controller, file, _, _) in ATTEMPTS {
                let path = format!("/sys/fs/cgroup/{controller}/{file} ");
                assert_eq!(
                    tried.iter().any(|l| l.starts_with(&path)),
                    c.cgroup_dir(controller).join(file).exists(),
                    "{path}: {out}"
                );
            }
        }
    }
    c.sh("echo -1 > /sys/fs/cgroup/memory/memory.limit_in_bytes");
    assert_eq!(std::fs::read_to_string(&limit_file).expect("limit"), limit);
    for (host, content) in before {
        assert_eq!(
            std::fs::read_to_string(&host).ok(),
            content,
            "{}",
            host.display()
        );
    }
    assert_eq!(
        host_release_agents(),
        agents,
        "a host release_agent changed"
    );
    c.stop();
}

/// Every v1 hierarchy's release_agent (its root's: a program the host kernel runs as root).
fn host_release_agents() -> Vec<(std::path::PathBuf, String)> {
    let mut agents: Vec<_> = std::fs::read_dir("/sys/fs/cgroup")
        .expect("/sys/fs/cgroup")
        .filter_map(Result::ok)
        .map(|e| e.path().join("release_agent"))
        .filter_map(|p| Some((p.clone(), std::fs::read_to_string(&p).ok()?)))
        .collect();
    agents.sort();
    agents
}

/// A new cgroupfs mount (to reach the root cgroup's release_agent) needs CAP_SYS_ADMIN,
/// which the seed drops; rlxc's own cgroup namespace would root it at the container anyway.
fn cgroupfs_mount_attempts(setup: Setup) {
    let c = Container::start(setup, "esc-cgm", &[]);
    let agents = host_release_agents();
    let out = c.sh(&format!(
        "mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg && \
         echo /escape-{} > /tmp/cg/release_agent && echo mounted",
        c.name
    ));
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("mounted"));
    assert_eq!(
        host_release_agents(),
        agents,
        "a host release_agent changed"
    );
    c.stop();
}
