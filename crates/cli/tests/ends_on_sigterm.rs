//! Nothing a user runs hangs unkillably: a verb waiting on a frozen container or on a
//! monitor that does not answer (stopped with SIGSTOP) ends on SIGTERM or SIGINT, and leaves
//! nothing running in the container when it does.

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Stdio};

use rustix::process::{kill_process, Pid, Signal};
use support::World;

fn start(world: &World, base: &str) -> String {
    let name = world.busybox(base);
    world.rlxc(&["start", "-n", &name]).assert().success();
    name
}

/// `rlxc ARGS` in the background, its output captured. Through `env --default-signal`: a
/// test run started in the background (as CI may) inherits SIGINT and SIGQUIT ignored, and an
/// ignored signal stays ignored across exec.
fn spawn(world: &World, args: &[&str]) -> Child {
    let mut argv = vec!["--default-signal=INT,QUIT", support::RLXC];
    argv.extend_from_slice(args);
    world
        .process(Path::new("/usr/bin/env"), &argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rlxc")
}

/// Sends `signal` to `child` once it sleeps in its wait, and returns its output; the test
/// fails (the child killed) if it is not gone within 20 s of the signal.
fn interrupt(mut child: Child, signal: Signal) -> std::process::Output {
    support::wait_until_sleeping(&mut child);
    let pid = Pid::from_raw(child.id() as i32).expect("pid");
    kill_process(pid, signal).expect("signal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!("still waiting 20 s after {signal:?}: {output:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

/// The monitor stopped for the length of the value's life, continued after (also when the
/// test fails), so that the container can be stopped and cleaned up.
struct Stopped(Pid);

impl Stopped {
    fn monitor_of(world: &World, name: &str) -> Stopped {
        let pid = Pid::from_raw(world.monitor_pid(name)).expect("pid");
        kill_process(pid, Signal::STOP).expect("SIGSTOP");
        Stopped(pid)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = kill_process(self.0, Signal::CONT);
    }
}

/// Thaws the container when the test ends, pass or fail.
struct Frozen<'a>(&'a World, String);

impl<'a> Frozen<'a> {
    fn freeze(world: &'a World, name: &str) -> Frozen<'a> {
        world.rlxc(&["freeze", "-n", name]).assert().success();
        assert_eq!(world.state(name), "FROZEN");
        Frozen(world, name.to_string())
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        let _ = self.0.output(&["unfreeze", "-n", &self.1]);
    }
}

#[test]
fn attach_to_a_frozen_container_says_so_and_ends_on_sigterm_running_nothing() {
    let world = World::new();
    let name = start(&world, "frozenattach");
    let frozen = Frozen::freeze(&world, &name);
    let attach = spawn(
        &world,
        &["attach", "-n", &name, "--", "/bin/touch", "/attached"],
    );
    let out = interrupt(attach, Signal::TERM);
    // Ended by the signal itself: it waited for the thaw before it made anything.
    assert_eq!(out.status.signal(), Some(15), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is FROZEN"), "{stderr}");
    drop(frozen);
    // After the thaw the attach that was given up never runs its command: a later attach
    // (which runs after whatever the thaw let go) finds no trace of it.
    world
        .rlxc(&[
            "attach",
            "-n",
            &name,
            "--",
            "/bin/sh",
            "-c",
            "test ! -e /attached",
        ])
        .assert()
        .success();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn attach_ends_on_sigint_while_the_frozen_container_stays_frozen() {
    let world = World::new();
    let name = start(&world, "frozenint");
    let _frozen = Frozen::freeze(&world, &name);
    let attach = spawn(&world, &["attach", "-n", &name, "--", "/bin/true"]);
    let out = interrupt(attach, Signal::INT);
    assert_eq!(out.status.signal(), Some(2), "{out:?}");
    assert_eq!(world.state(&name), "FROZEN");
}

/// A stopped monitor answers nothing: attach (which hands the monitor its sysinfo listener),
/// stop and console wait for it, and each ends on SIGTERM.
#[test]
fn attach_stop_and_console_end_on_sigterm_when_the_monitor_does_not_answer() {
    let world = World::new();
    let name = start(&world, "stoppedmon");
    let state = world
        .run_root()
        .join(world.instance(&name))
        .join("state.json");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state).expect("state")).expect("json");
    assert_eq!(
        state["sysinfo_view"],
        serde_json::Value::Bool(true),
        "attach hands its listener to the monitor only where the view answers sysinfo"
    );
    let stopped = Stopped::monitor_of(&world, &name);
    // attach has its signals blocked (it forwards them to the command): it gives up and
    // says so; stop and console end by the signal itself.
    let attach = interrupt(
        spawn(&world, &["attach", "-n", &name, "--", "/bin/true"]),
        Signal::TERM,
    );
    assert_eq!(attach.status.code(), Some(128 + 15), "{attach:?}");
    assert!(
        String::from_utf8_lossy(&attach.stderr).contains("interrupted by signal 15"),
        "{attach:?}"
    );
    for args in [vec!["stop", "-n", &name], vec!["console", "-n", &name]] {
        let out = interrupt(spawn(&world, &args), Signal::TERM);
        assert_eq!(out.status.signal(), Some(15), "{args:?}: {out:?}");
    }
    // (stop's halt signal may have reached init before stop waited for the monitor: the
    // container may be on its way down once the monitor runs again.)
    drop(stopped);
    let _ = world.output(&["stop", "-n", &name, "-k"]);
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "30"])
        .assert()
        .success();
    world.assert_nothing_left(&name);
}

/// `wait` for a state that does not come, and `execute` of an application that is frozen,
/// end on SIGTERM too.
#[test]
fn wait_and_execute_end_on_sigterm() {
    let world = World::new();
    let name = start(&world, "waitterm");
    let out = interrupt(
        spawn(&world, &["wait", "-n", &name, "-s", "STOPPED"]),
        Signal::TERM,
    );
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(world.state(&name), "RUNNING");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();

    let app = world.busybox("execterm");
    // Not captured: the application has execute's stdio, and a frozen one keeps it open.
    let execute = world
        .process(
            Path::new(support::RLXC),
            &["execute", "-n", &app, "--", "/bin/sleep", "600"],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn execute");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while world.state(&app) != "RUNNING" {
        assert!(std::time::Instant::now() < deadline, "execute never ran");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let frozen = Frozen::freeze(&world, &app);
    let out = interrupt(execute, Signal::TERM);
    assert!(!out.status.success(), "{out:?}");
    // The signal was passed on: the thawed application gets it and ends, and with it the
    // container.
    drop(frozen);
    assert!(
        world
            .rlxc(&["wait", "-n", &app, "-s", "STOPPED", "-t", "30"])
            .output()
            .expect("wait")
            .status
            .success(),
        "the application did not get the SIGTERM passed on"
    );
    world.assert_nothing_left(&app);
    world.assert_nothing_left(&name);
}
