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

/// The seed's own steps, typed as written: its config at `/var/lib/lxc/NAME.config` (LXC's
/// default lxcpath, the seed's flat layout), then `lxc-start -n NAME -d`, `lxc-attach`,
/// `lxc-stop` through the `lxc-*` names with no `-P` and no `RLXC_PATH`. Only what cannot be
/// had on a test host is changed in the text: the rootfs (a busybox one), the bridge (none:
/// the test keeps off the host's network) and the console log's place.
#[test]
fn the_seeds_steps_typed_as_written_start_its_container() {
    let world = World::new();
    let rootfs_owner = world.busybox("seedflatroot");
    let rootfs = world.lxcpath().join(&rootfs_owner).join("rootfs");
    let name = world.name("funtoo0");
    let console_log = world.dir.path().join("funtoo0.console");
    let seed = std::fs::read_to_string(seed_config()).expect("seed config");
    let config: String = seed
        .lines()
        .filter(|line| !line.starts_with("lxc.network.") || line.starts_with("lxc.network.type"))
        .map(|line| match line.split_once(" = ").map(|(key, _)| key) {
            Some("lxc.rootfs") => format!("lxc.rootfs = {}", rootfs.display()),
            Some("lxc.console") => format!("lxc.console = {}", console_log.display()),
            Some("lxc.network.type") => "lxc.network.type = empty".to_string(),
            _ => line.to_string(),
        })
        .map(|line| line + "\n")
        .collect();
    let lxcpath = Path::new("/var/lib/lxc");
    std::fs::create_dir_all(lxcpath).expect("/var/lib/lxc");
    let flat = FlatConfig(lxcpath.join(format!("{name}.config")));
    std::fs::write(&flat.0, config).expect("write the seed's config");

    // lxc-* links to rlxc; no lxcpath given anywhere.
    let links = tempfile::tempdir().expect("tempdir");
    for tool in ["start", "attach", "info", "stop"] {
        std::os::unix::fs::symlink(support::RLXC, links.path().join(format!("lxc-{tool}")))
            .expect("link");
    }
    let lxc = |tool: &str, args: &[&str]| {
        let mut command = assert_cmd::Command::new(links.path().join(format!("lxc-{tool}")));
        command
            .args(args)
            .env_remove("RLXC_PATH")
            .env("RLXC_RUN_DIR", world.run_root())
            .timeout(std::time::Duration::from_secs(60));
        command
    };
    let _stop = StopWith(lxc("stop", &["-n", &name, "-k"]));
    lxc("start", &["-n", &name, "-d"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "notice: using {} (the seed's layout)",
            flat.0.display()
        )));
    lxc("info", &["-n", &name, "-s", "-H"])
        .assert()
        .success()
        .stdout("RUNNING\n");
    lxc("attach", &["-n", &name, "--", "/bin/hostname"])
        .assert()
        .success()
        .stdout("funtoo0\n");
    lxc("stop", &["-n", &name, "-t", "30"]).assert().success();
    lxc("info", &["-n", &name, "-s", "-H"])
        .assert()
        .stdout("STOPPED\n");
}

/// Removes the seed's config from LXC's lxcpath, pass or fail.
struct FlatConfig(std::path::PathBuf);

impl Drop for FlatConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Kills the container if the test ends before its own stop.
struct StopWith(assert_cmd::Command);

impl Drop for StopWith {
    fn drop(&mut self) {
        let _ = self.0.output();
    }
}
