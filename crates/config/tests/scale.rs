//! No work on config input grows faster than its size: a config of 100,000 lines of any one
//! kind loads (or fails) in well under the bound below even in a debug build, where a
//! quadratic step (a search of everything set so far for each line) takes minutes.
//!
//! Every verb loads a config, and `rlxc ls` loads every container's: one generated or broken
//! config must not make them slow.

use std::fmt::Write;
use std::fs;
use std::time::{Duration, Instant};

use rlxc_config::load_file;

const LINES: usize = 100_000;

/// Generous for linear work (each case takes well under a second in a debug build) and far
/// below what a quadratic one costs at this size (minutes).
const BOUND: Duration = Duration::from_secs(2);

/// A config of `LINES` lines made by `line(i)`, loaded; the time it took and whether it loaded.
fn load_lines(line: impl Fn(usize) -> String) -> (Duration, Result<(), String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    let mut text = String::new();
    for i in 0..LINES {
        let _ = writeln!(text, "{}", line(i));
    }
    fs::write(&path, text).expect("write");
    let started = Instant::now();
    let result = load_file(&path, &[]).map(|_| ()).map_err(|failure| {
        let first = failure.errors.first().map(ToString::to_string);
        format!("{} errors, first {first:?}", failure.errors.len())
    });
    (started.elapsed(), result)
}

fn assert_fast(what: &str, line: impl Fn(usize) -> String, loads: bool) {
    let (took, result) = load_lines(line);
    assert!(took < BOUND, "{what}: {LINES} lines took {took:?}");
    assert_eq!(result.is_ok(), loads, "{what}: {result:?}");
}

#[test]
fn mount_entries() {
    assert_fast(
        "lxc.mount.entry",
        |i| format!("lxc.mount.entry = /srv/d{i} mnt/d{i} none bind,create=dir,optional 0 0"),
        true,
    );
}

#[test]
fn environment() {
    assert_fast(
        "lxc.environment",
        |i| format!("lxc.environment = NAME{}=value{i}", i % 5_000),
        true,
    );
}

/// Distinct cgroup files: each line used to search every earlier setting.
#[test]
fn cgroup_settings() {
    assert_fast(
        "lxc.cgroup2.*",
        |i| format!("lxc.cgroup2.x{i}.max = {i}"),
        true,
    );
}

/// Device rules add up; a setting of another file between them replaces its earlier value.
#[test]
fn cgroup_device_rules_among_settings() {
    assert_fast(
        "lxc.cgroup.devices.allow",
        |i| match i % 2 {
            0 => format!("lxc.cgroup.devices.allow = c {}:{} rwm", i % 256, i % 1000),
            _ => format!("lxc.cgroup.memory.limit_in_bytes = {}", 1_000_000 + i),
        },
        true,
    );
}

#[test]
fn autostart_groups() {
    assert_fast("lxc.group", |i| format!("lxc.group = g{i}"), true);
}

#[test]
fn capabilities() {
    assert_fast(
        "lxc.cap.drop",
        |_| "lxc.cap.drop = sys_admin mknod".into(),
        true,
    );
}

/// More ranges than the kernel takes: refused, after a check that does not compare every
/// pair.
#[test]
fn id_maps() {
    assert_fast(
        "lxc.idmap",
        |i| match i % 2 {
            0 => format!("lxc.idmap = u {} {} 1", i, 100_000 + i),
            _ => format!("lxc.idmap = g {} {} 1", i, 100_000 + i),
        },
        false,
    );
}

#[test]
fn hooks() {
    assert_fast(
        "lxc.hook.pre-start",
        |i| format!("lxc.hook.pre-start = /bin/true {i}"),
        true,
    );
}

#[test]
fn sysctls_and_proc() {
    assert_fast(
        "lxc.sysctl",
        |i| match i % 2 {
            0 => format!("lxc.sysctl.net.ipv4.conf.c{i}.forwarding = 1"),
            _ => format!("lxc.proc.f{i} = 1"),
        },
        true,
    );
}

#[test]
fn networks() {
    assert_fast(
        "lxc.net.N",
        |i| match i % 2 {
            0 => format!("lxc.net.{}.type = empty", i / 2),
            _ => format!("lxc.net.{}.flags = up", i / 2),
        },
        true,
    );
}

#[test]
fn legacy_networks() {
    assert_fast(
        "lxc.network",
        |i| match i % 2 {
            0 => "lxc.network.type = empty".into(),
            _ => "lxc.network.flags = up".into(),
        },
        true,
    );
}

/// Unknown keys: each was compared with every key of the table for a did-you-mean.
#[test]
fn unknown_keys() {
    assert_fast(
        "unknown keys",
        |i| format!("lxc.uts.nmae{} = x", i % 10),
        false,
    );
}

/// Bad values: an error each, sorted by file and line at the end. (A did-you-mean on a bad
/// value costs a few dozen edit distances: linear, but slow in a debug build, so this case
/// uses a value without one.)
#[test]
fn errors() {
    assert_fast("bad values", |i| format!("lxc.tty.max = x{i}"), false);
}

#[test]
fn includes_of_one_small_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let common = dir.path().join("common.conf");
    fs::write(&common, "lxc.tty.max = 1\n").expect("write");
    // Fewer lines than the others: each is a file read, and reads are not what is measured.
    let mut text = String::new();
    for _ in 0..10_000 {
        let _ = writeln!(text, "lxc.include = {}", common.display());
    }
    let path = dir.path().join("config");
    fs::write(&path, text).expect("write");
    let started = Instant::now();
    let loaded = load_file(&path, &[]);
    let took = started.elapsed();
    assert!(took < BOUND, "10,000 includes took {took:?}");
    assert!(loaded.is_ok(), "{loaded:?}");
}
