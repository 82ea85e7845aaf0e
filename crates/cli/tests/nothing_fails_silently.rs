//! Nothing fails silently: an init the OOM killer ends during the start is a failed start
//! that says so; a log or console log that cannot be written fails the start, or shows in
//! `rlxc info` once the container runs.

mod support;

use support::World;

/// `start -d` with `args` after `--`: its status and stderr.
fn start(world: &World, name: &str, command: &[&str]) -> (bool, String) {
    let mut args = vec!["start", "-n", name, "-d"];
    if !command.is_empty() {
        args.push("--");
        args.extend_from_slice(command);
    }
    let out = world.output(&args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The start failed for the OOM killer, pointing at the memory limit's line; nothing of the
/// container is left.
fn assert_failed_for_oom(world: &World, name: &str, limit: &str, outcome: (bool, String)) {
    let (started, stderr) = outcome;
    assert!(!started, "reported started: {stderr}");
    let line = format!("lxc.cgroup.memory.limit_in_bytes = {limit}");
    for part in [
        "init was killed by the kernel's OOM killer during the start".to_string(),
        format!("the container's memory limit ({line}) is too small"),
        world.config_origin(name, &line),
    ] {
        assert!(stderr.contains(&part), "{part:?} missing in: {stderr}");
    }
    assert_eq!(world.state(name), "STOPPED");
    world.assert_nothing_left(name);
}

/// The kernel copies the new program's arguments into its stack before the old program is
/// gone: 1.4 MB of them cannot be copied within a 1 MiB limit, so init is killed in its
/// execve, every time (the set-up before it fits in 1 MiB with room to spare). Its end
/// closed the spawn's channel just as an exec does; before, this was reported started.
#[test]
fn init_killed_by_the_oom_killer_in_its_exec_is_a_failed_start_with_the_reason() {
    let world = World::new();
    let name = world.busybox("oomexec");
    world.append_config(&name, "lxc.cgroup.memory.limit_in_bytes = 1M\n");
    let big = "x".repeat(100_000);
    let mut command = vec!["/bin/sleep", "600"];
    command.extend(std::iter::repeat(big.as_str()).take(14));
    assert_failed_for_oom(&world, &name, "1M", start(&world, &name, &command));
    // Within the limit, the same container runs.
    let (started, stderr) = start(&world, &name, &["/bin/sleep", "600"]);
    assert!(started, "{stderr}");
    assert_eq!(world.state(&name), "RUNNING");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// 128 KiB is not enough for the container's first process to set itself up: it is killed
/// before its exec. That failed the start before too, but said only that it died.
#[test]
fn init_killed_by_the_oom_killer_while_it_is_set_up_says_so() {
    let world = World::new();
    let name = world.busybox("oomsetup");
    world.append_config(&name, "lxc.cgroup.memory.limit_in_bytes = 128K\n");
    assert_failed_for_oom(&world, &name, "128K", start(&world, &name, &[]));
}
