//! The seed's funtoo0 config, as pasted from the wiki, boots a busybox rootfs to a console
//! getty, takes an attach, and stops gracefully through SIGPWR. Only the rootfs, the network
//! (no networking yet: `empty`) and, to keep the host clean, the console log path are
//! overridden on the command line.

mod support;

use std::path::Path;

use predicates::prelude::*;
use support::World;

fn seed_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/fixtures/funtoo0.conf")
}

#[test]
fn the_seed_config_boots_busybox_and_halts_on_sigpwr() {
    let world = World::new();
    // The busybox rootfs comes from a container made by `rlxc create`.
    let rootfs_owner = world.busybox("seedroot");
    let rootfs = world.lxcpath().join(&rootfs_owner).join("rootfs");
    let name = world.name("funtoo0");
    let console_log = world.dir.path().join("funtoo0.console");
    let defines = [
        format!("lxc.rootfs.path={}", rootfs.display()),
        "lxc.net.0.type=empty".to_string(),
        format!("lxc.console.logfile={}", console_log.display()),
    ];
    let mut args = vec![
        "start".to_string(),
        "-n".into(),
        name.clone(),
        "--rcfile".into(),
    ];
    args.push(seed_config().display().to_string());
    for define in &defines {
        args.push("-s".into());
        args.push(define.clone());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The seed's blkio.weight needs CFQ, gone since Linux 5.0: it goes to BFQ's weight
    // file where the kernel has one, else it is not applied; either way a notice says so.
    world
        .rlxc(&args)
        .assert()
        .success()
        .stderr(predicate::str::contains("lxc.cgroup.blkio.weight = 500:"));
    assert_eq!(world.state(&name), "RUNNING");
    let pid = world.init_pid(&name);

    // The seed's limits are applied (v1 keys on this host).
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let memory = cgroup
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        .expect("memory cgroup");
    let limit = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory{memory}/memory.limit_in_bytes"
    ))
    .expect("limit");
    assert_eq!(limit.trim(), (1024u64 << 20).to_string());
    assert_seed_limits(&cgroup);
    // The hostname is the seed's lxc.utsname.
    let uts = std::fs::read_link(format!("/proc/{pid}/ns/uts")).expect("uts");
    assert_ne!(uts, std::fs::read_link("/proc/self/ns/uts").expect("uts"));

    // The console reaches a getty (the busybox template's inittab runs one on the console).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(&console_log).unwrap_or_default();
        if log.contains("login:") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no getty on the console: {log:?}"
        );
        // Waiting on a file another process writes: inotify would do, a short sleep is simpler
        // in a test and bounded by the deadline.
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    world
        .rlxc(&["attach", "-n", &name, "--", "/bin/hostname"])
        .assert()
        .success()
        .stdout("funtoo0\n");

    // Graceful: SIGPWR, handled by the busybox init of the template. --nokill: a stop that
    // would need the kill fails instead ("did not stop within the timeout").
    world
        .rlxc(&["stop", "-n", &name, "-t", "30", "--nokill"])
        .assert()
        .success();
    world.assert_nothing_left(&name);
}

/// The rest of the seed's limits, read from the host's side of the container's v1 cgroups.
fn assert_seed_limits(proc_cgroup: &str) {
    let dir = |controller: &str| {
        let path = proc_cgroup
            .lines()
            .find_map(|l| {
                l.split_once(&format!(":{controller}:"))
                    .map(|(_, p)| p.to_string())
            })
            .unwrap_or_else(|| panic!("no {controller} line in {proc_cgroup}"));
        Path::new("/sys/fs/cgroup")
            .join(controller)
            .join(path.trim_start_matches('/'))
    };
    let read = |controller: &str, file: &str| {
        std::fs::read_to_string(dir(controller).join(file))
            .unwrap_or_else(|e| panic!("{controller}/{file}: {e}"))
            .trim()
            .to_string()
    };
    assert_eq!(read("cpu", "cpu.shares"), "1024");
    assert_eq!(read("cpuset", "cpuset.cpus"), "0");
    assert_eq!(
        read("memory", "memory.memsw.limit_in_bytes"),
        (2048u64 << 20).to_string()
    );
    if dir("blkio").join("blkio.bfq.weight").exists() {
        assert_eq!(read("blkio", "blkio.bfq.weight"), "500");
    }
    // deny a, then the allow lines: devices.list is exactly the seed's exceptions, less the
    // host's console (5:1), which rlxc always denies last (the container's own console is a
    // pty).
    let list = read("devices", "devices.list");
    let mut rules: Vec<&str> = list.lines().collect();
    rules.sort_unstable();
    let mut expected = vec![
        "c *:* m",
        "b *:* m",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 1:8 rwm",
        "c 1:9 rwm",
        "c 5:0 rwm",
        "c 5:2 rwm",
        "c 10:229 rwm",
        "c 136:* rwm",
        "c 254:0 rwm",
    ];
    expected.sort_unstable();
    assert_eq!(rules, expected);
}
