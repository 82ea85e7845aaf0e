//! The binary called through `lxc-<verb>` links made by `rlxc compat-links`.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

const RLXC: &str = env!("CARGO_BIN_EXE_rlxc");

fn compat_links(dir: &Path) -> assert_cmd::assert::Assert {
    Command::new(RLXC).arg("compat-links").arg(dir).assert()
}

/// A tempdir holding the links, made by the binary itself.
fn linked_dir() -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    compat_links(dir.path()).success();
    dir
}

#[test]
fn compat_links_makes_a_link_for_each_lxc_tool_only() {
    let dir = linked_dir();
    let binary = fs::canonicalize(RLXC).expect("binary");
    for tool in [
        "lxc-start",
        "lxc-stop",
        "lxc-ls",
        "lxc-checkconfig",
        "lxc-update-config",
        "lxc-config",
    ] {
        let link = dir.path().join(tool);
        assert!(fs::symlink_metadata(&link)
            .expect(tool)
            .file_type()
            .is_symlink());
        assert_eq!(fs::canonicalize(&link).expect("resolves"), binary);
    }
    // rlxc-only verbs get no link.
    assert!(!dir.path().join("lxc-compat-links").exists());
    assert!(!dir.path().join("lxc-mac").exists());
}

#[test]
fn lxc_start_link_shows_lxc_start_usage() {
    let dir = linked_dir();
    Command::new(dir.path().join("lxc-start"))
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: lxc-start [OPTIONS]"))
        .stdout(predicate::str::contains("--foreground"));
}

#[test]
fn lxc_stop_link_rejects_kill_with_timeout() {
    let dir = linked_dir();
    Command::new(dir.path().join("lxc-stop"))
        .args(["-n", "web", "-k", "-t", "5"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "'--kill' cannot be used with '--timeout",
        ))
        .stderr(predicate::str::contains("Usage: lxc-stop"));
}

#[test]
fn lxc_cgroup_link_parses_key_and_value_and_names_itself() {
    let dir = linked_dir();
    Command::new(dir.path().join("lxc-cgroup"))
        .args(["-n", "not-running-here", "memory.max", "1G"])
        .env("RLXC_RUN_DIR", dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with(
            "lxc-cgroup: not-running-here is not running",
        ));
}

#[test]
fn unknown_lxc_name_lists_the_known_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let foo = dir.path().join("lxc-foo");
    symlink(RLXC, &foo).expect("link");
    Command::new(&foo)
        .arg("--help")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("lxc-foo"))
        .stderr(predicate::str::contains("lxc-start"))
        .stderr(predicate::str::contains("lxc-update-config"));
}

#[test]
fn compat_links_keeps_its_own_links_on_a_second_run() {
    let dir = linked_dir();
    compat_links(dir.path())
        .success()
        .stdout(predicate::str::contains("kept").and(predicate::str::contains("made").not()));
}

#[test]
fn compat_links_refuses_a_foreign_file_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let foreign = dir.path().join("lxc-stop");
    fs::write(&foreign, "#!/bin/sh\necho real lxc\n").expect("write");
    compat_links(dir.path())
        .code(1)
        .stderr(predicate::str::contains("refusing to replace"))
        .stderr(predicate::str::contains("lxc-stop"))
        .stderr(predicate::str::contains("--force"));
    assert_eq!(
        fs::read_dir(dir.path()).expect("list").count(),
        1,
        "nothing made"
    );
    assert!(fs::read_to_string(&foreign)
        .expect("kept")
        .contains("real lxc"));
}

#[test]
fn compat_links_force_replaces_a_foreign_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let foreign = dir.path().join("lxc-stop");
    fs::write(&foreign, "not ours").expect("write");
    Command::new(RLXC)
        .args(["compat-links", "--force"])
        .arg(dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("replaced"));
    assert_eq!(
        fs::canonicalize(&foreign).expect("resolves"),
        fs::canonicalize(RLXC).expect("binary")
    );
}

#[test]
fn compat_links_needs_an_existing_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    compat_links(&dir.path().join("missing"))
        .code(1)
        .stderr(predicate::str::contains("is not a directory"));
}
