//! Bad input gets `FILE:LINE: KEY: reason`, every error at once, and nothing is half-loaded.

use std::fs;

use rlxc_config::{load_file, ConfigError};

fn errors_of(text: &str) -> (Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    fs::write(&path, text).expect("write");
    let failure = load_file(&path, &[]).expect_err("config should fail");
    let lines = failure.errors.iter().map(ToString::to_string).collect();
    (lines, dir)
}

fn single_error(text: &str) -> String {
    let (errors, _dir) = errors_of(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors[0].clone()
}

#[test]
fn errors_name_file_line_key_and_reason() {
    let cases = [
        ("lxc.cap.drop = sys_admn", "lxc.cap.drop: ", "sys_admin"),
        (
            "lxc.net.0.type = veth\nlxc.net.0.hwaddr = 00:16:3e:zz:00:01",
            "lxc.net.0.hwaddr: ",
            "hex",
        ),
        (
            "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.0.300/24",
            "lxc.net.0.ipv4.address: ",
            "10.0.0.300",
        ),
        ("lxc.signal.halt = SIGPWRR", "lxc.signal.halt: ", "SIGPWR"),
        (
            "lxc.cgroup.devices.allow = x 1:3 rwm",
            "lxc.cgroup.devices.allow: ",
            "x",
        ),
        (
            "lxc.cgroup.cpuset.cpus = 3-1",
            "lxc.cgroup.cpuset.cpus: ",
            "3-1",
        ),
        (
            "lxc.cgroup.memory.limit_in_bytes = 12Q",
            "lxc.cgroup.memory.limit_in_bytes: ",
            "Q",
        ),
        ("lxc.tty.max = many", "lxc.tty.max: ", "many"),
    ];
    for (text, key_part, reason_part) in cases {
        let error = single_error(text);
        let line = text.lines().count();
        assert!(
            error.contains(&format!("/config:{line}: {key_part}")),
            "{text}: {error}"
        );
        assert!(error.contains(reason_part), "{text}: {error}");
    }
}

#[test]
fn unknown_key_suggests_the_closest() {
    let error = single_error("lxc.uts.nmae = web");
    assert!(
        error.ends_with("config:1: lxc.uts.nmae: unknown key (did you mean lxc.uts.name?)"),
        "{error}"
    );
    let error = single_error("lxc.utsnme = web");
    assert!(error.contains("did you mean lxc.utsname?"), "{error}");
}

#[test]
fn all_errors_are_reported_not_just_the_first() {
    let (errors, _dir) = errors_of("lxc.tty.max = x\nlxc.pty.max = y\nlxc.bogus = 1\n");
    assert_eq!(errors.len(), 3, "{errors:?}");
}

#[test]
fn conflicting_keys_name_both_lines() {
    let error = single_error("lxc.cap.drop = sys_admin\nlxc.cap.keep = chown\n");
    assert!(
        error.contains("config:2: lxc.cap.keep: cannot be used together with lxc.cap.drop"),
        "{error}"
    );
    assert!(error.contains("config:1"), "{error}");
}

#[test]
fn a_network_without_type_is_an_error() {
    let error = single_error("lxc.net.0.link = br0\n");
    assert!(error.contains("lxc.net.0.type"), "{error}");
}

#[test]
fn include_loop_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("a.conf"), "lxc.include = b.conf\n").expect("write");
    fs::write(dir.path().join("b.conf"), "lxc.include = a.conf\n").expect("write");
    let failure = load_file(&dir.path().join("a.conf"), &[]).expect_err("loop");
    assert!(
        matches!(failure.errors[..], [ConfigError::IncludeLoop { .. }]),
        "{failure}"
    );
}

#[test]
fn a_nul_byte_fails_instead_of_silently_dropping_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    fs::write(&path, b"lxc.uts.name = a\n\0lxc.cap.drop = sys_admin\n").expect("write");
    let failure = load_file(&path, &[]).expect_err("NUL");
    assert!(
        failure.to_string().contains("config:2: NUL byte"),
        "{failure}"
    );
}

#[test]
fn defines_override_the_file_and_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config");
    fs::write(&path, "lxc.uts.name = a\n").expect("write");
    let loaded = load_file(&path, &["lxc.uts.name=b".into()]).expect("load");
    assert_eq!(loaded.spec.uts_name.as_deref(), Some("b"));
    let failure = load_file(&path, &["lxc.tty.max=x".into()]).expect_err("bad define");
    assert!(
        failure
            .to_string()
            .starts_with("<command line>: lxc.tty.max:"),
        "{failure}"
    );
}

#[test]
fn long_environment_lists_load_in_linear_time() {
    // LXC 5 is quadratic here; 20000 lines must still be instant for us.
    let text: String = (0..20_000)
        .map(|i| format!("lxc.environment = V{i}=x\n"))
        .collect();
    let loaded = rlxc_config::load_str(&text, std::path::Path::new("env.conf")).expect("load");
    assert_eq!(loaded.spec.environment.len(), 20_000);
}

#[test]
fn id_maps_are_checked_as_a_whole_at_their_last_line() {
    let error = single_error("lxc.uts.name = a\nlxc.idmap = u 0 100000 65536\n");
    assert!(
        error.contains("config:2: lxc.idmap: there are u ranges but no g range"),
        "{error}"
    );
    let error = single_error("lxc.idmap = u 0 100000 65536\nlxc.idmap = g 1 100000 65536\n");
    assert!(
        error.contains("config:2: lxc.idmap: no g range maps the container's id 0"),
        "{error}"
    );
    let error = single_error(
        "lxc.idmap = u 0 100000 65536\nlxc.idmap = u 100 300000 5\nlxc.idmap = g 0 100000 65536\n",
    );
    assert!(error.contains("overlap on the container side"), "{error}");
}

/// 100,000 lines of what grows in real configs (environment, mount entries, device rules,
/// sysctls, comments) load, every line kept: nothing in the parser is quadratic in the
/// number of lines (bench/ measures how long it takes; no clock here).
#[test]
fn a_hundred_thousand_lines_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.conf");
    let mut text = String::from("lxc.uts.name = big\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "lxc.environment = V{i}=x\n# comment {i}\n\
             lxc.mount.entry = tmpfs mnt/m{i} tmpfs size=1m,create=dir 0 0\n\
             lxc.cgroup.devices.allow = c 1:{} rwm\nlxc.sysctl.net.ipv4.conf.v{i}.forwarding = 1\n",
            i % 256
        ));
    }
    assert_eq!(text.lines().count(), 100_001);
    fs::write(&path, &text).expect("write");
    let loaded = load_file(&path, &[]).expect("load");
    assert_eq!(loaded.spec.environment.len(), 20_000);
    assert_eq!(loaded.spec.mounts.entries.len(), 20_000);
}

/// Numbers out of range are refused naming file, line, key and the range.
#[test]
fn huge_and_negative_numbers_are_refused() {
    let cases = [
        ("lxc.tty.max = -1", "lxc.tty.max: ", "0 to 4294967295"),
        (
            "lxc.pty.max = 99999999999",
            "lxc.pty.max: ",
            "0 to 4294967295",
        ),
        (
            "lxc.net.99999999999.type = veth",
            "lxc.net.99999999999.type: ",
            "network index 99999999999 is out of range",
        ),
        (
            "lxc.prlimit.nofile = 99999999999999999999999",
            "lxc.prlimit.nofile: ",
            "the limit must be a whole number below 2^64",
        ),
        (
            "lxc.prlimit.nofile = 1:-1",
            "lxc.prlimit.nofile: ",
            "the hard limit",
        ),
        ("lxc.cgroup.pids.max = -5", "lxc.cgroup.pids.max: ", "-5"),
    ];
    for (text, key_part, reason_part) in cases {
        let error = single_error(text);
        assert!(
            error.contains(&format!("/config:1: {key_part}")),
            "{text}: {error}"
        );
        assert!(error.contains(reason_part), "{text}: {error}");
    }
}

#[test]
fn mount_targets_that_climb_out_of_the_rootfs_are_refused() {
    for target in ["../../escaped", "mnt/../../escaped", "a/.."] {
        let error = single_error(&format!(
            "lxc.mount.entry = tmpfs {target} tmpfs create=dir 0 0"
        ));
        assert!(error.contains("config:1: lxc.mount.entry: "), "{error}");
        assert!(error.contains("'..' component"), "{error}");
    }
}
