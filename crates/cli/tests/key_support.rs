//! What the key table says about support, as a user meets it: an ignored key is a warning
//! that says why, a refused key fails `rlxc config check` and `rlxc start` alike, naming
//! the line and why, before anything is made.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;

const RLXC: &str = env!("CARGO_BIN_EXE_rlxc");

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    let config = dir.join("web.conf");
    fs::write(&config, text).expect("write config");
    config
}

#[test]
fn check_warns_of_an_ignored_key_with_its_line_and_why_and_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A rootfs, since check runs the start's own checks too.
    let rootfs = dir.path().join("rootfs");
    fs::create_dir(&rootfs).expect("rootfs dir");
    let config = write_config(
        dir.path(),
        &format!(
            "lxc.rootfs.path = {}\nlxc.apparmor.raw = mount fstype=nfs,\n",
            rootfs.display()
        ),
    );
    Command::new(RLXC)
        .args(["config", "check", "-f"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "web.conf:2: lxc.apparmor.raw: ignored: it is added only to a generated profile",
        ))
        .stdout(predicate::str::contains("ok (1 warning)"));
}

#[test]
fn check_and_start_both_refuse_a_refused_key_naming_its_line_and_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rootfs = dir.path().join("rootfs");
    fs::create_dir(&rootfs).expect("rootfs dir");
    let config = write_config(
        dir.path(),
        &format!(
            "lxc.uts.name = web\nlxc.rootfs.path = {}\nlxc.seccomp.notify.proxy = unix:/run/p.sock\n",
            rootfs.display()
        ),
    );
    let refusal =
        "web.conf:3: lxc.seccomp.notify.proxy: refused: rlxc has no seccomp notification proxy";
    Command::new(RLXC)
        .args(["config", "check", "-f"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(refusal));

    let lxcpath = dir.path().join("lxcpath");
    fs::create_dir(&lxcpath).expect("lxcpath");
    Command::new(RLXC)
        .args(["start", "-n", "web", "-P"])
        .arg(&lxcpath)
        .arg("--rcfile")
        .arg(&config)
        .assert()
        .failure()
        .stderr(predicate::str::contains(refusal));
    // Refused while loading: nothing of the container was made.
    let made: Vec<_> = fs::read_dir(&lxcpath).expect("lxcpath").collect();
    assert!(made.is_empty(), "{made:?}");
}
