//! `rlxc checkconfig` as a user runs it. The live column really probes this machine (as root
//! it creates links in a throwaway network namespace); the kernel-config column comes from
//! the fixtures. `RLXC_KERNEL_CONFIG_FALLBACKS` is always set so the machine's own config
//! never leaks into a test that did not ask for it.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

const SECTIONS: [&str; 6] = [
    "--- Namespaces ---",
    "--- Control groups ---",
    "--- Networking ---",
    "--- Security ---",
    "--- Misc ---",
    "--- Checkpoint/Restore ---",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn checkconfig(config: &Path, fallbacks: &str) -> Command {
    let mut command = Command::cargo_bin("rlxc").expect("rlxc binary");
    command
        .arg("checkconfig")
        .env("CONFIG", config)
        .env("RLXC_KERNEL_CONFIG_FALLBACKS", fallbacks)
        .env_remove("NO_COLOR");
    command
}

fn stdout_of(command: &mut Command) -> String {
    let output = command.output().expect("run rlxc");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn line_of<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line for {label:?} in:\n{stdout}"))
}

#[test]
fn a_config_file_gives_every_section_and_exit_0() {
    let config = fixture("config-5.15");
    let stdout = stdout_of(&mut checkconfig(&config, ""));
    assert!(stdout.contains(&format!(
        "Kernel configuration found at {}",
        config.display()
    )));
    assert!(stdout.contains("kernel config") && stdout.contains("this system"));
    for section in SECTIONS {
        assert!(stdout.contains(section), "missing {section}:\n{stdout}");
    }
    assert!(line_of(&stdout, "Vlan (802.1Q)").contains("module"));
    assert!(line_of(&stdout, "Cgroup memory swap accounting").contains("enabled"));
    // Kernels after 5.0 have no separate NF_NAT_IPV4; the row is left out.
    assert!(!stdout.contains("CONFIG_NF_NAT_IPV4"));
    assert!(!stdout.contains('\x1b'), "no colour when stdout is a pipe");

    // --json: the same verdicts as data.
    let json = stdout_of(checkconfig(&config, "").arg("--json"));
    let report: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(report["config"], config.to_string_lossy().as_ref());
    let titles: Vec<String> = report["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| format!("--- {} ---", s["section"].as_str().expect("title")))
        .collect();
    assert_eq!(titles, SECTIONS);
    let vlan = report["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|s| s["features"].as_array().expect("features"))
        .find(|f| f["feature"] == "Vlan (802.1Q)")
        .expect("vlan row");
    assert!(
        vlan["config"]["text"]
            .as_str()
            .expect("text")
            .contains("module"),
        "{vlan}"
    );
}

#[test]
fn missing_required_features_still_exit_0_and_old_names_count() {
    let stdout = stdout_of(&mut checkconfig(&fixture("config-3.2-old-names"), ""));
    assert!(line_of(&stdout, "Pid namespace").contains("missing (required)"));
    assert!(
        line_of(&stdout, "Cgroup memory controller").contains("enabled (as CGROUP_MEM_RES_CTLR)")
    );
    assert!(line_of(&stdout, "Multiple /dev/pts instances").contains("enabled"));
    assert!(line_of(&stdout, "Macvlan").contains("missing"));
}

#[test]
fn no_config_anywhere_exits_1_with_the_hint_after_the_live_checks() {
    let nowhere = Path::new("/nonexistent/rlxc-test/config");
    checkconfig(nowhere, "")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("--- Namespaces ---"))
        .stdout(predicate::str::contains("not found (live checks only)"))
        .stderr(predicate::str::contains(
            "unable to find the kernel configuration",
        ))
        .stderr(predicate::str::contains(
            "tried CONFIG=/nonexistent/rlxc-test/config",
        ))
        .stderr(predicate::str::contains(
            "CONFIG=/path/to/config rlxc checkconfig",
        ));
}

#[test]
fn a_missing_config_falls_back_and_says_so() {
    let fallback = fixture("config-5.15");
    let fallbacks = format!("/nonexistent/rlxc-a:{}", fallback.display());
    let stdout = stdout_of(&mut checkconfig(
        Path::new("/nonexistent/rlxc-b"),
        &fallbacks,
    ));
    assert!(stdout.contains("CONFIG=/nonexistent/rlxc-b: "));
    assert!(stdout.contains("using a fallback instead"));
    assert!(stdout.contains(&format!("found at {}", fallback.display())));
}

#[test]
fn gzip_configs_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.gz");
    let text = std::fs::read_to_string(fixture("config-5.15")).expect("fixture");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).expect("compress");
    std::fs::write(&path, encoder.finish().expect("gzip")).expect("write");
    let stdout = stdout_of(&mut checkconfig(&path, ""));
    assert!(stdout.contains("(gzip, Linux 5.15)"), "{stdout}");
    assert!(line_of(&stdout, "Veth pair device").contains("module"));
}

/// A config for the running kernel that builds 8021q as a module: on a machine that cannot
/// load modules, the live column must say so instead of a bare failure.
#[test]
fn a_module_the_running_kernel_cannot_use_is_explained() {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let mut numbers = release.trim().split(['.', '-']);
    let (major, minor) = (numbers.next().unwrap_or("0"), numbers.next().unwrap_or("0"));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    let text = format!(
        "# Linux/x86 {major}.{minor}.0 Kernel Configuration\nCONFIG_VETH=y\nCONFIG_VLAN_8021Q=m\n"
    );
    std::fs::write(&path, text).expect("write");
    let stdout = stdout_of(&mut checkconfig(&path, ""));
    let vlan = line_of(&stdout, "Vlan (802.1Q)");
    assert!(
        vlan.contains("can create") || vlan.contains("module, not load"),
        "{vlan}"
    );
    if !Path::new("/lib/modules").join(release.trim()).exists() && !vlan.contains("can create") {
        assert!(vlan.contains("module, not loadable: EOPNOTSUPP"), "{vlan}");
    }
}

/// Run as root on the project's machines: the basic namespaces and veth must be creatable.
#[test]
fn live_column_reports_what_this_machine_can_do() {
    let stdout = stdout_of(&mut checkconfig(&fixture("config-5.15"), ""));
    for label in [
        "Utsname namespace",
        "Ipc namespace",
        "Pid namespace",
        "Network namespace",
    ] {
        assert!(line_of(&stdout, label).ends_with("can create"), "{label}");
    }
    assert!(line_of(&stdout, "Veth pair device").ends_with("can create"));
    assert!(
        stdout.contains("Cgroup v2 mount point:") || stdout.contains("Cgroup v1 mount points:")
    );
}
