//! A container's name: every name `create` accepts starts, attaches and stops, up to each
//! bound of the rule (crates/runtime/src/name.rs); a name one past a bound is refused by
//! `create` with that rule's message, and nothing is made.
//!
//! The worlds here use the default run root (`/run/rlxc`): the longest names' control socket
//! fits there from any lxcpath, as the rule is derived, and not under a test's temporary
//! directory (which is the run directory's fault, said at start: see the last test).

mod support;

use support::World;

/// The world's unique `base-PID-N`, padded with `a` and ended with `last` to exactly `bytes`.
fn name_of_length(world: &World, base: &str, last: &str, bytes: usize) -> String {
    let mut name = world.name(base);
    while name.len() + last.len() < bytes {
        name.push('a');
    }
    name.push_str(last);
    assert_eq!(name.len(), bytes, "{name}");
    world.names.borrow_mut().push(name.clone());
    name
}

/// Creates, starts, attaches to and stops `name`, and checks that nothing is left.
fn create_start_attach_stop(world: &World, name: &str) {
    world
        .rlxc(&["create", "-n", name, "-t", "busybox"])
        .assert()
        .success();
    world.rlxc(&["start", "-n", name]).assert().success();
    assert_eq!(world.state(name), "RUNNING", "{name}");
    let attached = world.output(&[
        "attach",
        "-n",
        name,
        "--",
        "/bin/cat",
        "/proc/sys/kernel/hostname",
    ]);
    support::assert_ok(&attached, name);
    // The hostname is the name (the busybox config's lxc.uts.name), whole: at most 64 bytes.
    assert_eq!(
        String::from_utf8_lossy(&attached.stdout).trim_end_matches('\n'),
        name
    );
    world
        .rlxc(&["stop", "-n", name, "-t", "20"])
        .assert()
        .success();
    assert_eq!(world.state(name), "STOPPED", "{name}");
    world.assert_nothing_left(name);
}

#[test]
fn sixty_four_ascii_bytes_start() {
    let world = World::with_default_run_root();
    let name = name_of_length(&world, "n64", "z", 64);
    create_start_attach_stop(&world, &name);
}

/// 64 bytes whose last character takes three: the bound is bytes, and no character is cut.
#[test]
fn sixty_four_bytes_ending_in_a_multibyte_character_start() {
    let world = World::with_default_run_root();
    let name = name_of_length(&world, "n64u", "容", 64);
    create_start_attach_stop(&world, &name);
}

/// Non-ASCII names, one whose monitor's 15-byte process name (`rlxc-mon x容器…`) the kernel
/// would cut inside a character: that made `/proc/PID/stat` unreadable as UTF-8 and the start
/// failed with "cannot read the monitor's own /proc entry".
#[test]
fn non_ascii_names_start() {
    let world = World::with_default_run_root();
    for base in ["x容器", "контейнер"] {
        let name = world.name(base);
        create_start_attach_stop(&world, &name);
    }
}

/// Inner spaces, colons and ` #` work everywhere a name goes, as LXC allows them: the created
/// config quotes the values that hold the name (unquoted, ` #` began an inline comment that
/// cut the rootfs path), and the busybox rootfs sets the whole name as its hostname.
#[test]
fn names_with_inner_spaces_colons_and_hashes_start() {
    let world = World::with_default_run_root();
    let name = world.name("web #1: a");
    create_start_attach_stop(&world, &name);
}

/// One past each rule: refused by create, with the rule, and nothing in the lxcpath or the
/// run directory.
#[test]
fn names_past_each_rule_are_refused_before_anything_is_made() {
    let world = World::new();
    let too_long = name_of_length(&world, "n65", "z", 65);
    let too_long_multibyte = name_of_length(&world, "n65u", "容", 65);
    let cases = [
        (too_long.clone(), "longer than 64 bytes (65)"),
        (too_long_multibyte.clone(), "longer than 64 bytes (65)"),
        (
            format!("{}\nb", world.name("nl")),
            "control character '\\n'",
        ),
        (
            format!("{}\u{7f}", world.name("del")),
            "control character '\\u{7f}'",
        ),
        (
            format!("{}\tx", world.name("tab")),
            "control character '\\t'",
        ),
        (format!(".{}", world.name("dot")), "starts with '.'"),
        ("..".to_string(), "starts with '.'"),
        (format!("-{}", world.name("dash")), "starts with '-'"),
        (
            format!(" {}", world.name("space")),
            "starts or ends with whitespace",
        ),
        (
            format!("{} ", world.name("space")),
            "starts or ends with whitespace",
        ),
        (format!("a/{}", world.name("slash")), "contains '/'"),
    ];
    for (name, rule) in &cases {
        let output = world.output(&["create", &format!("--name={name}"), "-t", "busybox"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name:?}: {stderr}");
        assert!(
            stderr.contains("invalid container name") && stderr.contains(rule),
            "{name:?}: {stderr}"
        );
        // A start of it says the same, rather than an undecodable step failure.
        let started = world.output(&["start", &format!("--name={name}")]);
        assert!(
            String::from_utf8_lossy(&started.stderr).contains(rule),
            "{name:?}"
        );
    }
    let made: Vec<_> = std::fs::read_dir(world.lxcpath())
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(made.is_empty(), "left in the lxcpath: {made:?}");
    let run: Vec<_> = std::fs::read_dir(world.run_root())
        .map(|dir| dir.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(run.is_empty(), "left in the run directory: {run:?}");
}

/// A run directory too deep for the control socket of a long name is the run directory's
/// fault: the start says so before it makes anything, naming RLXC_RUN_DIR.
#[test]
fn a_run_directory_too_long_for_the_socket_is_said_at_start() {
    let world = World::new();
    let name = name_of_length(&world, "deep", "z", 64);
    world
        .rlxc(&["create", "-n", &name, "-t", "busybox"])
        .assert()
        .success();
    let output = world.output(&["start", "-n", &name]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("(RLXC_RUN_DIR) is too long for this container"),
        "{stderr}"
    );
    world.assert_nothing_left(&name);
}
