//! Real containers on a busybox rootfs: start, info, stop with its exit codes, and that a
//! stop or a failed start leaves nothing behind.

mod support;

use predicates::prelude::*;
use support::World;

#[test]
fn start_runs_init_in_its_namespaces_and_stop_halts_it_cleanly() {
    let world = World::new();
    let name = world.busybox("life");
    world.rlxc(&["start", "-n", &name, "-d"]).assert().success();
    assert_eq!(world.state(&name), "RUNNING");
    let pid = world.init_pid(&name);
    for ns in ["pid", "mnt", "uts", "ipc", "net", "time"] {
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).expect("ns");
        let ours = std::fs::read_link(format!("/proc/self/ns/{ns}")).expect("ns");
        assert_ne!(theirs, ours, "{ns} namespace shared with the host");
    }
    // In every hierarchy: cgroup2 by clone3, the v1 ones entered by init's process itself.
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    assert!(
        cgroups
            .lines()
            .all(|line| line.contains(&format!("/rlxc.payload.{name}"))),
        "{cgroups}"
    );
    let hostname =
        std::fs::read_to_string(format!("/proc/{pid}/root/etc/hostname")).expect("hostname");
    assert_eq!(hostname.trim(), name);

    // Graceful: busybox init handles SIGPWR, so this ends well before the timeout.
    world
        .rlxc(&["stop", "-n", &name, "-t", "20"])
        .assert()
        .success();
    assert_eq!(world.state(&name), "STOPPED");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    world.assert_nothing_left(&name);
}

/// Without `lxc.uts.name` the container is named after itself, as LXC names it, and the
/// host's hostname is untouched.
#[test]
fn without_a_uts_name_the_hostname_is_the_containers_name() {
    let world = World::new();
    let name = world.busybox("noutsname");
    let config = std::fs::read_to_string(world.config(&name)).expect("config");
    assert!(config.contains("lxc.uts.name"), "{config}");
    let without: String = config
        .lines()
        .filter(|line| !line.starts_with("lxc.uts.name"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(world.config(&name), without).expect("config");
    let host = rustix::system::uname().nodename().to_owned();
    world.rlxc(&["start", "-n", &name]).assert().success();
    world
        .rlxc(&["attach", "-n", &name, "--", "/bin/hostname"])
        .assert()
        .success()
        .stdout(format!("{name}\n"));
    assert_eq!(rustix::system::uname().nodename(), host.as_c_str());
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// Rust's runtime ignores SIGPIPE, and an ignored disposition survives exec: init (and so
/// every process of the container) must not get it, as LXC's init does not.
#[test]
fn init_does_not_inherit_rlxcs_ignored_sigpipe() {
    let world = World::new();
    let name = world.busybox("sigpipe");
    world.rlxc(&["start", "-n", &name, "-d"]).assert().success();
    let pid = world.init_pid(&name);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    assert!(!support::ignores_sigpipe(&status), "{status}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// A container has a boot id of its own (as LXC gives it), read-only, new at each start:
/// what keys on it (systemd's journal) sees the container's boots, not the host's.
#[test]
fn each_start_gives_the_container_its_own_boot_id() {
    let world = World::new();
    let name = world.busybox("bootid");
    let host = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot_id");
    let mut seen = Vec::new();
    for _ in 0..2 {
        world.rlxc(&["start", "-n", &name, "-d"]).assert().success();
        let out = world.sh(
            &name,
            "cat /proc/sys/kernel/random/boot_id /dev/.lxc-boot-id; \
             echo x 2>/dev/null > /proc/sys/kernel/random/boot_id || echo read-only",
        );
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0], lines[1], "the bound file is /dev/.lxc-boot-id");
        assert_eq!(lines[0].len(), 36, "{text}");
        assert_ne!(lines[0], host.trim(), "the host's boot id");
        assert_eq!(lines[2], "read-only");
        seen.push(lines[0].to_owned());
        world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    }
    assert_ne!(seen[0], seen[1], "the same boot id at the next start");
    world.assert_nothing_left(&name);
}

#[test]
fn the_monitor_is_born_in_its_own_cgroups_and_they_go_with_it() {
    let world = World::new();
    let name = world.busybox("moncg");
    world.rlxc(&["start", "-n", &name, "-d"]).assert().success();
    // From the moment start returns, in every hierarchy, cgroup2 included: the monitor is
    // forked into it rather than moved (a move waits for an RCU grace period).
    let monitor = world.assert_monitor_in_its_own_cgroups(&name);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    // Gone, or a zombie its new parent has not reaped yet.
    let status = std::fs::read_to_string(format!("/proc/{monitor}/status")).unwrap_or_default();
    assert!(
        status.is_empty() || status.contains("State:\tZ"),
        "{status}"
    );
    world.assert_nothing_left(&name);
}

#[test]
fn start_in_the_foreground_returns_once_the_container_is_gone() {
    let world = World::new();
    let name = world.busybox("fg");
    // No console to relay: the foreground is the wait for the container's end.
    world.append_config(
        &name,
        "lxc.console.path = none\nlxc.init.cmd = /bin/sh -c \"sleep 0.5\"\n",
    );
    world.rlxc(&["start", "-n", &name, "-F"]).assert().success();
    assert_eq!(world.state(&name), "STOPPED");
    world.assert_nothing_left(&name);
    // And at once again, as a script runs one-shot containers.
    world.append_config(&name, "lxc.init.cmd = /bin/true\n");
    for _ in 0..3 {
        world.rlxc(&["start", "-n", &name, "-F"]).assert().success();
        world.assert_nothing_left(&name);
    }
}

#[test]
fn a_wait_for_stopping_wakes_when_init_exits_while_the_monitor_still_tears_down() {
    let world = World::new();
    let name = world.busybox("stopping");
    // The monitor stays in its stop hook for a while after init is gone, before it changes
    // any file: only init's exit says STOPPING then.
    let hook = world.dir.path().join("slow-stop-hook");
    let hook_done = world.dir.path().join("stop-hook.done");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\nsleep 6\ntouch {}\n", hook_done.display()),
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    world.append_config(&name, &format!("lxc.hook.stop = {}\n", hook.display()));
    world.rlxc(&["start", "-n", &name]).assert().success();
    // Blocked on the running container before the stop (were it late, it would see STOPPING
    // at once, and the test would show nothing rather than fail): spawn_waiting returns once
    // the waiter sleeps for a change.
    let mut waiter = world.spawn_waiting(&["wait", "-n", &name, "-s", "STOPPING", "-t", "20"]);
    world
        .rlxc(&["stop", "-n", &name, "-k", "-W"])
        .assert()
        .success();
    // STOPPING is not written anywhere (init's exit is it): the waiter must see init go.
    let status = waiter.wait().expect("wait exits");
    assert!(status.success(), "{status}");
    assert!(
        !hook_done.exists(),
        "the wait returned only once the stop hook was done"
    );
    assert_eq!(world.state(&name), "STOPPING");
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "20"])
        .assert()
        .success();
    world.assert_nothing_left(&name);
}

#[test]
fn exit_codes_of_start_and_stop() {
    let world = World::new();
    let name = world.busybox("codes");
    world
        .rlxc(&["stop", "-n", &name])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not running"));
    world.rlxc(&["start", "-n", &name]).assert().success();
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .success()
        .stderr(predicate::str::contains("is already running"));
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.rlxc(&["stop", "-n", &name]).assert().code(2);
    world.assert_nothing_left(&name);
}

#[test]
fn a_missing_init_fails_the_start_and_leaves_nothing() {
    let world = World::new();
    let name = world.busybox("noinit");
    world
        .rlxc(&["start", "-n", &name, "--", "/no/such/init"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("exec"))
        .stderr(predicate::str::contains("/no/such/init"));
    assert_eq!(world.state(&name), "STOPPED");
    world.assert_nothing_left(&name);
}

#[test]
fn a_bad_mount_entry_fails_the_start_and_leaves_nothing() {
    let world = World::new();
    let name = world.busybox("badmount");
    // Two entries: the error points at the failing one's line, not the last entry's.
    let entry = "lxc.mount.entry = /no/such/dir mnt none bind 0 0";
    world.append_config(
        &name,
        &format!("{entry}\nlxc.mount.entry = /tmp tmp none bind 0 0\n"),
    );
    let origin = world.config_origin(&name, entry);
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{name} failed to start: {origin}: spawn: rootfs: {entry}: "
        )))
        .stderr(predicate::str::contains("/no/such/dir"));
    world.assert_nothing_left(&name);
}

#[test]
fn a_missing_rootfs_fails_the_start_and_leaves_nothing() {
    let world = World::new();
    let name = world.busybox("norootfs");
    std::fs::rename(
        world.lxcpath().join(&name).join("rootfs"),
        world.lxcpath().join(&name).join("rootfs.gone"),
    )
    .expect("move rootfs");
    world.rlxc(&["start", "-n", &name]).assert().code(1);
    world.assert_nothing_left(&name);
}

#[test]
fn a_killed_monitor_takes_init_with_it_and_nothing_leaks() {
    let world = World::new();
    let name = world.busybox("killmon");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    world.kill_monitor(&name);
    // Init dies with its monitor (lxc.monitor.signal.pdeath defaults to SIGKILL).
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "10"])
        .assert()
        .success();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/status")).exists() || {
            let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            s.contains("State:\tZ")
        }
    );
    // stop finds nothing running and cleans what the monitor left.
    world.rlxc(&["stop", "-n", &name]).assert().code(2);
    world.assert_nothing_left(&name);
    // And the container starts again at once.
    world.rlxc(&["start", "-n", &name]).assert().success();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn twenty_start_stop_cycles_leave_nothing() {
    let world = World::new();
    let name = world.busybox("cycles");
    for _ in 0..20 {
        world.rlxc(&["start", "-n", &name]).assert().success();
        world
            .rlxc(&["stop", "-n", &name, "-t", "20"])
            .assert()
            .success();
    }
    world.assert_nothing_left(&name);
}

#[test]
fn wait_returns_when_the_state_is_reached_or_times_out() {
    let world = World::new();
    let name = world.busybox("wait");
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "1"])
        .assert()
        .success();
    world
        .rlxc(&["wait", "-n", &name, "-s", "RUNNING", "-t", "1"])
        .assert()
        .code(1);
    world.rlxc(&["start", "-n", &name]).assert().success();
    world
        .rlxc(&["wait", "-n", &name, "-s", "RUNNING|FROZEN", "-t", "5"])
        .assert()
        .success();
    // -W returns at once; -k so the outcome does not depend on how far init has booted.
    world
        .rlxc(&["stop", "-n", &name, "-k", "-W"])
        .assert()
        .success();
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "20"])
        .assert()
        .success();
    world.assert_nothing_left(&name);
}

#[test]
fn info_shows_lxcs_labels() {
    let world = World::new();
    let name = world.busybox("info");
    world
        .rlxc(&["info", "-n", &name])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("Name:           {name}")))
        .stdout(predicate::str::contains("State:          STOPPED"));
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    world
        .rlxc(&["info", "-n", &name])
        .assert()
        .success()
        .stdout(predicate::str::contains("State:          RUNNING"))
        .stdout(predicate::str::contains(format!("PID:            {pid}")));
    world
        .rlxc(&["info", "-n", &name, "-c", "lxc.uts.name", "-c", "lxc.bogus"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("lxc.uts.name = {name}")))
        .stdout(predicate::str::contains("lxc.bogus invalid"));
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world
        .rlxc(&["info", "-n", "no-such-container"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("doesn't exist"));
}

#[test]
fn hooks_run_at_their_moments_with_lxcs_environment() {
    let world = World::new();
    let name = world.busybox("hooks");
    let log = world.dir.path().join("hooks.log");
    let hook = world.dir.path().join("hook.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho \"$LXC_HOOK_TYPE name=$LXC_NAME pid=$LXC_PID target=$LXC_TARGET args=$*\" >> {}\n",
            log.display()
        ),
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let hook = hook.display().to_string();
    world.append_config(
        &name,
        &format!(
            "lxc.hook.pre-start = {hook}\nlxc.hook.start-host = {hook}\nlxc.hook.stop = {hook}\nlxc.hook.post-stop = {hook}\n"
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    let text = std::fs::read_to_string(&log).expect("hook log");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with(&format!("pre-start name={name} pid= ")),
        "{text}"
    );
    assert!(
        lines[0].ends_with(&format!("args={name} lxc pre-start")),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!("start-host name={name} pid={pid} ")),
        "{text}"
    );
    assert!(
        lines[2].starts_with("stop ") && lines[2].contains("target=stop"),
        "{text}"
    );
    assert!(lines[3].starts_with("post-stop "), "{text}");
    world.assert_nothing_left(&name);
}

#[test]
fn a_failing_pre_start_hook_aborts_the_start_and_leaves_nothing() {
    let world = World::new();
    let name = world.busybox("badhook");
    world.append_config(&name, "lxc.hook.pre-start = /bin/false\n");
    let origin = world.config_origin(&name, "lxc.hook.pre-start = /bin/false");
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{name} failed to start: {origin}: pre-start hooks: lxc.hook.pre-start = /bin/false: exited with"
        )));
    world.assert_nothing_left(&name);
}

#[test]
fn mount_and_autodev_hooks_run_in_the_containers_mount_namespace_before_pivot() {
    let world = World::new();
    let name = world.busybox("mounthook");
    let hook = world.dir.path().join("mount-hook.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\ntouch \"$LXC_ROOTFS_MOUNT/$LXC_HOOK_TYPE-was-here\"\ntest \"$LXC_HOOK_TYPE\" = autodev && touch \"$LXC_ROOTFS_MOUNT/dev/from-autodev-hook\"\nexit 0\n",
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let hook = hook.display().to_string();
    world.append_config(
        &name,
        &format!("lxc.hook.mount = {hook}\nlxc.hook.autodev = {hook}\n"),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    let root = format!("/proc/{pid}/root");
    assert!(std::path::Path::new(&format!("{root}/mount-was-here")).exists());
    // The autodev hook wrote into the container's own /dev tmpfs, not the rootfs's /dev.
    assert!(std::path::Path::new(&format!("{root}/dev/from-autodev-hook")).exists());
    let rootfs_dev = world
        .lxcpath()
        .join(&name)
        .join("rootfs/dev/from-autodev-hook");
    assert!(!rootfs_dev.exists());
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn stop_r_reboots_init_in_place_under_the_same_monitor() {
    let world = World::new();
    let name = world.busybox("reboot");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let before = world.init_pid(&name);
    world
        .rlxc(&["stop", "-n", &name, "-r", "-t", "20"])
        .assert()
        .success();
    assert_eq!(world.state(&name), "RUNNING");
    let after = world.init_pid(&name);
    assert_ne!(before, after, "init was not restarted");
    world
        .rlxc(&["stop", "-n", &name, "-t", "20"])
        .assert()
        .success();
    world.assert_nothing_left(&name);
}

#[test]
fn an_init_that_ignores_the_halt_signal_is_named_and_killed_without_sitting_out_the_timeout() {
    let world = World::new();
    let name = world.busybox("nohalt");
    // A shell as pid 1 has no SIGPWR handler: the signal never reaches it.
    world.append_config(
        &name,
        "lxc.init.cmd = /bin/sh -c 'while :; do sleep 1; done'\n",
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    // Not the 60 s timeout: "ignores signal" is said only when stop saw the signal ignored
    // (a halt that timed out is killed silently), and then it kills at once.
    world
        .rlxc(&["stop", "-n", &name, "-t", "60"])
        .assert()
        .success()
        .stderr(predicate::str::contains("ignores signal 30"))
        .stderr(predicate::str::contains("pf::powerwait"));
    world.assert_nothing_left(&name);
}

#[test]
fn the_containers_uptime_starts_at_its_own_start() {
    let world = World::new();
    let name = world.busybox("uptime");
    // Taken before the start: the container's clock cannot have run longer than this.
    let before_start = std::time::Instant::now();
    world.rlxc(&["start", "-n", &name]).assert().success();
    let inside = uptime_inside(&world, &name);
    // Its own time namespace: the uptime counts from its start, not the host's boot. (Not a
    // speed claim: a slow host only widens the bound; 0.01 s is /proc/uptime's rounding.)
    assert!(
        inside <= before_start.elapsed().as_secs_f64() + 0.01,
        "uptime inside is {inside} s"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn a_configured_boot_offset_is_honoured() {
    let world = World::new();
    let name = world.busybox("bootoff");
    world.append_config(&name, "lxc.time.offset.boot = 100000s\n");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let inside = uptime_inside(&world, &name);
    let host: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("uptime")
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("host uptime");
    // LXC's meaning: the offset is added to the host's clock.
    assert!(
        (inside - host - 100_000.0).abs() < 5.0,
        "inside {inside}, host {host}"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn same_named_containers_of_two_lxcpaths_run_side_by_side() {
    // Cgroups are host-wide: the lxcpath's hash in their names keeps the two apart.
    let first = World::new();
    let second = World::new();
    let name = first.name("twin");
    second.names.borrow_mut().push(name.clone());
    for world in [&first, &second] {
        world
            .rlxc(&["create", "-n", &name, "-t", "busybox"])
            .assert()
            .success();
    }
    first.rlxc(&["start", "-n", &name]).assert().success();
    second.rlxc(&["start", "-n", &name]).assert().success();
    assert_eq!(first.state(&name), "RUNNING");
    assert_eq!(second.state(&name), "RUNNING");
    assert_ne!(first.init_pid(&name), second.init_pid(&name));
    first.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    second.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    first.assert_nothing_left(&name);
    second.assert_nothing_left(&name);
}

#[test]
fn lxc_proc_settings_are_written_for_init() {
    let world = World::new();
    let name = world.busybox("procset");
    world.append_config(&name, "lxc.proc.oom_score_adj = 345\n");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    let adj = std::fs::read_to_string(format!("/proc/{pid}/oom_score_adj")).expect("adj");
    assert_eq!(adj.trim(), "345");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn a_bad_lxc_proc_setting_fails_the_start_naming_it() {
    let world = World::new();
    let name = world.busybox("procbad");
    world.append_config(&name, "lxc.proc.oom_score_adj = 99999\n");
    let origin = world.config_origin(&name, "lxc.proc.oom_score_adj = 99999");
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
        "{name} failed to start: {origin}: proc settings: lxc.proc.oom_score_adj = 99999: /proc/"
    )));
    world.assert_nothing_left(&name);
}

#[test]
fn a_console_log_that_cannot_be_opened_fails_the_start_at_its_line() {
    let world = World::new();
    let name = world.busybox("logbad");
    // A missing directory is made (as LXC does): under a regular file, none can be.
    let file = world.lxcpath().join(&name).join("not-a-dir");
    std::fs::write(&file, "").expect("write");
    let line = format!("lxc.console.logfile = {}/console.log", file.display());
    world.append_config(&name, &format!("{line}\n"));
    let origin = world.config_origin(&name, &line);
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{name} failed to start: {origin}: console log: {line}: "
        )))
        .stderr(predicate::str::contains("File exists"));
    world.assert_nothing_left(&name);
}

/// The first field of /proc/uptime as the container sees it.
fn uptime_inside(world: &World, name: &str) -> f64 {
    let out = world.output(&["attach", "-n", name, "--", "cat", "/proc/uptime"]);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("uptime inside")
}

#[test]
fn cgroups_a_killed_run_left_without_its_records_are_replaced_at_the_next_start() {
    let world = World::new();
    let name = world.busybox("stalecg");
    let _left_on_purpose = support::CgroupsOf(name.clone());
    world.rlxc(&["start", "-n", &name]).assert().success();
    let payload = support::cgroup_dir(world.init_pid(&name), "pids");
    world.kill_monitor(&name);
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "10"])
        .assert()
        .success();
    // The run directory, which recorded the cgroups, is gone too (deleted by hand, or a /run
    // emptied without a reboot): the cgroups are all that is left of the run.
    let run_dir = world.run_root().join(world.instance(&name));
    std::fs::remove_dir_all(&run_dir).expect("run directory");
    // Init, killed with its monitor, leaves its cgroup once reaped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !support::read(&payload, "cgroup.procs").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "init still in {payload:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let started = world.output(&["start", "-n", &name]);
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(started.status.success(), "{stderr}");
    assert!(
        stderr.contains("removed the empty cgroups an earlier run of this container left"),
        "{stderr}"
    );
    assert_eq!(world.state(&name), "RUNNING");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}
