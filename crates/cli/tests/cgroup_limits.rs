//! Resource control on real containers, with every effect checked from outside: the
//! container's cgroup files as the host sees them, /proc of its processes, its rootfs.
//! (On this hybrid host the limits are v1; the UML lane runs these on pure cgroup2.)

mod support;

use std::time::{Duration, Instant};

use support::{cgroup_dir, read, World};

fn start(world: &World, name: &str, args: &[&str]) -> String {
    let mut all = vec!["start", "-n", name, "-d"];
    all.extend_from_slice(args);
    let out = world.output(&all);
    assert!(
        out.status.success(),
        "start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn attach(world: &World, name: &str, script: &str) -> std::process::Output {
    world.sh(name, script)
}

/// A container's freezer file as the host sees it (v1's `freezer.state`, else cgroup2's
/// `cgroup.freeze`). Dropped, it thaws, so that a failed test leaves no frozen container
/// behind that its world's stop could not end.
struct Freezer {
    file: std::path::PathBuf,
}

impl Freezer {
    fn of(init: i32) -> Freezer {
        let dir = cgroup_dir(init, "freezer");
        let v1 = dir.join("freezer.state");
        let file = if v1.exists() {
            v1
        } else {
            dir.join("cgroup.freeze")
        };
        Freezer { file }
    }

    fn write(&self, frozen: bool) {
        self.try_write(frozen).expect("write the freezer file");
    }

    fn try_write(&self, frozen: bool) -> std::io::Result<()> {
        let v1 = self.file.ends_with("freezer.state");
        let value = match (v1, frozen) {
            (true, true) => "FROZEN",
            (true, false) => "THAWED",
            (false, true) => "1",
            (false, false) => "0",
        };
        std::fs::write(&self.file, value)
    }
}

impl Drop for Freezer {
    fn drop(&mut self) {
        let _ = self.try_write(false);
    }
}

#[test]
fn a_memory_bomb_is_oom_killed_inside_and_the_container_goes_on() {
    let world = World::new();
    let name = world.busybox("membomb");
    world.append_config(
        &name,
        "lxc.cgroup.memory.limit_in_bytes = 64M\nlxc.cgroup.memory.memsw.limit_in_bytes = 64M\n",
    );
    start(&world, &name, &[]);
    let init = world.init_pid(&name);
    let memory = cgroup_dir(init, "memory");
    let limit = ["memory.limit_in_bytes", "memory.max"]
        .iter()
        .find(|f| memory.join(f).exists())
        .expect("limit file");
    assert_eq!(read(&memory, limit), (64u64 << 20).to_string());

    // A string that doubles until the kernel says no: 64M is reached in a few steps.
    let bomb = attach(
        &world,
        &name,
        "x=0123456789abcdef; while true; do x=$x$x; done",
    );
    assert!(!bomb.status.success(), "the bomb survived: {bomb:?}");
    // Counted where the killed process was (memory.events is hierarchical anyway).
    let own = support::process_cgroup_dir(init, "memory");
    let killed = if own.join("memory.oom_control").exists() {
        read(&own, "memory.oom_control")
    } else {
        read(&memory, "memory.events")
    };
    let oom_kills: u64 = killed
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.parse().ok())
        .expect("an oom_kill count");
    assert!(oom_kills >= 1, "{killed}");
    // The container (its init, a new command) and this host process go on.
    assert_eq!(world.state(&name), "RUNNING");
    assert_eq!(world.init_pid(&name), init);
    let alive = attach(&world, &name, "echo alive");
    assert_eq!(String::from_utf8_lossy(&alive.stdout).trim(), "alive");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn a_fork_bomb_stops_at_pids_max() {
    let world = World::new();
    let name = world.busybox("forkbomb");
    world.append_config(&name, "lxc.cgroup.pids.max = 24\n");
    start(&world, &name, &[]);
    let pids = cgroup_dir(world.init_pid(&name), "pids");
    assert_eq!(read(&pids, "pids.max"), "24");
    // ash gives up at the first fork the kernel refuses; the sleepers stay behind.
    let bomb = attach(
        &world,
        &name,
        "i=0; while [ $i -lt 200 ]; do sleep 60 </dev/null >/dev/null 2>&1 & i=$((i+1)); done",
    );
    let current: u64 = read(&pids, "pids.current").parse().expect("pids.current");
    assert!(current <= 24, "pids.current {current}: {bomb:?}");
    // v1 counts a refused fork in the forking process's own cgroup, cgroup2 where the limit
    // is: the larger count of the two.
    let own = support::process_cgroup_dir(world.init_pid(&name), "pids");
    let count = |dir: &std::path::Path| -> u64 {
        read(dir, "pids.events")
            .lines()
            .find_map(|l| l.strip_prefix("max "))
            .and_then(|n| n.trim().parse().ok())
            .expect("max count")
    };
    let refused = count(&own).max(count(&pids));
    assert!(refused >= 1, "no fork was refused");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// Whether any hierarchy has the cpuset controller (the UML kernel has none).
fn host_has_cpuset() -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let v1 = mountinfo
        .lines()
        .filter_map(|l| l.split_once(" - cgroup "))
        // The super options: LXC, for one, adds `clone_children` to the cpuset hierarchy.
        .any(|(_, super_options)| super_options.split([' ', ',']).any(|o| o == "cpuset"));
    let v2 = mountinfo
        .lines()
        .filter(|l| l.contains(" - cgroup2 "))
        .filter_map(|l| l.split_whitespace().nth(4))
        .any(|dir| {
            std::fs::read_to_string(format!("{dir}/cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpuset"))
        });
    v1 || v2
}

/// Pure cgroup2: no v1 hierarchy mounted.
fn pure_v2() -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    !mountinfo.lines().any(|l| l.contains(" - cgroup "))
}

#[test]
fn cpuset_pins_the_container() {
    // The UML lane skips this test by name (its kernel has no cpuset); everywhere else the
    // controller must be there.
    assert!(host_has_cpuset(), "no cpuset controller on this host");
    let world = World::new();
    let name = world.busybox("cpuset");
    let last = std::thread::available_parallelism().map_or(1, |n| n.get()) - 1;
    world.append_config(&name, &format!("lxc.cgroup.cpuset.cpus = {last}\n"));
    start(&world, &name, &[]);
    let init = world.init_pid(&name);
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).expect("status");
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list");
    assert_eq!(allowed.trim(), last.to_string());
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

#[test]
fn denied_device_nodes_cannot_be_opened_and_allowed_ones_can() {
    let world = World::new();
    let name = world.busybox("devices");
    // The seed's list (v1 here), and one more rule in cgroup2 form: the eBPF program on
    // the container's cgroup2 directory denies /dev/urandom although v1 allows it.
    world.append_config(
        &name,
        "lxc.cgroup.devices.deny = a\nlxc.cgroup.devices.allow = c *:* m\n\
         lxc.cgroup.devices.allow = c 1:3 rwm\nlxc.cgroup.devices.allow = c 1:5 rwm\n\
         lxc.cgroup.devices.allow = c 1:8 rwm\nlxc.cgroup.devices.allow = c 1:9 rwm\n\
         lxc.cgroup.devices.allow = c 5:0 rwm\nlxc.cgroup.devices.allow = c 5:1 rwm\n\
         lxc.cgroup.devices.allow = c 5:2 rwm\nlxc.cgroup.devices.allow = c 136:* rwm\n\
         lxc.cgroup2.devices.deny = c 1:9 rwm\n",
    );
    start(&world, &name, &[]);
    let try_open = |major_minor: &str| {
        let script = format!(
            "rm -f /dev/probe; mknod /dev/probe c {} && head -c 1 /dev/probe > /dev/null",
            major_minor.replace(':', " ")
        );
        attach(&world, &name, &script)
    };
    let zero = try_open("1:5");
    assert!(zero.status.success(), "/dev/zero (allowed): {zero:?}");
    let mem = try_open("1:1");
    assert!(!mem.status.success(), "/dev/mem (denied by v1) was opened");
    assert!(
        String::from_utf8_lossy(&mem.stderr).contains("not permitted"),
        "{mem:?}"
    );
    let random = try_open("1:8");
    assert!(random.status.success(), "/dev/random (allowed): {random:?}");
    let urandom = try_open("1:9");
    assert!(
        !urandom.status.success(),
        "/dev/urandom (denied by eBPF) was opened"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

/// The counter the container's init writes into its rootfs.
fn count(path: &std::path::Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn freeze_stops_a_counter_and_unfreeze_resumes_it() {
    let world = World::new();
    let name = world.busybox("freeze");
    start(
        &world,
        &name,
        &[
            "--",
            "/bin/sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo $i > /count.tmp; mv /count.tmp /count; done",
        ],
    );
    let counter = world.lxcpath().join(&name).join("rootfs/count");
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&counter) < 10 {
        assert!(Instant::now() < deadline, "the counter does not count");
        std::thread::sleep(Duration::from_millis(20));
    }
    world.rlxc(&["freeze", "-n", &name]).assert().success();
    world
        .rlxc(&["wait", "-n", &name, "-s", "FROZEN", "-t", "10"])
        .assert()
        .success();
    assert_eq!(world.state(&name), "FROZEN");
    // The counting shell is held in the freezer (v1's __refrigerator; cgroup2's freezer
    // traps it in the signal path: do_freezer_trap, inlined into get_signal), not merely
    // between two counts: then the count cannot move. (user-mode-linux's unwinder may stop
    // in its own block_signals, on the way into the trap's schedule.)
    let counting = world.init_pid(&name);
    let wchan = std::fs::read_to_string(format!("/proc/{counting}/wchan")).expect("wchan");
    assert!(
        [
            "__refrigerator",
            "do_freezer_trap",
            "get_signal",
            "block_signals"
        ]
        .contains(&wchan.trim()),
        "the counter is not in the freezer: {wchan}"
    );
    let frozen_at = count(&counter);
    assert_eq!(count(&counter), frozen_at, "counting while frozen");
    world.rlxc(&["unfreeze", "-n", &name]).assert().success();
    assert_eq!(world.state(&name), "RUNNING");
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&counter) <= frozen_at {
        assert!(Instant::now() < deadline, "the counter did not resume");
        std::thread::sleep(Duration::from_millis(20));
    }
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// The freezer holds the freeze state (as LXC reads it): a freeze made through the cgroup
/// file shows in `info` and `ls --frozen` as one made by `rlxc freeze` does, and a thaw
/// through it wakes `wait`.
#[test]
fn a_freeze_through_the_cgroup_file_shows_in_info_ls_and_wait() {
    let world = World::new();
    let name = world.busybox("freezefile");
    start(&world, &name, &[]);
    let freezer = Freezer::of(world.init_pid(&name));
    freezer.write(true);
    // A v1 freeze may stop at FREEZING when a task was busy at the write (a loaded host);
    // as LXC's freeze does, it is asked again until it is whole.
    let deadline = Instant::now() + Duration::from_secs(10);
    while freezer.file.ends_with("freezer.state")
        && std::fs::read_to_string(&freezer.file).is_ok_and(|s| s.trim() == "FREEZING")
    {
        assert!(Instant::now() < deadline, "the freeze never completed");
        std::thread::sleep(Duration::from_millis(20));
        freezer.write(true);
    }
    world
        .rlxc(&["wait", "-n", &name, "-s", "FROZEN", "-t", "10"])
        .assert()
        .success();
    assert_eq!(world.state(&name), "FROZEN");
    let listed = world.output(&["ls", "--frozen", "-1"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), name);
    // A wait learns of a thaw through the file too (cgroup2: cgroup.events; v1: it looks
    // again while the container is frozen), and THAWED is that change.
    let mut waiter = world.spawn_waiting(&["wait", "-n", &name, "-s", "THAWED", "-t", "20"]);
    freezer.write(false);
    let status = waiter.wait().expect("wait exits");
    assert!(status.success(), "{status}");
    assert_eq!(world.state(&name), "RUNNING");
    let listed = world.output(&["ls", "--frozen", "-1"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// A frozen container's processes take no signal until thawed: a stop, graceful or `-k`,
/// and a `destroy -f` thaw it after the signal, and so end it (they waited for ever before).
#[test]
fn a_frozen_container_is_stopped_killed_and_destroyed() {
    let world = World::new();
    let name = world.busybox("frozenstop");
    for stop in [
        &["stop", "-t", "10", "--nokill"][..],
        &["stop", "-k"][..],
        &["destroy", "-f"][..],
    ] {
        start(&world, &name, &[]);
        let init = world.init_pid(&name);
        let _thaw_if_failed = Freezer::of(init);
        world.rlxc(&["freeze", "-n", &name]).assert().success();
        assert_eq!(world.state(&name), "FROZEN");
        let mut args = stop.to_vec();
        args.extend_from_slice(&["-n", &name]);
        let out = world
            .rlxc(&args)
            .timeout(Duration::from_secs(30))
            .output()
            .expect("run rlxc");
        assert!(out.status.success(), "{stop:?}: {out:?}");
        assert!(
            !std::path::Path::new(&format!("/proc/{init}")).exists(),
            "{stop:?}: init {init} still there"
        );
        world.assert_nothing_left(&name);
    }
    assert!(!world.lxcpath().join(&name).exists(), "destroy -f left it");
}

/// `rlxc freeze` writes no state file: it touches it, and that wakes a waiting `rlxc wait`.
/// An attach to the frozen container runs once it is thawed, with a notice.
#[test]
fn a_wait_for_frozen_wakes_when_another_process_freezes() {
    let world = World::new();
    let name = world.busybox("freezewait");
    start(&world, &name, &[]);
    let mut waiter = world.spawn_waiting(&["wait", "-n", &name, "-s", "FROZEN", "-t", "20"]);
    world.rlxc(&["freeze", "-n", &name]).assert().success();
    let status = waiter.wait().expect("wait exits");
    assert!(status.success(), "{status}");
    // An attach to the frozen container waits for the thaw, and says so.
    let mut attached = world
        .process(
            std::path::Path::new(support::RLXC),
            &["attach", "-n", &name, "--", "/bin/echo", "thawed"],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("attach");
    support::wait_until_sleeping(&mut attached);
    world.rlxc(&["unfreeze", "-n", &name]).assert().success();
    let out = attached.wait_with_output().expect("attach ends");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "thawed\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is FROZEN"),
        "{out:?}"
    );
    assert_eq!(world.state(&name), "RUNNING");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn weights_read_back_in_either_spelling() {
    let world = World::new();
    let name = world.busybox("weights");
    world.append_config(
        &name,
        "lxc.cgroup.cpu.shares = 512\nlxc.cgroup.blkio.weight = 300\n",
    );
    let stderr = start(&world, &name, &[]);
    let init = world.init_pid(&name);
    let cpu = cgroup_dir(init, "cpu");
    let shares = if cpu.join("cpu.shares").exists() {
        ("cpu.shares", "512")
    } else {
        ("cpu.weight", "20")
    };
    assert_eq!(read(&cpu, shares.0), shares.1);
    let blkio = cgroup_dir(init, "blkio");
    let weight = [
        "blkio.weight",
        "blkio.bfq.weight",
        "io.bfq.weight",
        "io.weight",
    ]
    .iter()
    .find(|f| blkio.join(f).exists());
    match weight {
        Some(file) if file.starts_with("blkio") => assert_eq!(read(&blkio, file), "300"),
        Some(_) => {}
        None => assert!(
            stderr.contains("lxc.cgroup.blkio.weight = 300: not applied"),
            "{stderr}"
        ),
    }
    // The other spelling through `rlxc cgroup`: cpu.weight 100 is cpu.shares 2597 on v1.
    let set = world.output(&["cgroup", "-n", &name, "cpu.weight", "100"]);
    assert!(set.status.success(), "{set:?}");
    if shares.0 == "cpu.shares" {
        assert_eq!(read(&cpu, "cpu.shares"), "2597");
        assert!(
            String::from_utf8_lossy(&set.stderr).contains("cpu.shares = 2597"),
            "{set:?}"
        );
    }
    let got = world.output(&["cgroup", "-n", &name, shares.0]);
    assert_eq!(
        String::from_utf8_lossy(&got.stdout).trim(),
        if shares.0 == "cpu.shares" {
            "2597"
        } else {
            "100"
        }
    );
    let json = world.output(&["cgroup", "-n", &name, shares.0, "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(json["key"], shares.0);
    assert_eq!(json["value"], String::from_utf8_lossy(&got.stdout).trim());
    let stats = world.output(&["info", "-n", &name, "-S", "-H"]);
    let text = String::from_utf8_lossy(&stats.stdout);
    for label in ["CPU use:", "Memory use:", "Pids:"] {
        assert!(text.contains(label), "{text}");
    }
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

#[test]
fn lxc_cgroup_dir_holds_payload_and_monitor_apart_and_both_go_after_a_monitor_crash() {
    let world = World::new();
    let name = world.busybox("cgdir");
    let dir = format!("rlxc-test-{name}");
    world.append_config(&name, &format!("lxc.cgroup.dir = {dir}\n"));
    start(&world, &name, &[]);
    let init = world.init_pid(&name);
    let pids = cgroup_dir(init, "pids");
    // Below the configured dir, named after the container (and its lxcpath's hash: this
    // test's lxcpath is a private one).
    let payload = pids
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        pids.parent().is_some_and(|p| p.ends_with(&dir))
            && payload.starts_with(&format!("rlxc.payload.{name}.")),
        "{pids:?}"
    );
    // The monitor's own cgroup is a cgroup2 one (in v1 it stays where rlxc was started),
    // next to the payload's there.
    let unified = support::unified_cgroup_dir(init);
    let monitor_dir = unified.with_file_name(payload.replacen("payload", "monitor", 1));
    // The monitor, and the server of the container's /proc view that it forked.
    let comm = |pid: &i32| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let procs: Vec<i32> = read(&monitor_dir, "cgroup.procs")
        .lines()
        .map(|l| l.parse().expect("a pid"))
        .collect();
    assert!(!procs.contains(&init), "{procs:?}");
    let (monitors, others): (Vec<i32>, Vec<i32>) = procs
        .iter()
        .partition(|pid| comm(pid).starts_with("rlxc-mon"));
    assert_eq!(monitors.len(), 1, "{procs:?}");
    assert!(
        others.iter().all(|pid| comm(pid).starts_with("rlxc-view")),
        "{procs:?}"
    );
    let monitor = monitors[0];

    // A killed monitor leaves everything behind; the next look cleans it all up.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(monitor).expect("pid"),
        rustix::process::Signal::KILL,
    )
    .expect("kill the monitor");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{monitor}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(world.state(&name), "STOPPED");
    world.output(&["start", "-n", &name, "-d"]);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    assert!(!monitor_dir.exists(), "{monitor_dir:?} left");
    assert!(!pids.exists(), "{pids:?} left");
    assert!(!pids.parent().expect("dir").exists(), "{dir} left");
    assert!(
        !unified.parent().expect("dir").exists(),
        "{dir} left in cgroup2"
    );
    world.assert_nothing_left(&name);
}

#[test]
#[ignore = "needs a pure cgroup2 host: tests/uml/run.sh runs it (--include-ignored)"]
fn the_seed_limits_are_translated_and_in_force_on_pure_cgroup2() {
    assert!(
        pure_v2(),
        "needs a pure cgroup2 host: run through tests/uml/run.sh"
    );
    let world = World::new();
    let rootfs_owner = world.busybox("seed2root");
    let name = world.name("seed2");
    let seed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config/tests/fixtures/funtoo0.conf"),
    )
    .expect("seed");
    // Without cpuset.cpus: this kernel has no cpuset controller.
    let config: String = seed
        .lines()
        .filter(|l| !l.contains("cpuset"))
        .map(|l| format!("{l}\n"))
        .collect();
    let rcfile = world.dir.path().join("seed2.conf");
    std::fs::write(&rcfile, config).expect("write config");
    let rootfs = world.lxcpath().join(&rootfs_owner).join("rootfs");
    let defines = [
        format!("lxc.rootfs.path={}", rootfs.display()),
        "lxc.net.0.type=empty".to_owned(),
        format!(
            "lxc.console.logfile={}",
            world.dir.path().join("seed2.console").display()
        ),
    ];
    let mut args = vec!["--rcfile".to_owned(), rcfile.display().to_string()];
    for define in &defines {
        args.extend(["-s".to_owned(), define.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let stderr = start(&world, &name, &args);
    for key in [
        "cpu.shares",
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "blkio.weight",
        "devices.deny",
    ] {
        assert!(
            stderr.contains(&format!("lxc.cgroup.{key}")),
            "no notice for {key}: {stderr}"
        );
    }
    let dir = cgroup_dir(world.init_pid(&name), "memory");
    assert_eq!(read(&dir, "memory.max"), (1024u64 << 20).to_string());
    if dir.join("memory.swap.max").exists() {
        assert_eq!(read(&dir, "memory.swap.max"), (1024u64 << 20).to_string());
    }
    assert_eq!(read(&dir, "cpu.weight"), "39");
    // The device list, as eBPF: /dev/null opens, /dev/mem (made with the allowed mknod) not.
    let null = attach(&world, &name, "head -c 0 /dev/null");
    assert!(null.status.success(), "{null:?}");
    let mem = attach(
        &world,
        &name,
        "mknod /dev/probe c 1 1 && head -c 1 /dev/probe",
    );
    assert!(!mem.status.success(), "/dev/mem opened: {mem:?}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// `cgroup:mixed` gives the container a cgroup tree of its own to write (as systemd needs):
/// its root is an inner cgroup below the one with the host's limits, so it can make cgroups
/// and move its processes, but a "raised" limit at its root changes nothing the host set.
/// `cgroup:ro` mounts the same view read-only.
#[test]
fn cgroup_automounts_give_the_container_its_own_tree_below_the_hosts_limits() {
    let world = World::new();
    let name = world.busybox("cgmount");
    world.append_config(
        &name,
        "lxc.mount.auto = proc:mixed sys:ro cgroup:mixed\nlxc.cgroup.pids.max = 77\n",
    );
    start(&world, &name, &[]);
    let pure = pure_v2();
    let root = if pure {
        "/sys/fs/cgroup"
    } else {
        "/sys/fs/cgroup/pids"
    };
    let seen = attach(&world, &name, "cat /proc/self/cgroup");
    let text = String::from_utf8_lossy(&seen.stdout);
    assert!(seen.status.success(), "{seen:?}");
    assert!(
        text.lines()
            .filter(|l| l.contains(':'))
            .all(|l| l.ends_with(":/")),
        "{text}"
    );
    let own = attach(
        &world,
        &name,
        &format!(
            "mkdir {root}/child && echo $$ > {root}/child/cgroup.procs && cat /proc/self/cgroup \
             && echo max > {root}/pids.max"
        ),
    );
    assert!(own.status.success(), "{own:?}");
    let own_text = String::from_utf8_lossy(&own.stdout);
    assert!(
        own_text.lines().any(|l| l.ends_with(":/child")),
        "{own_text}"
    );
    let pids = cgroup_dir(world.init_pid(&name), "pids");
    assert_eq!(read(&pids, "pids.max"), "77");
    // In force below: a_fork_bomb_stops_at_pids_max.
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);

    // cgroup:ro: the same view, read-only, and no inner cgroup.
    let name = world.busybox("cgmount-ro");
    world.append_config(
        &name,
        "lxc.mount.auto = proc:mixed sys:ro cgroup:ro\nlxc.cgroup.pids.max = 77\n",
    );
    start(&world, &name, &[]);
    let seen = attach(
        &world,
        &name,
        &format!("cat {root}/pids.max; echo max > {root}/pids.max"),
    );
    assert!(!seen.status.success(), "the limit was raised: {seen:?}");
    assert!(
        String::from_utf8_lossy(&seen.stdout)
            .lines()
            .any(|l| l == "77"),
        "{seen:?}"
    );
    assert!(
        String::from_utf8_lossy(&seen.stderr).contains("Read-only"),
        "{seen:?}"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// A limit the kernel refuses fails the start in its cgroups step, pointing at the line
/// that set it (of two limits, the one refused), and leaves no cgroup behind.
#[test]
fn a_refused_limit_fails_the_start_at_its_line() {
    let world = World::new();
    let name = world.busybox("limitbad");
    let line = "lxc.cgroup.cpuset.cpus = 4000";
    world.append_config(&name, &format!("{line}\nlxc.cgroup.pids.max = 100\n"));
    let origin = world.config_origin(&name, line);
    let out = world.output(&["start", "-n", &name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{name} failed to start: {origin}: cgroups: lxc.cgroup.cpuset.cpus = 4000: "
        )),
        "{stderr}"
    );
    world.assert_nothing_left(&name);
}
