//! What a user sees when typing `rlxc ...`: version, help, option errors, unfinished verbs.

use assert_cmd::Command;
use predicates::prelude::*;

/// Every verb, as a user would type it.
const VERBS: &[&str] = &[
    "checkconfig",
    "create",
    "start",
    "console",
    "attach",
    "stop",
    "execute",
    "ls",
    "info",
    "freeze",
    "unfreeze",
    "cgroup",
    "wait",
    "destroy",
    "autostart",
    "config",
    "update-config",
    "compat-links",
    "install-service",
];

/// Command lines with LXC's options that must parse. Between them they use every kind of
/// option value, so a mismatch between a field and its parser shows up here.
const PARSES: &[&[&str]] = &[
    &[
        "create", "-n", "web", "-t", "busybox", "-B", "dir", "--", "--arch", "amd64",
    ],
    &[
        "start",
        "-n",
        "web",
        "-d",
        "-s",
        "lxc.tty.max=2",
        "-s",
        "a=b",
        "--share-net",
        "1",
    ],
    &[
        "start",
        "-n",
        "web",
        "-F",
        "-f",
        "/etc/web.conf",
        "--",
        "/bin/sh",
        "-c",
        "true",
    ],
    &["stop", "-n", "web", "-t", "-1", "--nokill"],
    &["stop", "-n", "web", "-k", "--nolock", "-W"],
    &["console", "-n", "web", "-t", "0", "-e", "^b"],
    &[
        "attach",
        "-n",
        "web",
        "--clear-env",
        "--keep-var",
        "TERM",
        "--",
        "ls",
        "-la",
    ],
    &[
        "attach",
        "-n",
        "web",
        "-e",
        "-s",
        "NETWORK|UTSNAME",
        "-R",
        "-v",
        "A=1",
        "-u",
        "0",
    ],
    &[
        "attach",
        "-n",
        "web",
        "--elevated-privileges=CAP|LSM",
        "-g",
        "0",
        "-L",
        "/tmp/x",
    ],
    &[
        "execute",
        "-n",
        "web",
        "-u",
        "1000",
        "-s",
        "k=v",
        "--",
        "/bin/true",
    ],
    &["ls", "--json", "--running", "-g", "a,b", "--filter", "^w"],
    &["ls", "-F", "name,state,pid", "--nesting=3", "we.*"],
    &[
        "info",
        "-n",
        "web",
        "-s",
        "-p",
        "-i",
        "-S",
        "-H",
        "-c",
        "lxc.arch",
        "-c",
        "lxc.uts.name",
    ],
    &["freeze", "-n", "web"],
    &["unfreeze", "-n", "web"],
    &["cgroup", "-n", "web", "memory.max", "1G"],
    &["wait", "-n", "web", "-s", "RUNNING|frozen", "-t", "5"],
    &["destroy", "-n", "web", "-f", "-s"],
    &["autostart", "-L", "-a", "-A", "-g", "onboot,", "-t", "5"],
    // -L: these run for real, on the default lxcpath; a list acts on nothing.
    &["autostart", "-s", "-L", "-t", "-1"],
    &["install-service", "--systemd", "--dry-run"],
];

fn rlxc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rlxc"));
    cmd.env_remove("RLXC_PATH");
    cmd
}

#[test]
fn version_names_the_program() {
    rlxc()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "rlxc {}",
            env!("CARGO_PKG_VERSION")
        )));
}

#[test]
fn help_start_shows_lxc_start_options() {
    rlxc().args(["help", "start"]).assert().success().stdout(
        predicate::str::contains("Usage: rlxc start")
            .and(predicate::str::contains("--daemon"))
            .and(predicate::str::contains("--define <KEY=VAL>"))
            .and(predicate::str::contains("-f, --rcfile <FILE>"))
            .and(predicate::str::contains("--share-net")),
    );
}

#[test]
fn every_verb_has_help_and_is_listed() {
    let top = rlxc().arg("--help").assert().success();
    let listing = String::from_utf8_lossy(&top.get_output().stdout).into_owned();
    for verb in VERBS {
        assert!(listing.contains(verb), "`rlxc --help` does not list {verb}");
        rlxc()
            .args([verb, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!("Usage: rlxc {verb}")))
            .stdout(predicate::str::contains("--lxcpath <PATH>"));
    }
}

#[test]
fn question_mark_is_help_as_in_lxc() {
    rlxc()
        .args(["stop", "-?"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: rlxc stop"));
}

#[test]
fn stop_rejects_kill_with_timeout() {
    rlxc()
        .args(["stop", "-n", "web", "-k", "-t", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "'--kill' cannot be used with '--timeout",
        ));
}

#[test]
fn stop_nolock_needs_kill() {
    rlxc()
        .args(["stop", "-n", "web", "--nolock"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--kill"));
}

#[test]
fn bad_log_priority_is_refused_with_the_choices() {
    rlxc()
        .args(["info", "-n", "web", "-l", "LOUD"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("TRACE").and(predicate::str::contains("FATAL")));
}

#[test]
fn lxc_option_lines_parse_and_reach_their_verb() {
    // A private lxcpath and run root: the verbs really run (create makes a container there).
    let dir = tempfile::tempdir().expect("tempdir");
    for argv in PARSES {
        let output = rlxc()
            .args(*argv)
            .env("RLXC_PATH", dir.path().join("lxc"))
            .env("RLXC_RUN_DIR", dir.path().join("run"))
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("Usage:") && !stderr.contains("unexpected argument"),
            "{argv:?} did not parse: {stderr}"
        );
    }
}

#[test]
fn resource_verbs_on_a_stopped_container_exit_1_and_say_so() {
    let run = tempfile::tempdir().expect("tempdir");
    for argv in [&["freeze"][..], &["unfreeze"], &["cgroup", "memory.max"]] {
        rlxc()
            .args(argv)
            .args(["-n", "not-running-here"])
            .env("RLXC_RUN_DIR", run.path())
            .assert()
            .code(1)
            .stderr(predicate::str::contains("not-running-here is not running"));
    }
}

#[test]
fn lxcpath_from_env_and_flag_reach_the_verb() {
    let resolved = |argv: &[&str], env: Option<&str>| {
        let mut cmd = rlxc();
        if let Some(path) = env {
            cmd.env("RLXC_PATH", path);
        }
        let output = cmd.args(argv).args(["-l", "DEBUG"]).output().expect("runs");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    assert!(resolved(&["info", "-n", "web"], None).contains("/var/lib/rlxc/web/config"));
    assert!(resolved(&["info", "-n", "web"], Some("/srv/env")).contains("/srv/env/web/config"));
    let flag = resolved(&["info", "-n", "web", "-P", "/srv/flag"], Some("/srv/env"));
    assert!(flag.contains("/srv/flag/web/config"), "{flag}");
}

#[test]
fn quiet_silences_the_log_but_not_the_error() {
    rlxc()
        .args(["info", "-n", "web", "-l", "TRACE", "-q"])
        .assert()
        .code(1)
        .stderr(predicate::eq("rlxc: web doesn't exist\n"));
}

#[test]
fn logfile_gets_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("web.log");
    rlxc()
        .args(["info", "-n", "web", "-l", "debug", "-o"])
        .arg(&log)
        .assert()
        .code(1);
    let text = std::fs::read_to_string(&log).expect("log written");
    assert!(text.contains("/var/lib/rlxc/web/config"), "{text}");
}

#[test]
fn conflicting_options_are_refused_before_anything_runs() {
    let refused: &[&[&str]] = &[
        &["stop", "-n", "web", "-k", "-r"],
        &["stop", "-n", "web", "-k", "--nokill"],
        &["start", "-n", "web", "-d", "-F"],
        &["attach", "-n", "web", "--clear-env", "--keep-env"],
        &["attach", "-n", "web", "-R"],
        &["autostart", "-s", "-k"],
        &["config", "check", "-f", "/etc/web.conf", "-n", "web"],
        &["wait", "-n", "web"],
        &["wait", "-n", "web", "-s", "DANCING"],
        &["console", "-n", "web", "-e", "^"],
        &["update-config"],
    ];
    for argv in refused {
        rlxc()
            .args(*argv)
            .assert()
            .code(1)
            .stderr(predicate::str::starts_with("error:"))
            .stderr(predicate::str::contains("not available").not());
    }
}
