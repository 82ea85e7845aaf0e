//! The console: logged whether or not anyone is attached, one client per tty, reconnects,
//! and a flood of output neither blocks init nor grows the monitor.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use support::{World, RLXC};

fn console_process(world: &World, name: &str) -> std::process::Child {
    Command::new(RLXC)
        .args(["console", "-n", name, "-t", "0"])
        .env("RLXC_PATH", world.lxcpath())
        .env("RLXC_RUN_DIR", world.run_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rlxc console")
}

/// Waits (bounded) until `path` contains `needle`; the monitor writes it from another process.
fn wait_for_text(path: &std::path::Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_client_per_tty_and_reconnect_works() {
    let world = World::new();
    let name = world.busybox("con");
    let log = world.dir.path().join("console.log");
    world.append_config(&name, &format!("lxc.console.logfile = {}\n", log.display()));
    world.rlxc(&["start", "-n", &name]).assert().success();

    let mut first = console_process(&world, &name);
    // The first client is attached once its banner is out (its stderr stays open).
    let mut stderr = std::io::BufReader::new(first.stderr.take().expect("stderr"));
    let mut banner = String::new();
    while !banner.contains("Type <") {
        let n = std::io::BufRead::read_line(&mut stderr, &mut banner).expect("banner");
        assert!(n > 0, "the first console client ended: {banner:?}");
    }
    world
        .rlxc(&["console", "-n", &name, "-t", "0"])
        .write_stdin("")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("in use"));

    // Typing into the console reaches the container (and its output reaches the log).
    // getty flushes what was typed before its prompt, so wait for the prompt first.
    let prompt = wait_for_text(&log, "login:");
    assert!(prompt.contains("login:"), "no getty prompt: {prompt:?}");
    let keyboard = first.stdin.as_mut().expect("stdin");
    keyboard.write_all(b"root\n").expect("type");
    let shell = wait_for_text(&log, "# ");
    assert!(
        shell.contains("# "),
        "no shell prompt after login: {shell:?}"
    );
    keyboard.write_all(b"echo marker-$((6*7))\n").expect("type");
    let text = wait_for_text(&log, "marker-42");
    assert!(text.contains("marker-42"), "{text}");
    first.kill().expect("kill first client");
    first.wait().expect("reap");

    // The slot is free again.
    let mut again = console_process(&world, &name);
    again
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"\x01q")
        .expect("escape");
    let status = again.wait().expect("second client");
    assert!(status.success());
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn a_flood_on_the_console_neither_blocks_init_nor_grows_the_monitor() {
    let world = World::new();
    let name = world.busybox("flood");
    let log = world.dir.path().join("flood.log");
    world.append_config(
        &name,
        &format!(
            "lxc.console.logfile = {}\nlxc.console.size = 64K\nlxc.console.rotate = 1\nlxc.init.cmd = /bin/sh -c 'while :; do echo flooding-the-console-with-lines; done'\n",
            log.display()
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    // More than the limit has been written once the log was rotated.
    let rotated = log.with_extension("log.1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !rotated.exists() {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(rotated.exists(), "the flood never filled the log");
    // Rotation renames the log and creates it anew: between the two it is briefly missing.
    let size = (0..100)
        .find_map(|_| match std::fs::metadata(&log) {
            Ok(meta) => Some(meta.len()),
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                None
            }
        })
        .expect("the console log came back after rotation");
    assert!(
        size <= 64 * 1024,
        "the console log grew past its limit: {size}"
    );
    // init is still running, i.e. not stuck on a full pty.
    let pid = world.init_pid(&name);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    assert!(!stat.is_empty());
    let monitor = world.monitor_pid(&name);
    let status = std::fs::read_to_string(format!("/proc/{monitor}/status")).expect("status");
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    assert!(rss_kib < 16 * 1024, "monitor uses {rss_kib} KiB");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// CPU time `pid` has run, from the scheduler's own account (nanoseconds).
fn cpu_time(pid: i32) -> Duration {
    let schedstat = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).expect("schedstat");
    let ns: u64 = schedstat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("run time");
    Duration::from_nanos(ns)
}

#[test]
fn a_console_nobody_in_the_container_holds_leaves_the_monitor_idle() {
    let world = World::new();
    let name = world.busybox("unheld");
    // init lets go of the console it was given: no process in the container has it open,
    // as a systemd guest between its status lines.
    world.start_with_init_script(&name, "exec </dev/null >/dev/null 2>&1");
    let init = world.init_pid(&name);
    let held = std::fs::read_dir(format!("/proc/{init}/fd"))
        .expect("init's fds")
        .filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| target.to_string_lossy().contains("pts"));
    assert!(!held, "init still holds a pty");
    let monitor = world.monitor_pid(&name);
    let before = cpu_time(monitor);
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_time(monitor) - before;
    // Waiting on its fds, the monitor runs for microseconds a second; it spun on the
    // console's hang-up before (hundreds of milliseconds a second, or all a loaded CPU gave).
    assert!(
        spent < Duration::from_millis(50),
        "the monitor ran {spent:?} in a second with nothing to do"
    );
    // The console still works: what the container writes on it reaches a client.
    let mut client = console_process(&world, &name);
    std::thread::sleep(Duration::from_millis(200));
    world
        .sh(&name, "echo hello-on-the-console > /dev/console")
        .status
        .success()
        .then_some(())
        .expect("writing to the console");
    std::thread::sleep(Duration::from_millis(200));
    let _ = client.kill();
    let output = client.wait_with_output().expect("console client output");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("hello-on-the-console"),
        "the console client got: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}
