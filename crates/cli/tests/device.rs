//! `rlxc device` / `lxc-device`: a host device node given to a running container and taken
//! back (the node in its /dev, the rule in its cgroup: v1 `devices.list`, cgroup2 program),
//! and a network interface moved in, renamed, and sent home by `del`, by a stop and after a
//! monitor crash. Interfaces only in a network namespace of the test's own.

mod support;

use std::path::Path;
use std::process::Output;

use predicates::prelude::*;
use support::{cgroup_dir, TestNetns, World};

/// A device no container is given by default: opening it is a cgroup question (read gives
/// EIO, but the open succeeds where the rules allow it).
const NODE: &str = "/dev/loop-control";
const RULE: &str = "c 10:237 rwm";

/// Opens `path` for reading inside the container (after making it there, if missing, for a
/// node that `del` removed): "OPENED", or the shell's error.
fn open_inside(world: &World, name: &str, path: &str) -> String {
    let script =
        format!("[ -e {path} ] || mknod {path} c 10 237 2>/dev/null; exec 3<{path} && echo OPENED");
    let output = world.sh(name, &script);
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn v1_devices_list(pid: i32) -> Option<String> {
    let dir = cgroup_dir(pid, "devices");
    if !dir.starts_with("/sys/fs/cgroup/devices") {
        return None;
    }
    // The processes are in the inner cgroup, when there is one: its list counts.
    let inner = dir.join("ns");
    let dir = if inner.is_dir() { inner } else { dir };
    Some(std::fs::read_to_string(dir.join("devices.list")).expect("devices.list"))
}

#[test]
fn a_node_is_made_allowed_then_removed_and_denied() {
    let world = World::new();
    let name = world.busybox("devnode");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    let inside = format!("/proc/{pid}/root{NODE}");
    assert!(!Path::new(&inside).exists());
    assert!(open_inside(&world, &name, "/dev/probe").contains("Operation not permitted"));

    world
        .rlxc(&["device", "-n", &name, "add", NODE])
        .assert()
        .success()
        .stdout("")
        .stderr("");
    let meta = std::fs::metadata(&inside).expect("the node is in the container");
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    assert!(meta.file_type().is_char_device());
    assert_eq!(
        meta.rdev(),
        std::fs::metadata(NODE).expect("host node").rdev()
    );
    if let Some(list) = v1_devices_list(pid) {
        assert!(list.lines().any(|l| l == RULE), "{list}");
    }
    assert_eq!(open_inside(&world, &name, NODE), "OPENED\n");

    world
        .rlxc(&["device", "-n", &name, "del", NODE])
        .assert()
        .success();
    assert!(!Path::new(&inside).exists(), "the node is gone");
    if let Some(list) = v1_devices_list(pid) {
        assert!(!list.lines().any(|l| l == RULE), "{list}");
    }
    assert!(open_inside(&world, &name, NODE).contains("Operation not permitted"));

    // Under another name, below a directory that does not exist yet.
    world
        .rlxc(&["device", "-n", &name, "add", NODE, "/dev/extra/lc"])
        .assert()
        .success();
    assert_eq!(open_inside(&world, &name, "/dev/extra/lc"), "OPENED\n");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// With cgroup2 device rules the start attached a program; `add` replaces it with one that
/// also allows the device (programs add up: another one could only narrow), `del` with one
/// that denies it. The v1 rule (on a hybrid host) is opened up by hand, so only the program
/// decides.
#[test]
fn a_cgroup2_program_is_replaced_to_allow_and_deny_the_node() {
    let world = World::new();
    let name = world.busybox("devbpf");
    let mut rules =
        String::from("lxc.cgroup2.devices.deny = a\nlxc.cgroup2.devices.allow = c *:* m\n");
    for device in ["1:3", "1:5", "1:8", "1:9", "5:*", "136:*"] {
        rules.push_str(&format!("lxc.cgroup2.devices.allow = c {device} rwm\n"));
    }
    world.append_config(&name, &rules);
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    let open_v1 = || {
        let dir = cgroup_dir(pid, "devices");
        if dir.starts_with("/sys/fs/cgroup/devices") {
            for dir in [dir.clone(), dir.join("ns")] {
                if dir.is_dir() {
                    std::fs::write(dir.join("devices.allow"), RULE).expect("v1 allow");
                }
            }
        }
    };
    open_v1();
    assert!(open_inside(&world, &name, "/dev/probe").contains("Operation not permitted"));
    world
        .rlxc(&["device", "-n", &name, "add", NODE])
        .assert()
        .success();
    assert_eq!(open_inside(&world, &name, NODE), "OPENED\n");
    // The start's rules are still there: /dev/null opens.
    assert_eq!(open_inside(&world, &name, "/dev/null"), "OPENED\n");
    world
        .rlxc(&["device", "-n", &name, "del", NODE])
        .assert()
        .success();
    open_v1();
    assert!(open_inside(&world, &name, "/dev/probe").contains("Operation not permitted"));
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

fn links_inside(pid: i32) -> String {
    let output = std::process::Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["ip", "-o", "link", "show"])
        .output()
        .expect("nsenter ip");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn line_of<'a>(links: &'a str, name: &str) -> Option<&'a str> {
    links.lines().find(|line| {
        line.split(": ")
            .nth(1)
            .is_some_and(|n| n.split('@').next() == Some(name))
    })
}

#[test]
fn an_interface_moves_in_renamed_and_goes_home_at_del_and_at_stop() {
    let netns = TestNetns::new();
    netns.ip(&[
        "link", "add", "vdev0", "type", "veth", "peer", "name", "vdev1",
    ]);
    netns.ip(&["link", "set", "vdev0", "mtu", "1400", "up"]);
    let world = World::in_netns(&netns);
    let name = world.busybox("devnet");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);

    world
        .rlxc(&["device", "-n", &name, "add", "vdev0", "eth5"])
        .assert()
        .success();
    assert!(!netns.links().contains(&"vdev0".to_string()));
    let inside = links_inside(pid);
    let eth5 = line_of(&inside, "eth5").unwrap_or_else(|| panic!("no eth5 inside: {inside}"));
    assert!(eth5.contains(",UP") && eth5.contains("mtu 1400"), "{eth5}");

    world
        .rlxc(&["device", "-n", &name, "del", "eth5"])
        .assert()
        .success();
    assert!(line_of(&links_inside(pid), "eth5").is_none());
    let home = netns.ip(&["-o", "link", "show", "vdev0"]);
    assert!(home.contains("mtu 1400"), "{home}");

    // Given again under its own name, it comes home when the container stops (a veth would
    // die with the container's namespace).
    world
        .rlxc(&["device", "-n", &name, "add", "vdev0"])
        .assert()
        .success();
    assert!(line_of(&links_inside(pid), "vdev0").is_some());
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    assert!(
        netns.links().contains(&"vdev0".to_string()),
        "{:?}",
        netns.links()
    );
    world.assert_nothing_left(&name);

    // And after a monitor crash, by the stop that cleans up.
    world.rlxc(&["start", "-n", &name]).assert().success();
    world
        .rlxc(&["device", "-n", &name, "add", "vdev0", "eth6"])
        .assert()
        .success();
    world.kill_monitor(&name);
    let _ = world.output(&["stop", "-n", &name, "-k"]);
    assert!(
        netns.links().contains(&"vdev0".to_string()),
        "{:?}",
        netns.links()
    );
    world.assert_nothing_left(&name);
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The messages and exit codes of LXC's lxc-device, called by that name.
#[test]
fn lxc_device_says_what_lxcs_says() {
    let world = World::new();
    let link = world.dir.path().join("lxc-device");
    std::os::unix::fs::symlink(support::RLXC, &link).expect("link");
    let name = world.busybox("devmsg");
    let run = |args: &[&str]| world.process(&link, args).output().expect("lxc-device");

    let stopped = run(&["-n", &name, "add", NODE]);
    assert_eq!(stopped.status.code(), Some(1));
    assert!(stderr(&stopped).contains(&format!("Container {name} is not running")));
    let stopped = run(&["-n", &name, "frob", NODE]);
    assert!(stderr(&stopped).contains(&format!("Container {name} is not running")));

    world.rlxc(&["start", "-n", &name]).assert().success();
    let bad = run(&["-n", &name, "frob", NODE]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("Please use add or del"));
    let missing = run(&["-n", &name, "add", "/dev/no-such-node"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        predicate::str::contains(format!("Failed to add /dev/no-such-node to {name}"))
            .eval(&stderr(&missing)),
        "{}",
        stderr(&missing)
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}
