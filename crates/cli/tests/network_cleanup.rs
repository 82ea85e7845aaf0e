//! Container networking: what is left after failures, crashes and leftovers, network scripts
//! and several interfaces. Each test runs rlxc in a network namespace of its own.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use support::{TestNetns, World};

fn veth_lines(index: u32, bridge: &str, extra: &str) -> String {
    format!(
        "lxc.net.{index}.type = veth\nlxc.net.{index}.link = {bridge}\nlxc.net.{index}.flags = up\n{extra}"
    )
}

#[test]
fn a_failed_start_leaves_no_interface() {
    let netns = TestNetns::new();
    netns.bridge("br0", "10.21.0.1/24");
    let world = World::in_netns(&netns);
    // The second interface's bridge does not exist: the first one is made, then undone.
    let name = world.busybox("netfail");
    world.append_config(
        &name,
        &format!(
            "{}{}",
            veth_lines(0, "br0", "lxc.net.0.veth.pair = vfail0\n"),
            veth_lines(1, "nobridge", "")
        ),
    );
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .failure()
        .stderr(predicate::str::contains("lxc.net.1").and(predicate::str::contains("nobridge")));
    assert_eq!(netns.links(), ["lo", "br0"]);
    world.assert_nothing_left(&name);

    // A failing script.up undoes its interface too.
    let name = world.busybox("scriptfail");
    world.append_config(
        &name,
        &veth_lines(
            0,
            "br0",
            "lxc.net.0.veth.pair = vfail1\nlxc.net.0.script.up = /bin/false\n",
        ),
    );
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .failure()
        .stderr(predicate::str::contains("lxc.net.0.script.up"));
    assert_eq!(netns.links(), ["lo", "br0"]);
    world.assert_nothing_left(&name);
}

#[test]
fn network_scripts_get_lxcs_arguments_and_environment() {
    let netns = TestNetns::new();
    netns.bridge("br0", "10.22.0.1/24");
    let world = World::in_netns(&netns);
    let log = world.dir.path().join("net-scripts.log");
    let script = world.dir.path().join("net-script.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$* | $LXC_HOOK_TYPE $LXC_HOOK_SECTION $LXC_NET_TYPE $LXC_NET_PARENT $LXC_NET_PEER $LXC_NAME\" >> {}\n",
            log.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let name = world.busybox("netscript");
    let script = script.display().to_string();
    world.append_config(
        &name,
        &veth_lines(
            0,
            "br0",
            &format!("lxc.net.0.veth.pair = vscript0\nlxc.net.0.script.up = {script}\nlxc.net.0.script.down = {script}\n"),
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    let text = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        text,
        format!(
            "{name} net up veth vscript0 | up net veth br0 vscript0 {name}\n\
             {name} net down veth vscript0 | down net veth br0 vscript0 {name}\n"
        )
    );
}

#[test]
fn a_leftover_pair_of_ours_is_replaced_and_a_strangers_link_is_left_alone() {
    let netns = TestNetns::new();
    netns.bridge("br0", "10.23.0.1/24");
    let world = World::in_netns(&netns);
    let name = world.busybox("leftover");
    world.append_config(
        &name,
        &veth_lines(0, "br0", "lxc.net.0.veth.pair = vleft0\n"),
    );

    // What a monitor killed before anything cleaned up leaves: our alias on the name.
    netns.ip(&[
        "link", "add", "vleft0", "type", "veth", "peer", "name", "vleft1",
    ]);
    netns.ip(&["link", "set", "vleft0", "alias", &format!("rlxc:{name}:0")]);
    world.rlxc(&["start", "-n", &name]).assert().success();
    assert!(
        !netns.links().contains(&"vleft1".to_string()),
        "the stale pair is gone"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();

    // Someone else's link of that name is not ours to delete.
    netns.ip(&[
        "link", "add", "vleft0", "type", "veth", "peer", "name", "vleft1",
    ]);
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .failure()
        .stderr(predicate::str::contains("vleft0").and(predicate::str::contains("exists")));
    assert_eq!(netns.links(), ["lo", "br0", "vleft1", "vleft0"]);
    world.assert_nothing_left(&name);
}

#[test]
fn a_restart_straight_after_a_monitor_kill_works() {
    let netns = TestNetns::new();
    netns.bridge("br0", "10.24.0.1/24");
    let world = World::in_netns(&netns);
    let name = world.busybox("netkill");
    world.append_config(
        &name,
        &veth_lines(
            0,
            "br0",
            "lxc.net.0.veth.pair = vkill0\nlxc.net.0.ipv4.address = 10.24.0.2/24\n",
        ),
    );
    for _ in 0..3 {
        world.rlxc(&["start", "-n", &name]).assert().success();
        let init = world.init_pid(&name);
        world.kill_monitor(&name);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::path::Path::new(&format!("/proc/{init}")).exists() {
            assert!(Instant::now() < deadline, "init survived its monitor");
            std::thread::sleep(Duration::from_millis(10));
        }
        // No wait for the kernel to finish with the dead namespace: start at once.
        world.rlxc(&["start", "-n", &name]).assert().success();
        world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    }
    assert_eq!(netns.links(), ["lo", "br0"]);
}

#[test]
fn several_interfaces_are_named_eth0_eth1_and_get_their_addresses() {
    let netns = TestNetns::new();
    netns.bridge("br0", "10.25.0.1/24");
    netns.bridge("br1", "10.25.1.1/24");
    let world = World::in_netns(&netns);
    let name = world.busybox("multi");
    world.append_config(
        &name,
        &format!(
            "{}{}",
            veth_lines(
                0,
                "br0",
                "lxc.net.0.ipv4.address = 10.25.0.2/24\nlxc.net.0.ipv4.address = 10.25.0.12/24\nlxc.net.0.mtu = 1400\n"
            ),
            veth_lines(
                1,
                "br1",
                "lxc.net.1.ipv4.address = 10.25.1.2/24 10.25.1.255\nlxc.net.1.ipv6.address = fd00:25::2/64\n"
            )
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    let output = std::process::Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["ip", "-o", "addr", "show"])
        .output()
        .expect("ip");
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "eth0    inet 10.25.0.2/24",
        "eth0    inet 10.25.0.12/24",
        "eth1    inet 10.25.1.2/24 brd 10.25.1.255",
        "eth1    inet6 fd00:25::2/64",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    world
        .rlxc(&["info", "-n", &name, "-i", "-H"])
        .assert()
        .success()
        .stdout("10.25.0.2\n10.25.0.12\n10.25.1.2\nfd00:25::2\n");
    let output = std::process::Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["ip", "-o", "link", "show", "eth0"])
        .output()
        .expect("ip");
    let link = String::from_utf8_lossy(&output.stdout);
    assert!(link.contains("mtu 1400"), "{link}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    assert_eq!(netns.links(), ["lo", "br0", "br1"]);
}
