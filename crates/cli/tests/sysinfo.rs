//! sysinfo(2) inside real containers: busybox `free` and `uptime` (which ask sysinfo, not
//! /proc) and a static probe run by init show the container's memory limit, uptime, load
//! and tasks, answered by the /proc view's server through seccomp user notification; a bad
//! buffer gets EFAULT; attached commands get the same answers (their filter's listener
//! handed to the server through the monitor); without the view or with a profile file the
//! kernel answers.

mod support;

use std::path::Path;
use std::process::Command;

use support::World;

const LIMIT_KIB: u64 = 256 * 1024;

/// The static probe (fixtures/sysinfo_probe.c), built into the container's /bin.
fn install_probe(root: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysinfo_probe.c");
    // gcc rather than cc: the UML lane's guest shares /usr but not /etc/alternatives.
    let compiler = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
    let out = Command::new(&compiler)
        .args(["-static", "-O1", "-o"])
        .arg(root.join("bin/sysinfo-probe"))
        .arg(&source)
        .output()
        .unwrap_or_else(|e| panic!("{compiler}: {e}"));
    assert!(
        out.status.success(),
        "{compiler}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// `free`'s Mem: total, in KiB.
fn free_total(free: &str) -> u64 {
    free.lines()
        .find(|l| l.starts_with("Mem:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("free:\n{free}"))
}

/// A `key value...` line of the probe's output.
fn probe_field<'a>(probe: &'a str, key: &str) -> &'a str {
    probe
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
        .unwrap_or_else(|| panic!("{key} in\n{probe}"))
}

fn host_kib(key: &str) -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("host meminfo")
}

/// `load average: 0.08, 0.02, 0.01` of busybox uptime, as `/proc/loadavg` writes them.
fn uptime_loads(uptime: &str) -> String {
    uptime
        .split("load average: ")
        .nth(1)
        .map(|l| l.trim().replace(", ", " "))
        .unwrap_or_else(|| panic!("uptime: {uptime}"))
}

fn seccomp_filters(pid: i32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Seccomp_filters")
}

/// `free`'s total as an attached command sees it.
fn attached_free(world: &World, name: &str) -> u64 {
    let out = world.output(&["attach", "-n", name, "--", "free"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "attach: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    free_total(&stdout)
}

/// The seccomp filters an attached command runs under (from its own /proc/self/status).
fn attached_filters(world: &World, name: &str) -> u32 {
    // The shell's own status, read by the shell: the UML lane's busybox rootfs has no `cat`.
    let script = "while read -r line; do echo \"$line\"; done < /proc/self/status";
    let out = world.output(&["attach", "-n", name, "--", "/bin/sh", "-c", script]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "attach: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp_filters:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Seccomp_filters")
}

fn open_fds(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count()
}

/// The monitor's open fds once its own move into its cgroup2 cgroup is done: it makes that
/// move after telling `start` the container runs (the move waits for an RCU grace period,
/// which no start should), through a `cgroup.procs` it holds open meanwhile. Waited for,
/// with a generous bound against a hang.
fn settled_fds(monitor: i32) -> usize {
    let moving = || {
        std::fs::read_dir(format!("/proc/{monitor}/fd"))
            .expect("fd dir")
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_link(entry.path()).ok())
            .any(|target| target.ends_with("cgroup.procs"))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while moving() {
        assert!(std::time::Instant::now() < deadline, "monitor still moving");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    open_fds(monitor)
}

/// Sets `sysinfo_view` in the container's state file, as if its view answered sysinfo.
fn claim_sysinfo_view(world: &World, name: &str) {
    let dir = std::fs::read_dir(world.run_root())
        .expect("run root")
        .filter_map(Result::ok)
        .find(|e| {
            let entry = e.file_name().to_string_lossy().into_owned();
            entry == name || entry.starts_with(&format!("{name}."))
        })
        .expect("run directory");
    let path = dir.path().join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("state")).expect("json");
    assert_eq!(state["sysinfo_view"], serde_json::Value::Bool(false));
    state["sysinfo_view"] = serde_json::Value::Bool(true);
    std::fs::write(&path, state.to_string()).expect("state");
}

fn stop(world: &World, name: &str) {
    world.rlxc(&["stop", "-n", name, "-k"]).assert().success();
    world.assert_nothing_left(name);
}

#[test]
fn free_uptime_and_sysinfo_inside_are_the_containers_and_a_bad_buffer_gets_efault() {
    let world = World::new();
    let name = world.busybox("si-view");
    world.append_config(&name, "lxc.cgroup.memory.limit_in_bytes = 256M\n");
    let root = world.rootfs(&name);
    install_probe(&root);
    // A busy loop for a few load samples (every 5 s), then everything read by init's
    // children: the view's /proc/loadavg on both sides of `uptime`, so one of them is of
    // the same sample.
    world.start_with_init_script(
        &name,
        "(while :; do :; done) & busy=$!; sleep 11; \
         cat /proc/loadavg > /load1; uptime > /uptime; cat /proc/loadavg > /load2; \
         kill $busy; free > /free; /bin/sysinfo-probe > /probe; echo exit $? >> /probe",
    );
    let init = world.init_pid(&name);
    let free = read(&root, "free");
    assert_eq!(free_total(&free), LIMIT_KIB, "free:\n{free}");
    assert!(host_kib("MemTotal") > LIMIT_KIB, "the host has more");

    let probe = read(&root, "probe");
    assert_eq!(probe_field(&probe, "bad"), "EFAULT", "{probe}");
    assert_eq!(probe_field(&probe, "exit"), "0", "{probe}");
    // The container went on after the bad call: the next call got its numbers.
    assert_eq!(probe_field(&probe, "total_kib"), LIMIT_KIB.to_string());
    let free_kib: u64 = probe_field(&probe, "free_kib").parse().expect("free");
    assert!(free_kib > 0 && free_kib < LIMIT_KIB, "{probe}");
    // Its own uptime (its time namespace starts at 0), not the host's.
    let uptime: u64 = probe_field(&probe, "uptime").parse().expect("uptime");
    let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("uptime")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("host uptime");
    assert!((11..120).contains(&uptime), "{probe}");
    // (Far longer on a host up for a while; in the UML lane, with no time namespace, the
    // container's lifetime.)
    assert!((uptime as f64) < host_uptime, "host {host_uptime}: {probe}");
    // Its tasks: sh, sleep's successor and the probe, a handful, not the host's hundreds.
    let procs: u64 = probe_field(&probe, "procs").parse().expect("procs");
    assert!((1..20).contains(&procs), "{probe}");

    let uptime = read(&root, "uptime");
    assert!(uptime.contains("up 0 min"), "{uptime}");
    let loads = uptime_loads(&uptime);
    // The same averages: uptime cuts sysinfo's numbers to two decimals, /proc/loadavg
    // rounds them (as the kernel does for the host's).
    let numbers = |text: &str| -> Vec<f64> {
        text.split_whitespace()
            .take(3)
            .map(|n| n.parse().expect("load"))
            .collect()
    };
    let same_sample = |file: &str| {
        let view = numbers(&read(&root, file));
        numbers(&loads)
            .iter()
            .zip(&view)
            .all(|(cut, rounded)| *cut <= *rounded + 1e-9 && *cut >= *rounded - 0.01 - 1e-9)
    };
    assert!(
        same_sample("load1") || same_sample("load2"),
        "uptime: {uptime} /proc/loadavg: {} / {}",
        read(&root, "load1"),
        read(&root, "load2")
    );
    assert_ne!(loads, "0.00 0.00 0.00", "the busy loop counted");

    // Init runs under the sysinfo filter and the default policy's.
    assert_eq!(seccomp_filters(init), 2);
    // Attached commands are not init's descendants: they get a filter of their own, whose
    // listener the same server answers.
    assert_eq!(attached_free(&world, &name), LIMIT_KIB);
    assert_eq!(attached_filters(&world, &name), 2);
    stop(&world, &name);
}

#[test]
fn without_the_view_or_with_a_profile_file_the_kernel_answers_sysinfo() {
    let world = World::new();
    let profile = world.dir.path().join("deny.seccomp");
    std::fs::write(&profile, "2\ndenylist\nmkdir errno 13\n").expect("profile");
    for (base, line) in [
        ("si-off", "lxc.procview = 0".to_string()),
        (
            "si-prof",
            format!("lxc.seccomp.profile = {}", profile.display()),
        ),
    ] {
        let name = world.busybox(base);
        world.append_config(
            &name,
            &format!("lxc.cgroup.memory.limit_in_bytes = 256M\n{line}\n"),
        );
        world.start_with_init_script(&name, "free > /free");
        let free = read(&world.rootfs(&name), "free");
        assert_eq!(free_total(&free), host_kib("MemTotal"), "{line}:\n{free}");
        // Only the one filter: no sysinfo filter under it.
        assert_eq!(seccomp_filters(world.init_pid(&name)), 1, "{line}");
        // Nor under an attached command's.
        assert_eq!(attached_free(&world, &name), host_kib("MemTotal"), "{line}");
        assert_eq!(attached_filters(&world, &name), 1, "{line}");
        // A state file that claims a view: attach tries, the monitor refuses the listener,
        // and the command runs without the filter (never under one nobody answers).
        claim_sysinfo_view(&world, &name);
        assert_eq!(attached_free(&world, &name), host_kib("MemTotal"), "{line}");
        assert_eq!(attached_filters(&world, &name), 1, "{line}");
        stop(&world, &name);
    }
}

#[test]
fn a_killed_server_comes_back_and_sysinfo_is_answered_again() {
    let world = World::new();
    let name = world.busybox("si-kill");
    world.append_config(&name, "lxc.cgroup.memory.limit_in_bytes = 256M\n");
    let root = world.rootfs(&name);
    // Init's shell answers each request in /ask (a FIFO) with a fresh `free` in /answer.
    let ask = root.join("ask");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &ask,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("mkfifo");
    world.start_with_init_script(
        &name,
        "(while read -r _ < /ask; do free > /answer.new; mv /answer.new /answer; done) & true",
    );
    let ask_for_free = || {
        let _ = std::fs::remove_file(root.join("answer"));
        std::fs::write(&ask, "free\n").expect("ask");
        // A generous bound against a hang, not a timing assertion.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !root.join("answer").exists() {
            assert!(std::time::Instant::now() < deadline, "no answer");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        read(&root, "answer")
    };
    assert_eq!(free_total(&ask_for_free()), LIMIT_KIB);
    let before = world.view_servers(&name);
    assert_eq!(before.len(), 1, "{before:?}");
    let server = rustix::process::Pid::from_raw(before[0]).expect("pid");
    rustix::process::kill_process(server, rustix::process::Signal::KILL).expect("kill");
    // Asked at once: the call waits for the next server, which the monitor forks.
    assert_eq!(free_total(&ask_for_free()), LIMIT_KIB);
    let after = world.view_servers(&name);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after, before);

    // An attach right after a kill: its listener reaches the next server (sent to the dead
    // one, or given to its successor at the start), and its sysinfo is answered.
    let server = rustix::process::Pid::from_raw(after[0]).expect("pid");
    rustix::process::kill_process(server, rustix::process::Signal::KILL).expect("kill");
    assert_eq!(attached_free(&world, &name), LIMIT_KIB);
    let third = world.view_servers(&name);
    assert_eq!(third.len(), 1, "{third:?}");
    assert_ne!(third, after);
    stop(&world, &name);
}

#[test]
fn many_attaches_leave_no_listener_behind_in_the_monitor_or_the_server() {
    let world = World::new();
    let name = world.busybox("si-many");
    world.append_config(&name, "lxc.cgroup.memory.limit_in_bytes = 256M\n");
    world.start_with_init_script(&name, "true");
    let monitor = world.monitor_pid(&name);
    let servers = world.view_servers(&name);
    assert_eq!(servers.len(), 1, "{servers:?}");
    let server = servers[0];
    let before = (settled_fds(monitor), open_fds(server));
    for _ in 0..20 {
        assert_eq!(attached_free(&world, &name), LIMIT_KIB);
    }
    // A listener is closed once its processes are gone, which both learn from POLLHUP after
    // the attach returned: waited for, with a generous bound against a hang.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while (open_fds(monitor), open_fds(server)) != before {
        assert!(
            std::time::Instant::now() < deadline,
            "fds (monitor, server) before {before:?}, now {:?}",
            (open_fds(monitor), open_fds(server))
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        world.view_servers(&name),
        vec![server],
        "the same server answered all"
    );
    stop(&world, &name);
}
