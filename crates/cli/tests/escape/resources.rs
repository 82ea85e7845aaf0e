//! Exhausting the host: a fork bomb against a pids limit, a memory bomb against the memory
//! limit, tmpfs mounts filled past their size, and a huge argv through attach. Each stays
//! inside the container's limits and the container can still be stopped cleanly.

use crate::{Container, Setup};

escape_tests!(fork_bomb, memory_bomb, tmpfs_fill, huge_argv);

/// Waits until `done` holds, rechecking `file` (a cgroup file the kernel updates), for at
/// most a minute: the wait is bounded, nothing is asserted about how long it took.
fn wait_for(file: &std::path::Path, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if done(&text) || std::time::Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The seed sets no pids limit: rlxc's default applies. A fork bomb stops at the limit (64
/// here, to keep the test light) and `stop -k` still ends everything.
fn fork_bomb(setup: Setup) {
    let c = Container::start(setup, "esc-pids", &[]);
    let default = std::fs::read_to_string(c.cgroup_dir("pids").join("pids.max")).expect("max");
    assert_eq!(default.trim(), "4096");
    c.stop();
    let c = Container::start(setup, "esc-fork", &["lxc.cgroup.pids.max=64"]);
    let pids = c.cgroup_dir("pids");
    c.sh_ok("b() { b & b & wait; }; b </dev/null >/dev/null 2>&1 &");
    // v1 counts a refused fork in the forking process's own cgroup (the container's inner
    // one, where it has one), not where the limit is.
    let own = crate::support::process_cgroup_dir(c.init_pid(), "pids");
    let events = wait_for(&own.join("pids.events"), |t| {
        t.trim().strip_prefix("max ").is_some_and(|n| n != "0")
    });
    assert_ne!(events.trim(), "max 0", "the bomb never reached the limit");
    let current: u32 = std::fs::read_to_string(pids.join("pids.current"))
        .expect("pids.current")
        .trim()
        .parse()
        .expect("number");
    assert!(current <= 64, "{current} processes");
    c.stop();
}

fn memory_bomb(setup: Setup) {
    let c = Container::start(
        setup,
        "esc-mem",
        &[
            "lxc.cgroup.memory.limit_in_bytes=64M",
            "lxc.cgroup.memory.memsw.limit_in_bytes=64M",
        ],
    );
    // busybox tail keeps everything since the last newline: /dev/zero has none.
    let out = c.sh("head -c 512m /dev/zero | tail -n 1 >/dev/null");
    assert!(!out.status.success(), "512 MiB fit in a 64 MiB container");
    let memory = c.cgroup_dir("memory");
    let peak: u64 = std::fs::read_to_string(memory.join("memory.max_usage_in_bytes"))
        .expect("max usage")
        .trim()
        .parse()
        .expect("number");
    assert!(peak <= 64 << 20, "peak {peak}");
    assert_eq!(c.world.state(&c.name), "RUNNING");
    c.stop();
}

/// The seed's /tmp (128m) and /dev/shm (256m) tmpfs mounts stop at their size; the
/// unprivileged container gets the same two mounts (its template has none).
fn tmpfs_fill(setup: Setup) {
    let mounts: &[&str] = match setup {
        Setup::SeedPrivileged => &[],
        Setup::Unprivileged => &[
            "lxc.mount.entry=tmpfs tmp tmpfs nosuid,nodev,mode=1777,size=128m 0 0",
            "lxc.mount.entry=shm dev/shm tmpfs nosuid,nodev,mode=1777,size=256m,create=dir 0 0",
        ],
    };
    let c = Container::start(setup, "esc-tmpfs", mounts);
    let out = c.sh_ok(
        "for d in /tmp /dev/shm; do \
           dd if=/dev/zero of=$d/fill bs=1M count=400 2>/dev/null && echo $d-fit; \
           echo $d $(($(wc -c < $d/fill) >> 20)); rm $d/fill; done",
    );
    assert_eq!(out, "/tmp 128\n/dev/shm 256\n");
    c.stop();
}

/// 1.5 MiB of arguments go through attach intact, however big the words.
fn huge_argv(setup: Setup) {
    let c = Container::start(setup, "esc-argv", &[]);
    let word = "x".repeat(100_000);
    let mut args = vec!["attach", "-n", &c.name, "--", "/bin/sh", "-c"];
    let script = "n=0; for a; do n=$((n + ${#a})); done; echo $# $n";
    args.push(script);
    args.push("sh");
    args.extend(std::iter::repeat_n(word.as_str(), 15));
    let out = c.world.output(&args);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "15 1500000\n");
    assert_eq!(c.world.state(&c.name), "RUNNING");
    c.stop();
}
