//! `update-config` turns the seed's legacy config into today's keys with the same meaning.

use std::fs;
use std::path::Path;

use rlxc_config::grammar::{parse_line, Line};
use rlxc_config::legacy::{Translation, Translator};
use rlxc_config::load_file;
use rlxc_config::update::update_file;

fn seed_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/funtoo0.conf");
    fs::copy(seed, &path).expect("copy seed");
    (dir, path)
}

#[test]
fn the_seed_updates_to_the_same_spec_with_no_legacy_key() {
    let (_dir, path) = seed_copy();
    let before = load_file(&path, &[]).expect("seed loads");
    let original = fs::read_to_string(&path).expect("read");
    let report = update_file(&path).expect("update");
    let backup = report.backup.expect("a backup");
    assert_eq!(fs::read_to_string(&backup).expect("backup"), original);
    assert!(backup.ends_with("config.backup"));

    let after = load_file(&path, &[]).expect("updated config loads");
    assert_eq!(after.spec, before.spec);
    assert!(after.warnings.is_empty(), "{:?}", after.warnings);

    let updated = fs::read_to_string(&path).expect("read");
    let mut translator = Translator::new();
    for line in updated.lines() {
        if let Line::Entry { key, value } = parse_line(line) {
            assert_eq!(
                translator.translate(key, value),
                Ok(Translation::Modern(key.to_string())),
                "{line}"
            );
        }
    }
    // Comments and order stay.
    assert_eq!(updated.lines().count(), original.lines().count());
    assert!(updated.contains("lxc.tty.max = 0  # set to 0 if you dont plan"));
    assert!(updated.contains("#lxc.tty.max = 6  # if you plan"));
    assert!(updated.contains("lxc.cgroup.devices.allow = c 1:3 rwm # /dev/null"));
    assert!(updated.contains("lxc.net.0.ipv4.address = 192.168.1.2/24"));
    assert!(updated.contains("lxc.console.logfile = /var/log/lxc/funtoo0.console"));
}

#[test]
fn a_failed_update_leaves_the_file_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    let text = "lxc.utsname = a\nlxc.network.link = br0\n";
    fs::write(&path, text).expect("write");
    let err = update_file(&path).expect_err("link before type");
    assert!(
        err.to_string().contains("config:2: lxc.network.link"),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).expect("read"), text);
    assert!(!dir.path().join("config.backup").exists());
}

#[test]
fn a_modern_config_is_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    fs::write(&path, "lxc.uts.name = a\n").expect("write");
    let report = update_file(&path).expect("update");
    assert_eq!(report.backup, None);
    assert!(!dir.path().join("config.backup").exists());
}
