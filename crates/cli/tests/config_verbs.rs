//! `rlxc config keys|check|show` and `rlxc update-config` (also as `lxc-update-config`), as a
//! user types them.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const RLXC: &str = env!("CARGO_BIN_EXE_rlxc");

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/fixtures/funtoo0.conf")
}

fn rlxc() -> Command {
    Command::new(RLXC)
}

/// `-s lxc.rootfs.path=DIR -s lxc.net.0.type=empty`: a rootfs this host has and no network,
/// standing in for the seed's rootfs and its bridge br0.
fn with_rootfs(dir: &Path) -> [String; 4] {
    [
        "-s".into(),
        format!("lxc.rootfs.path={}", dir.display()),
        "-s".into(),
        "lxc.net.0.type=empty".into(),
    ]
}

#[test]
fn check_accepts_the_seed_config_and_names_every_legacy_key() {
    // As written, it names the wiki author's bridge and rootfs, which this host lacks:
    // start would refuse them, so check does, at their lines.
    rlxc()
        .args(["config", "check", "-f"])
        .arg(seed())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "funtoo0.conf:59: lxc.net.0.link = br0: no such interface on this host",
        ));
    rlxc()
        .args(["config", "check", "-f"])
        .arg(seed())
        .args(["-s", "lxc.net.0.type=empty"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "funtoo0.conf:3: opening the rootfs /lxc/funtoo0/rootfs/",
        ));
    let rootfs = tempfile::tempdir().expect("tempdir");
    rlxc()
        .args(["config", "check", "-f"])
        .arg(seed())
        .args(with_rootfs(rootfs.path()))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "funtoo0.conf:2: lxc.utsname: legacy key, read as lxc.uts.name",
        ))
        .stdout(predicate::str::contains(
            "lxc.network.ipv4: legacy key, read as lxc.net.0.ipv4.address",
        ))
        .stdout(predicate::str::contains("ok (12 warnings)"))
        // The security section names what the seed leaves open, without failing the check.
        .stdout(predicate::str::contains("security:"))
        .stdout(predicate::str::contains(
            "lxc.cgroup.devices.allow = c 5:1 rwm: with mknod kept",
        ))
        .stdout(predicate::str::contains("no pids.max:"));
}

#[test]
fn check_reports_every_error_with_file_line_and_key_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    fs::write(
        &config,
        "lxc.uts.name = web\nlxc.cap.drop = sys_admn\nlxc.net.0.type = veth\nlxc.net.0.hwaddr = zz:00:00:00:00:01\nlxc.rootfs.pth = /x\n",
    )
    .expect("write");
    rlxc()
        .args(["config", "check", "-f"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("config:2: lxc.cap.drop: "))
        .stderr(predicate::str::contains("did you mean 'sys_admin'?"))
        .stderr(predicate::str::contains("config:4: lxc.net.0.hwaddr: "))
        .stderr(predicate::str::contains(
            "config:5: lxc.rootfs.pth: unknown key (did you mean lxc.rootfs.path?)",
        ))
        .stdout(predicate::str::contains("3 errors"));
}

#[test]
fn check_finds_a_container_by_name_under_lxcpath() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::create_dir(dir.path().join("funtoo0")).expect("mkdir");
    fs::copy(seed(), dir.path().join("funtoo0/config")).expect("copy");
    rlxc()
        .args(["config", "check", "-n", "funtoo0", "-P"])
        .arg(dir.path())
        .args(with_rootfs(dir.path()))
        .assert()
        .success();
    rlxc()
        .args(["config", "check", "-n", "funtoo0"])
        .args(with_rootfs(dir.path()))
        .env("RLXC_PATH", dir.path())
        .assert()
        .success();
    rlxc()
        .args(["config", "check", "-n", "missing", "-P"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing/config: cannot read"));
}

#[test]
fn show_prints_todays_keys_that_load_to_the_same_config() {
    let output = rlxc()
        .args(["config", "show", "-f"])
        .arg(seed())
        .output()
        .expect("run");
    assert!(output.status.success());
    let shown = String::from_utf8(output.stdout).expect("utf-8");
    for line in [
        "lxc.uts.name = funtoo0",
        "lxc.rootfs.path = /lxc/funtoo0/rootfs/",
        "lxc.console.logfile = /var/log/lxc/funtoo0.console",
        "lxc.tty.max = 0",
        "lxc.pty.max = 1024",
        "lxc.cgroup.devices.allow = c 136:* rwm",
        "lxc.net.0.ipv4.address = 192.168.1.2/24",
        "lxc.net.0.ipv4.gateway = 192.168.1.1",
    ] {
        assert!(
            shown.lines().any(|l| l == line),
            "missing {line:?} in\n{shown}"
        );
    }
    assert!(!shown.contains("lxc.network"), "{shown}");
    let dir = tempfile::tempdir().expect("tempdir");
    let shown_file = dir.path().join("shown.conf");
    fs::write(&shown_file, &shown).expect("write");
    let again = rlxc()
        .args(["config", "show", "-f"])
        .arg(&shown_file)
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&again.stdout), shown);
    assert!(
        again.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn show_json_is_the_typed_spec() {
    let output = rlxc()
        .args(["config", "show", "--json", "-f"])
        .arg(seed())
        .output()
        .expect("run");
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(spec["uts_name"], "funtoo0");
    assert_eq!(spec["tty"]["max"], 0);
    assert_eq!(spec["networks"]["0"]["link"], "br0");
}

#[test]
fn keys_lists_the_reference_and_markdown_is_docs_config_md() {
    rlxc()
        .args(["config", "keys"])
        .assert()
        .success()
        .stdout(predicate::str::contains("lxc.uts.name"))
        .stdout(predicate::str::contains("lxc.net.N.veth.pair"));
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md");
    rlxc()
        .args(["config", "keys", "--markdown"])
        .assert()
        .success()
        .stdout(fs::read_to_string(docs).expect("docs/config.md"));
}

#[test]
fn lxc_update_config_rewrites_the_seed_in_place_with_a_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    fs::copy(seed(), &config).expect("copy");
    let link = dir.path().join("lxc-update-config");
    symlink(RLXC, &link).expect("link");
    Command::new(&link)
        .arg("-c")
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("lines updated"));
    assert_eq!(
        fs::read(dir.path().join("config.backup")).expect("backup"),
        fs::read(seed()).expect("seed")
    );
    rlxc()
        .args(["config", "check", "-f"])
        .arg(&config)
        .args(with_rootfs(dir.path()))
        .assert()
        .success()
        .stdout(predicate::str::contains("ok (0 warnings)"));
    // A second run finds nothing to do.
    rlxc()
        .args(["update-config", "-c"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("no legacy keys"));
}
