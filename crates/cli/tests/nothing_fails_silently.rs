//! Nothing fails silently: an init the OOM killer ends during the start is a failed start
//! that says so; a log or console log that cannot be written fails the start, or shows in
//! `rlxc info` once the container runs; a full lxcpath or run directory is an error that
//! leaves nothing behind.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::tmpfs::SmallTmpfs;
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
    command.extend(std::iter::repeat_n(big.as_str(), 14));
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

/// The start failed, its stderr has every one of `parts`, and nothing of it is left.
fn assert_failed_with(world: &World, name: &str, outcome: (bool, String), parts: &[String]) {
    let (started, stderr) = outcome;
    assert!(!started, "reported started: {stderr}");
    for part in parts {
        assert!(
            stderr.contains(part.as_str()),
            "{part:?} missing in: {stderr}"
        );
    }
    assert_eq!(world.state(name), "STOPPED");
    world.assert_nothing_left(name);
}

#[test]
fn a_log_file_on_a_full_filesystem_fails_the_start() {
    let full = SmallTmpfs::new();
    let world = World::new();
    let name = world.busybox("fulllog");
    full.fill();
    let log = full.path("monitor.log");
    let enospc = "the log file cannot be written: No space left on device";
    let out = world.output(&["start", "-n", &name, "-d", "-o", &log.to_string_lossy()]);
    let outcome = (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_failed_with(
        &world,
        &name,
        outcome,
        &[format!("-o {}: {enospc}", log.display())],
    );
    // The same from the config, pointing at its line.
    let line = format!("lxc.log.file = {}", log.display());
    world.append_config(&name, &format!("{line}\n"));
    assert_failed_with(
        &world,
        &name,
        start(&world, &name, &[]),
        &[
            format!("{line}: {enospc}"),
            world.config_origin(&name, &line),
        ],
    );
}

#[test]
fn a_console_log_on_a_full_filesystem_fails_the_start() {
    let full = SmallTmpfs::new();
    let world = World::new();
    let name = world.busybox("fullconsole");
    full.fill();
    let line = format!(
        "lxc.console.logfile = {}",
        full.path("console.log").display()
    );
    world.append_config(&name, &format!("{line}\n"));
    assert_failed_with(
        &world,
        &name,
        start(&world, &name, &[]),
        &[
            format!("{line}: No space left on device"),
            world.config_origin(&name, &line),
        ],
    );
}

/// `rlxc info`'s text once it has `needle`, or after a bound (the monitor records the
/// failure as it pumps the console, in its own time).
fn info_with(world: &World, name: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = world.output(&["info", "-n", name]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn logs_that_cannot_be_written_while_the_container_runs_show_in_info() {
    let full = SmallTmpfs::new();
    let world = World::new();
    let name = world.busybox("fillslater");
    let (log, console) = (full.path("monitor.log"), full.path("console.log"));
    world.append_config(
        &name,
        &format!(
            "lxc.log.file = {}\nlxc.log.level = INFO\nlxc.console.logfile = {}\n",
            log.display(),
            console.display()
        ),
    );
    let (started, stderr) = start(&world, &name, &[]);
    assert!(started, "{stderr}");
    let info = world.output(&["info", "-n", &name]);
    assert!(
        !String::from_utf8_lossy(&info.stdout).contains("not written"),
        "{info:?}"
    );
    // No room for the logs' next bytes once the tmpfs is full: each log's last page is
    // filled up (by this test's own line), and the page the start's check allocated past
    // its end is given back by a truncate to the same size.
    for file in [&log, &console] {
        let size = std::fs::metadata(file).expect("log").len();
        let padding = (4096 - size % 4096) % 4096;
        let mut appending = std::fs::OpenOptions::new()
            .append(true)
            .open(file)
            .expect("log");
        if padding > 0 {
            let mut line = vec![b'.'; padding as usize];
            line[padding as usize - 1] = b'\n';
            appending.write_all(&line).expect("padding");
        }
        let size = size + padding;
        let status = std::process::Command::new("truncate")
            .args(["-s", &size.to_string()])
            .arg(file)
            .status()
            .expect("truncate");
        assert!(status.success());
    }
    full.fill();
    // 8 KiB on the console: its log fails, and the monitor's warning about that fails too.
    let out = world.sh(
        &name,
        "i=0; while [ $i -lt 100 ]; do echo console-line-$i-..................................................................... > /dev/console; i=$((i+1)); done",
    );
    assert!(out.status.success(), "{out:?}");
    let since = "not written since ";
    let text = info_with(&world, &name, &format!("{}: {since}", log.display()));
    for (label, path) in [("Log:", &log), ("Console log:", &console)] {
        let line = text
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in:\n{text}"));
        let expected = format!("{}: {since}", path.display());
        assert!(line.contains(&expected), "{line:?}");
        assert!(
            line.ends_with("No space left on device (os error 28)"),
            "{line:?}"
        );
    }
    // The container goes on, and so does its console.
    assert_eq!(world.state(&name), "RUNNING");
    let alive = world.sh(&name, "echo alive > /dev/console && echo alive");
    assert_eq!(String::from_utf8_lossy(&alive.stdout).trim(), "alive");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn create_on_a_full_lxcpath_fails_and_leaves_nothing() {
    let full = SmallTmpfs::new();
    let world = World::new();
    let lxcpath = full.path("lxc");
    std::fs::create_dir(&lxcpath).expect("lxcpath");
    full.fill();
    let name = world.name("fullpath");
    let out = world
        .rlxc(&["create", "-n", &name, "-t", "busybox"])
        .env("RLXC_PATH", &lxcpath)
        .output()
        .expect("create");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "create on a full filesystem: {said}");
    assert!(said.contains("No space left on device"), "{said}");
    let left: Vec<_> = std::fs::read_dir(&lxcpath)
        .expect("lxcpath")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left in the lxcpath: {left:?}");
}

#[test]
fn start_with_a_full_run_directory_fails_and_leaves_nothing() {
    let full = SmallTmpfs::new();
    let world = World::new();
    let name = world.busybox("fullrun");
    let run_root = full.path("run");
    std::fs::create_dir(&run_root).expect("run root");
    full.fill();
    let out = world
        .rlxc(&["start", "-n", &name])
        .env("RLXC_RUN_DIR", &run_root)
        .output()
        .expect("start");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "start with a full run directory: {said}"
    );
    assert!(said.contains("No space left on device"), "{said}");
    // Nothing of the container: no run directory, no lock, no cgroup, no process.
    let left: Vec<_> = walk(&run_root);
    assert!(left.is_empty(), "left in the run root: {left:?}");
    world.assert_nothing_left(&name);
    // The same container starts once there is room.
    std::fs::remove_file(full.path("filler")).expect("make room");
    world
        .rlxc(&["start", "-n", &name])
        .env("RLXC_RUN_DIR", &run_root)
        .assert()
        .success();
    world
        .rlxc(&["stop", "-n", &name, "-k"])
        .env("RLXC_RUN_DIR", &run_root)
        .assert()
        .success();
}

/// Every file below `dir` (directories that are empty do not count: `.locks` stays).
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let below = walk(&entry.path());
            if below.is_empty() && entry.file_name() == ".locks" {
                continue;
            }
            files.push(entry.path());
            files.extend(below);
        } else {
            files.push(entry.path());
        }
    }
    files
}
