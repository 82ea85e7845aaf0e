//! The monitor's log (`lxc.log.file`, `lxc.log.level`, `lxc.log.syslog`, `start -o/-l`): a
//! detached monitor's events and failures land where the config or the command says, else
//! in LXC's place for them, with timestamps; syslog gets them too.

mod support;

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rlxc_runtime::utc::UtcTime;
use support::{assert_ok, World};

/// A stop hook that says why on stderr and fails with status 3.
const FAILING_STOP_HOOK: &str = "lxc.hook.stop = /bin/sh -c 'echo the-hook-says-no >&2; exit 3'\n";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `2026-12-07T08:04:01.470123Z`: RFC 3339, UTC, microseconds.
fn timestamp(line: &str) -> &str {
    let stamp = line.split(' ').next().unwrap_or_default();
    let shape = regex_lite::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$").expect("re");
    assert!(shape.is_match(stamp), "no timestamp on {line:?}");
    stamp
}

/// The monitor's line about the failed stop hook: ERROR, the key, the exit status and what
/// the hook said, with a timestamp.
fn assert_stop_hook_failure_in(log: &str) {
    let line = log
        .lines()
        .find(|line| line.contains("lxc.hook.stop"))
        .unwrap_or_else(|| panic!("no stop hook line in the log:\n{log}"));
    timestamp(line);
    for part in [" ERROR rlxc-monitor ", "exit status: 3", "the-hook-says-no"] {
        assert!(line.contains(part), "{part:?} missing in {line:?}");
    }
}

#[test]
fn a_failing_stop_hook_is_in_lxc_log_file_with_its_exit_status() {
    let world = World::new();
    let name = world.busybox("loghook");
    let log = world.dir.path().join("monitor.log");
    world.append_config(
        &name,
        &format!("lxc.log.file = {}\n{FAILING_STOP_HOOK}", log.display()),
    );
    world.rlxc(&["start", "-n", &name, "-d"]).assert().success();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    assert_stop_hook_failure_in(&read(&log));
    let default = world.lxcpath().join(&name).join(format!("{name}.log"));
    assert!(!default.exists(), "a named log file is the only one");
    world.assert_nothing_left(&name);
}

#[test]
fn start_o_and_l_info_log_the_start_and_the_stop_with_timestamps() {
    let world = World::new();
    let name = world.busybox("logopts");
    // ERROR in the config: the command's -l wins over it.
    world.append_config(&name, "lxc.log.level = ERROR\n");
    let log = world.dir.path().join("start.log");
    let before = UtcTime::now().rfc3339();
    world
        .rlxc(&[
            "start",
            "-n",
            &name,
            "-o",
            &log.to_string_lossy(),
            "-l",
            "INFO",
        ])
        .assert()
        .success();
    let init = world.init_pid(&name);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    let after = UtcTime::now().rfc3339();
    let text = read(&log);
    let monitor: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(&format!(" rlxc-monitor {name}: ")))
        .collect();
    let expected = [
        format!("INFO rlxc-monitor {name}: RUNNING: init is pid {init}"),
        format!("INFO rlxc-monitor {name}: init was ended by signal 9 (SIGKILL)"),
        format!("INFO rlxc-monitor {name}: stopped"),
    ];
    for (line, expected) in monitor.iter().zip(&expected) {
        assert!(
            line.ends_with(expected.as_str()),
            "{line:?}, not {expected:?}"
        );
    }
    assert_eq!(monitor.len(), expected.len(), "{text}");
    // RFC 3339 with fixed widths sorts as text: in order, and within the test's run.
    let stamps: Vec<&str> = monitor.iter().map(|line| timestamp(line)).collect();
    assert!(stamps.windows(2).all(|pair| pair[0] <= pair[1]), "{text}");
    assert!(
        before.as_str() <= stamps[0] && stamps[stamps.len() - 1] <= after.as_str(),
        "{before} .. {after}:\n{text}"
    );
    world.assert_nothing_left(&name);
}

#[test]
fn without_a_log_file_a_failing_stop_hook_lands_in_lxcs_place() {
    let world = World::new();
    let name = world.busybox("logdefault");
    world.append_config(&name, FAILING_STOP_HOOK);
    world.rlxc(&["start", "-n", &name]).assert().success();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    let log = world.lxcpath().join(&name).join(format!("{name}.log"));
    let text = read(&log);
    assert_stop_hook_failure_in(&text);
    // ERROR, the default level: the INFO events are not there.
    assert!(!text.contains("RUNNING"), "{text}");
    world.assert_nothing_left(&name);
}

#[test]
fn a_failed_reboot_is_logged_with_why() {
    let world = World::new();
    let name = world.busybox("logreboot");
    // The first start's pre-start hook leaves a mark; the reboot's finds it and fails.
    let mark = world.dir.path().join("started-once");
    world.append_config(
        &name,
        &format!(
            "lxc.log.level = INFO\nlxc.hook.pre-start = /bin/sh -c 'if [ -e {0} ]; then \
             echo no-second-start >&2; exit 4; fi; touch {0}'\n",
            mark.display()
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    // Its status is not the point: the monitor gives up on the container after it.
    let _ = world.output(&["stop", "-n", &name, "-r", "-t", "5"]);
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "30"])
        .assert()
        .success();
    let text = read(&world.lxcpath().join(&name).join(format!("{name}.log")));
    let events: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_once(&format!(" rlxc-monitor {name}: ")))
        .map(|(_, event)| event)
        .collect();
    assert_eq!(events.len(), 4, "{text}");
    assert!(events[0].starts_with("RUNNING: init is pid "), "{text}");
    assert_eq!(
        events[1..3],
        ["init was ended by signal 1 (SIGHUP)", "rebooting"]
    );
    assert!(
        events[3].starts_with("reboot failed: pre-start hooks: lxc.hook.pre-start = ")
            && events[3].ends_with("exited with exit status: 4: no-second-start"),
        "{text}"
    );
    world.assert_nothing_left(&name);
}

#[test]
fn a_log_file_that_cannot_be_opened_fails_the_start_leaving_nothing() {
    let world = World::new();
    let name = world.busybox("logunopenable");
    // A directory: open(2) for writing fails with EISDIR.
    let directory = world.dir.path().to_path_buf();
    world.append_config(&name, &format!("lxc.log.file = {}\n", directory.display()));
    let out = world.output(&["start", "-n", &name]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("lxc.log.file = {}", directory.display()))
            && stderr.contains("Is a directory"),
        "{stderr}"
    );
    assert_eq!(world.state(&name), "STOPPED");
    world.assert_nothing_left(&name);
}

#[test]
fn a_foreground_command_also_sees_the_monitors_errors_on_stderr() {
    let world = World::new();
    let name = world.busybox("logexecute");
    let log = world.dir.path().join("execute.log");
    world.append_config(
        &name,
        &format!("lxc.log.file = {}\n{FAILING_STOP_HOOK}", log.display()),
    );
    let out = world.output(&["execute", "-n", &name, "--", "/bin/true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("ERROR lxc.hook.stop") && stderr.contains("exit status: 3"),
        "{stderr}"
    );
    assert_stop_hook_failure_in(&read(&log));
    world.assert_nothing_left(&name);
}

/// A private mount namespace whose `/dev/log` is the test's own (or absent): `/dev` there is
/// an overlay on the host's, with the host's mounts below `/dev` bound back in, so the host's
/// `/dev` and its syslog socket are never touched. Killed when the test ends.
struct DevLogNamespace {
    holder: Child,
    _dir: tempfile::TempDir,
}

impl DevLogNamespace {
    /// `/dev/log` is `socket` (bound over it), or is not there for `None`.
    fn new(socket: Option<&Path>) -> DevLogNamespace {
        let dir = tempfile::Builder::new()
            .prefix("rlxc-devlog-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let d = dir.path().display();
        let bind = match socket {
            Some(socket) => format!("touch /dev/log; mount --bind {} /dev/log", socket.display()),
            None => "true".to_string(),
        };
        let script = format!(
            "set -e; mkdir {d}/upper {d}/work {d}/host
            subs=$(awk '$5 ~ \"^/dev/\" {{print $5}}' /proc/self/mountinfo | sort -u)
            mount --rbind /dev {d}/host
            mount -t overlay rlxc-test-dev -o lowerdir=/dev,upperdir={d}/upper,workdir={d}/work /dev
            for m in $subs; do mount --rbind {d}/host/${{m#/dev/}} $m; done
            rm -f /dev/log; {bind}
            echo ready; exec sleep 600"
        );
        let mut holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare");
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("stdout");
        let _ = BufReader::new(stdout).read_line(&mut line);
        let namespace = DevLogNamespace { holder, _dir: dir };
        assert_eq!(line.trim(), "ready", "the namespace's set-up failed");
        namespace
    }

    /// `rlxc ARGS` in this mount namespace, with the world's places.
    fn rlxc(&self, world: &World, args: &[&str]) -> std::process::Output {
        support::rlxc_in_mount_namespace_of(self.holder.id(), world, args)
    }
}

impl Drop for DevLogNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// The datagrams on `socket` until one contains `until` (bounded, against a hang).
fn datagrams_until(socket: &UnixDatagram, until: &str) -> Vec<String> {
    let mut got = Vec::new();
    let mut buffer = vec![0u8; 4096];
    while !got.iter().any(|text: &String| text.contains(until)) {
        match socket.recv(&mut buffer) {
            Ok(n) => got.push(String::from_utf8_lossy(&buffer[..n]).into_owned()),
            Err(e) => panic!("no {until:?} on the syslog socket ({e}); got {got:#?}"),
        }
    }
    got
}

#[test]
fn lxc_log_syslog_sends_rfc3164_lines_with_the_facility() {
    let world = World::new();
    let name = world.busybox("logsyslog");
    let socket_path: PathBuf = world.dir.path().join("syslog.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let namespace = DevLogNamespace::new(Some(&socket_path));
    world.append_config(
        &name,
        &format!("lxc.log.syslog = local3\nlxc.log.level = INFO\n{FAILING_STOP_HOOK}"),
    );
    assert_ok(&namespace.rlxc(&world, &["start", "-n", &name]), "start");
    let init = world.init_pid(&name);
    assert_ok(
        &namespace.rlxc(&world, &["stop", "-n", &name, "-k"]),
        "stop",
    );
    let got = datagrams_until(&socket, "lxc.hook.stop");
    // local3 is 19 << 3 = 152: INFO (6) is 158, ERROR (3) is 155.
    let tag = ">rlxc-monitor[";
    let running = format!(": {name}: RUNNING: init is pid {init}");
    assert!(
        got.iter().any(|line| line.starts_with("<158>")
            && line.contains(tag)
            && line.ends_with(&running)),
        "{got:#?}"
    );
    let hook = got.last().expect("the stop hook's line");
    assert!(
        hook.starts_with("<155>rlxc-monitor[") && hook.contains("exit status: 3"),
        "{hook}"
    );
    world.assert_nothing_left(&name);
}

#[test]
fn without_dev_log_lxc_log_syslog_is_a_warning_and_the_start_goes_on() {
    let world = World::new();
    let name = world.busybox("lognosyslog");
    let namespace = DevLogNamespace::new(None);
    world.append_config(&name, "lxc.log.syslog = daemon\n");
    let out = namespace.rlxc(&world, &["start", "-n", &name]);
    assert_ok(&out, "start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("lxc.log.syslog = daemon: /dev/log: No such file or directory"),
        "{stderr}"
    );
    assert_eq!(world.state(&name), "RUNNING");
    assert_ok(
        &namespace.rlxc(&world, &["stop", "-n", &name, "-k"]),
        "stop",
    );
    world.assert_nothing_left(&name);
}
