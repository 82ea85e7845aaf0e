//! The container's own /proc view on real containers: what programs inside read, compared
//! with the host's files and the container's cgroups as the host sees them.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::World;

fn start(world: &World, name: &str) -> String {
    let out = world.output(&["start", "-n", name, "-d"]);
    assert!(
        out.status.success(),
        "start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout of `sh -c SCRIPT` inside, which must succeed.
fn inside(world: &World, name: &str, script: &str) -> String {
    let out = world.output(&["attach", "-n", name, "--", "/bin/sh", "-c", script]);
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn kb(meminfo: &str, key: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{key} in\n{meminfo}"))
}

fn stop_and_check(world: &World, name: &str) {
    let servers = world.view_servers(name);
    world.rlxc(&["stop", "-n", name, "-k"]).assert().success();
    world.assert_nothing_left(name);
    let left: Vec<_> = servers
        .iter()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    assert!(left.is_empty(), "a view server is left: {left:?}");
}

#[test]
fn meminfo_and_free_show_the_memory_limit() {
    let world = World::new();
    let name = world.busybox("pv-mem");
    world.append_config(&name, "lxc.cgroup.memory.limit_in_bytes = 256M\n");
    start(&world, &name);
    let host = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    let meminfo = inside(&world, &name, "cat /proc/meminfo");
    assert_eq!(kb(&meminfo, "MemTotal"), 256 * 1024, "{meminfo}");
    assert!(kb(&host, "MemTotal") > 256 * 1024, "the host has more");
    assert!(kb(&meminfo, "MemFree") < 256 * 1024);
    assert!(kb(&meminfo, "MemAvailable") <= 256 * 1024);
    // busybox `free` takes total/used/free from sysinfo(2) (for an attached command the
    // kernel's, see tests/sysinfo.rs) and "available" from /proc/meminfo: that column is the
    // container's.
    let free = inside(&world, &name, "free");
    let available: u64 = free
        .lines()
        .find(|l| l.starts_with("Mem:"))
        .and_then(|l| l.split_whitespace().nth(6)?.parse().ok())
        .unwrap_or_else(|| panic!("free:\n{free}"));
    assert!(available <= 256 * 1024, "free:\n{free}");
    // A user other than root reads the view too (allow_other), and nothing is writable.
    let as_nobody = inside(
        &world,
        &name,
        "su nobody -s /bin/sh -c 'head -1 /proc/meminfo'",
    );
    assert!(as_nobody.contains("262144 kB"), "{as_nobody}");
    inside(&world, &name, "! echo 1 > /proc/meminfo");
    // The view is only the bound files: no fuse mount of its own anywhere else.
    let mounts = inside(&world, &name, "cat /proc/self/mountinfo");
    let view_mounts: Vec<&str> = mounts
        .lines()
        .filter(|l| l.contains("rlxc-procview"))
        .collect();
    assert!(
        view_mounts
            .iter()
            .all(|l| l.split_whitespace().nth(3) != Some("/")),
        "{view_mounts:?}"
    );
    stop_and_check(&world, &name);
}

#[test]
fn nproc_cpuinfo_and_online_show_the_cpuset() {
    let world = World::new();
    let name = world.busybox("pv-cpu");
    let host_online = std::fs::read_to_string("/sys/devices/system/cpu/online").expect("online");
    let last: u32 = host_online
        .trim()
        .rsplit(['-', ','])
        .next()
        .and_then(|n| n.parse().ok())
        .expect("host cpus");
    assert!(last >= 1, "this test needs a host with 2 CPUs or more");
    world.append_config(&name, &format!("lxc.cgroup.cpuset.cpus = {last}\n"));
    start(&world, &name);
    let host_cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("cpuinfo");
    assert!(host_cpuinfo.matches("processor").count() > 1);
    let seen = inside(
        &world,
        &name,
        "nproc; grep -c ^processor /proc/cpuinfo; grep ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online",
    );
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[0], "1", "nproc: {seen}");
    assert_eq!(lines[1], "1", "cpuinfo: {seen}");
    assert!(lines[2].ends_with(": 0"), "renumbered from 0: {seen}");
    assert_eq!(lines[3], "0", "online: {seen}");
    // /proc/stat: one CPU line besides the total, as cpuinfo says.
    let stat = inside(&world, &name, "cat /proc/stat");
    let cpu_lines: Vec<&str> = stat.lines().filter(|l| l.starts_with("cpu")).collect();
    assert_eq!(cpu_lines.len(), 2, "{stat}");
    stop_and_check(&world, &name);
}

/// `cpu` line of /proc/stat inside: user + system ticks.
fn busy_ticks(stat: &str) -> u64 {
    let line = stat.lines().next().expect("cpu line");
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields[0] + fields[2]
}

#[test]
fn loadavg_rises_with_busy_loops_inside_and_not_in_a_quiet_neighbour_and_stat_matches_the_cgroup() {
    let world = World::new();
    let busy = world.busybox("pv-busy");
    let quiet = world.busybox("pv-quiet");
    start(&world, &busy);
    start(&world, &quiet);
    inside(
        &world,
        &busy,
        "for i in 1 2; do (while :; do :; done) </dev/null >/dev/null 2>&1 & done",
    );
    let load_of = |name: &str| -> f64 {
        let text = inside(&world, name, "cat /proc/loadavg");
        text.split_whitespace()
            .next()
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("loadavg: {text}"))
    };
    // The load is sampled every 5 s: poll with a generous bound, assert only the ordering.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut busy_load = 0.0;
    while Instant::now() < deadline {
        busy_load = load_of(&busy);
        if busy_load >= 0.3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let quiet_load = load_of(&quiet);
    assert!(busy_load >= 0.3, "busy container's load stayed {busy_load}");
    assert!(
        quiet_load < busy_load,
        "quiet {quiet_load} vs busy {busy_load}"
    );
    let fields = inside(&world, &busy, "cat /proc/loadavg");
    let running: Vec<&str> = fields
        .split_whitespace()
        .nth(3)
        .expect("r/t")
        .split('/')
        .collect();
    assert!(running[0].parse::<u64>().expect("running") >= 1, "{fields}");

    // /proc/stat's CPU time is the cgroup's (cpuacct or cpu.stat), in USER_HZ ticks: read
    // between two readings of the cgroup, it lies between them (less the ticks each CPU's
    // user and system time lose to rounding down).
    let init = world.init_pid(&busy);
    let before = cgroup_cpu_ns(init) / 10_000_000;
    let stat = inside(&world, &busy, "cat /proc/stat");
    let after = cgroup_cpu_ns(init) / 10_000_000;
    let stat_ticks = busy_ticks(&stat);
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count();
    assert!(before > 100, "the loops ran: {before} ticks");
    assert!(
        before.saturating_sub(2 * cpus as u64) <= stat_ticks && stat_ticks <= after + 1,
        "cgroup {before}, then stat {stat_ticks}, then cgroup {after}"
    );
    stop_and_check(&world, &busy);
    stop_and_check(&world, &quiet);
}

/// The container's CPU time in ns from its cgroup, as the host sees it.
fn cgroup_cpu_ns(pid: i32) -> u64 {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if controllers.split(',').any(|c| c == "cpuacct") {
            let dir = format!("/sys/fs/cgroup/{controllers}{path}");
            let usage = std::fs::read_to_string(format!("{dir}/cpuacct.usage"))
                .or_else(|_| {
                    std::fs::read_to_string(format!("/sys/fs/cgroup/cpuacct{path}/cpuacct.usage"))
                })
                .expect("cpuacct.usage");
            return usage.trim().parse().expect("usage");
        }
    }
    let path = cgroups
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("0::");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let unified = mountinfo
        .lines()
        .find(|l| l.contains(" - cgroup2 "))
        .and_then(|l| l.split_whitespace().nth(4))
        .expect("cgroup2");
    let stat = std::fs::read_to_string(format!("{unified}{path}/cpu.stat")).expect("cpu.stat");
    let usec: u64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse().ok())
        .expect("usage_usec");
    usec * 1000
}

#[test]
fn a_killed_server_comes_back_and_reads_inside_go_on() {
    let world = World::new();
    let name = world.busybox("pv-kill");
    world.append_config(&name, "lxc.cgroup.memory.limit_in_bytes = 256M\n");
    start(&world, &name);
    let before = world.view_servers(&name);
    assert_eq!(before.len(), 1, "one server: {before:?}");
    // Readers keep reading while the server is killed under them.
    inside(
        &world,
        &name,
        "(i=0; while [ $i -lt 400 ]; do head -1 /proc/meminfo >> /tmp/reads || echo FAIL >> /tmp/reads; i=$((i+1)); done) </dev/null >/dev/null 2>&1 &",
    );
    // The readers have read through the server before it is killed (bounded, no fixed pause).
    let deadline = Instant::now() + Duration::from_secs(20);
    while inside(&world, &name, "cat /tmp/reads 2>/dev/null | wc -l").trim() == "0" {
        assert!(Instant::now() < deadline, "the readers never read");
        std::thread::sleep(Duration::from_millis(20));
    }
    let server = rustix::process::Pid::from_raw(before[0]).expect("pid");
    rustix::process::kill_process(server, rustix::process::Signal::KILL).expect("kill server");
    // The monitor starts a new one at once; wait for it (bounded), without timing asserts.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = world.view_servers(&name);
    while (after.is_empty() || after == before) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        after = world.view_servers(&name);
    }
    assert_eq!(after.len(), 1, "a new server: {after:?}");
    assert_ne!(after, before);
    assert!(inside(&world, &name, "head -1 /proc/meminfo").contains("262144 kB"));
    // Every read of the loop succeeded and saw the container's total.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut reads = String::new();
    while Instant::now() < deadline {
        reads = inside(&world, &name, "cat /tmp/reads");
        if reads.lines().count() >= 400 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(reads.lines().count(), 400, "{reads}");
    assert!(
        reads.lines().all(|l| l.contains("262144 kB")),
        "a read failed: {reads}"
    );
    stop_and_check(&world, &name);
}

#[test]
fn with_the_key_off_the_container_reads_the_kernels_files() {
    let world = World::new();
    let name = world.busybox("pv-off");
    world.append_config(
        &name,
        "lxc.cgroup.memory.limit_in_bytes = 256M\nlxc.procview = 0\n",
    );
    start(&world, &name);
    let host = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    let meminfo = inside(&world, &name, "cat /proc/meminfo");
    assert_eq!(kb(&meminfo, "MemTotal"), kb(&host, "MemTotal"));
    assert!(!inside(&world, &name, "cat /proc/self/mountinfo").contains("rlxc-procview"));
    assert!(world.view_servers(&name).is_empty());
    stop_and_check(&world, &name);
}

#[test]
fn without_fuse_an_unset_key_warns_and_a_required_view_fails_the_start() {
    let world = World::new();
    let name = world.busybox("pv-nofuse");
    let missing = world.dir.path().join("no-fuse-device");
    let out = world
        .rlxc(&["start", "-n", &name, "-d"])
        .env("RLXC_FUSE_DEVICE", &missing)
        .output()
        .expect("start");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lxc.procview") && stderr.contains("no-fuse-device"),
        "{stderr}"
    );
    let host = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    assert_eq!(
        kb(&inside(&world, &name, "cat /proc/meminfo"), "MemTotal"),
        kb(&host, "MemTotal")
    );
    stop_and_check(&world, &name);

    world.append_config(&name, "lxc.procview = 1\n");
    let out = world
        .rlxc(&["start", "-n", &name, "-d"])
        .env("RLXC_FUSE_DEVICE", &missing)
        .output()
        .expect("start");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lxc.procview") && stderr.contains("no-fuse-device"),
        "{stderr}"
    );
    world.assert_nothing_left(&name);
}

#[test]
fn a_cpu_quota_limits_the_cpus_shown_rounded_up() {
    let world = World::new();
    let name = world.busybox("pv-quota");
    // Half a CPU: rounded up to one.
    world.append_config(
        &name,
        "lxc.cgroup.cpu.cfs_period_us = 100000\nlxc.cgroup.cpu.cfs_quota_us = 50000\n",
    );
    start(&world, &name);
    let seen = inside(
        &world,
        &name,
        "grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online; grep -c ^cpu /proc/stat",
    );
    assert_eq!(seen.lines().collect::<Vec<_>>(), ["1", "0", "2"], "{seen}");
    stop_and_check(&world, &name);
}

/// (uptime, idle) of a `/proc/uptime` text, in seconds.
fn uptime_fields(text: &str) -> (f64, f64) {
    let mut words = text.split_whitespace().map(|w| w.parse::<f64>().ok());
    match (words.next().flatten(), words.next().flatten()) {
        (Some(up), Some(idle)) => (up, idle),
        _ => panic!("uptime: {text}"),
    }
}

/// The container's `/proc/uptime` is the view's file.
fn assert_uptime_is_the_views(world: &World, name: &str) {
    let mounts = inside(world, name, "cat /proc/self/mountinfo");
    assert!(
        mounts
            .lines()
            .any(|l| l.contains(" /proc/uptime ") && l.contains("rlxc-procview")),
        "{mounts}"
    );
}

#[test]
fn with_a_time_namespace_uptime_is_its_clock_and_idle_time_its_own() {
    let world = World::new();
    let name = world.busybox("pv-timens");
    // An offset moves the namespace's CLOCK_BOOTTIME from the host's (LXC's meaning; without
    // one rlxc starts it at 0): the view must show that clock, as the kernel's file would.
    world.append_config(&name, "lxc.time.offset.boot = 5h\n");
    if !Path::new("/proc/self/ns/time").exists() {
        // A kernel without time namespaces (the user-mode-linux lane's) cannot do what the
        // config asks: the start says why, before anything is made.
        let refused = world.output(&["start", "-n", &name]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{stderr}");
        assert!(
            stderr.contains("this kernel has no time namespaces"),
            "{stderr}"
        );
        world.assert_nothing_left(&name);
        return;
    }
    start(&world, &name);
    let host = std::fs::read_to_string("/proc/uptime").expect("uptime");
    let (host_up, host_idle) = uptime_fields(&host);
    let (up, idle) = uptime_fields(&inside(&world, &name, "cat /proc/uptime"));
    let cpus: f64 = inside(&world, &name, "nproc")
        .trim()
        .parse()
        .expect("nproc");
    let expected = host_up + 5.0 * 3600.0;
    assert!(
        (expected..expected + 60.0).contains(&up),
        "the namespace's uptime: {up} (host {host_up})"
    );
    // Its idle time is its uptime on each of its CPUs less the little it ran. The kernel's
    // own file shows the host's here: idle since the host booted, hours less than that.
    let busy = up * cpus - idle;
    assert!(
        (-1.0..60.0).contains(&busy),
        "idle {idle} for uptime {up} on {cpus} CPUs (host's idle {host_idle})"
    );
    assert_uptime_is_the_views(&world, &name);
    stop_and_check(&world, &name);
}

#[test]
fn without_a_time_namespace_uptime_is_the_containers_lifetime() {
    let world = World::new();
    let name = world.busybox("pv-uptime");
    world.append_config(&name, "lxc.namespace.keep = time\n");
    start(&world, &name);
    let (host, _) = uptime_fields(&std::fs::read_to_string("/proc/uptime").expect("uptime"));
    let (first, _) = uptime_fields(&inside(&world, &name, "cat /proc/uptime"));
    assert!(first < host, "inside {first} vs host {host}");
    assert_uptime_is_the_views(&world, &name);
    // It goes on: read again until it has moved (bounded against a hang, no fixed pause).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (second, _) = uptime_fields(&inside(&world, &name, "cat /proc/uptime"));
        if second > first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "uptime stays at {first}: {second}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop_and_check(&world, &name);
}
