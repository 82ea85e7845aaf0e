//! `rlxc execute` / `lxc-execute`: one command as an application container, with the caller's
//! stdio, its exit status passed back, and the signals sent to `rlxc execute` passed on to
//! it. The monitor is a child of `rlxc execute`, forked into its own cgroups as for a start.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

use support::{World, RLXC};

/// The command gets SIGPIPE as a program started from a shell would: not ignored (Rust's
/// runtime ignores it in rlxc, and an ignored disposition survives exec).
#[test]
fn the_command_does_not_inherit_rlxcs_ignored_sigpipe() {
    let world = World::new();
    let name = world.busybox("exec-sigpipe");
    let out = world.output(&[
        "execute",
        "-n",
        &name,
        "--",
        "/bin/cat",
        "/proc/self/status",
    ]);
    assert!(out.status.success(), "{out:?}");
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(!support::ignores_sigpipe(&status), "{status}");
}

#[test]
fn the_commands_exit_status_output_and_input_come_through() {
    let world = World::new();
    let name = world.busybox("exec-status");
    let out = world.output(&[
        "execute",
        "-n",
        &name,
        "--",
        "/bin/sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("err\n"),
        "{out:?}"
    );
    // A bare name is found in the container's PATH, as LXC's execute finds it (not in the
    // caller's, nor taken as a relative path).
    let out = world.output(&["execute", "-n", &name, "--", "sh", "-c", "exit 5"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let out = world.output(&["execute", "-n", &name, "--", "no-such-command"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no-such-command: command not found in the container"),
        "{out:?}"
    );
    // Killed by a signal: 128 + its number, as a shell says it.
    let out = world.output(&["execute", "-n", &name, "--", "/bin/sh", "-c", "kill -9 $$"]);
    assert_eq!(out.status.code(), Some(128 + 9), "{out:?}");
    let mut cat = world
        .process(Path::new(RLXC), &["execute", "-n", &name, "--", "/bin/cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("execute cat");
    cat.stdin
        .take()
        .expect("stdin")
        .write_all(b"through the container\n")
        .expect("write");
    let out = cat.wait_with_output().expect("cat ends");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "through the container\n"
    );
    world.assert_nothing_left(&name);
}

#[test]
fn a_signal_sent_to_execute_reaches_the_command_and_it_ends_cleanly() {
    let world = World::new();
    let name = world.busybox("exec-signal");
    let ready_inside = world.rootfs(&name).join("trap.ready");
    // The command says when its trap is set (a file in its rootfs), then waits.
    let script = "trap 'echo got TERM; exit 3' TERM; touch /trap.ready; sleep 30 & wait";
    let execute = world
        .process(
            Path::new(RLXC),
            &["execute", "-n", &name, "--", "/bin/sh", "-c", script],
        )
        .stdout(Stdio::piped())
        .spawn()
        .expect("execute");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !ready_inside.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the trap was never set"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The command may run before its monitor has written the state file (RUNNING).
    world
        .rlxc(&["wait", "-n", &name, "-s", "RUNNING", "-t", "10"])
        .assert()
        .success();
    // The monitor is born in its own cgroups: every line names it.
    world.assert_monitor_in_its_own_cgroups(&name);
    let pid = rustix::process::Pid::from_raw(execute.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("kill");
    let out = execute.wait_with_output().expect("execute ends");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got TERM\n");
    world.assert_nothing_left(&name);
}

/// A step of the execute's start that fails points at its config line, as `start` does.
#[test]
fn a_failing_step_points_at_its_config_line() {
    let world = World::new();
    let name = world.busybox("exec-badproc");
    let line = "lxc.proc.oom_score_adj = 99999";
    world.append_config(&name, &format!("{line}\n"));
    let origin = world.config_origin(&name, line);
    let out = world.output(&["execute", "-n", &name, "--", "/bin/true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{name} failed to start: {origin}: proc settings: {line}: /proc/"
        )),
        "{stderr}"
    );
    world.assert_nothing_left(&name);
}

/// `-d` (LXC's `lxc-execute -d`): returns once the command runs in the background, under the
/// small init as PID 1, with its output on the console log; the container stops by itself
/// when the command ends, and nothing is left.
#[test]
fn with_d_the_command_runs_in_the_background_and_the_container_stops_after_it() {
    let world = World::new();
    let name = world.busybox("exec-daemon");
    let gate = world.rootfs(&name).join("gate");
    world.append_config(
        &name,
        &format!(
            "lxc.console.logfile = {}\n",
            world.dir.path().join("console.log").display()
        ),
    );
    let started = std::time::Instant::now();
    let out = world.output(&[
        "execute",
        "-n",
        &name,
        "-d",
        "--",
        "/bin/sh",
        "-c",
        "echo from-the-command; while [ ! -e /gate ]; do sleep 0.05; done; exit 3",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(world.state(&name), "RUNNING");
    let pid = world.init_pid(&name);
    let ps = world.sh(&name, "cat /proc/1/cmdline | tr '\\0' ' '; echo; ps");
    assert!(
        String::from_utf8_lossy(&ps.stdout).contains("echo from-the-command"),
        "{ps:?}"
    );
    std::fs::write(&gate, "").expect("gate");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while world.state(&name) != "STOPPED" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(world.state(&name), "STOPPED");
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    let console = std::fs::read_to_string(world.dir.path().join("console.log")).unwrap_or_default();
    assert!(console.contains("from-the-command"), "{console:?}");
    world.assert_nothing_left(&name);
}
