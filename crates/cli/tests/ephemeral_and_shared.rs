//! `lxc.ephemeral` (a container destroyed once it stopped) and `lxc.namespace.share.*` /
//! `start --share-*` (a container joining another's namespaces), on real busybox containers.

mod support;

use predicates::prelude::*;
use support::World;

fn ns(pid: i32, kind: &str) -> std::path::PathBuf {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}")).expect("ns link")
}

#[test]
fn an_ephemeral_container_is_gone_after_its_stop_but_not_after_a_reboot() {
    let world = World::new();
    let name = world.busybox("ephemeral");
    world.append_config(&name, "lxc.ephemeral = 1\n");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    world
        .rlxc(&["stop", "-n", &name, "-r", "-t", "30"])
        .assert()
        .success();
    assert_ne!(world.init_pid(&name), pid, "a reboot is not a stop");
    assert!(world.lxcpath().join(&name).exists());
    world
        .rlxc(&["stop", "-n", &name, "-t", "30"])
        .assert()
        .success();
    assert!(!world.lxcpath().join(&name).exists(), "still defined");
    world
        .rlxc(&["ls", "-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(name.as_str()).not());
    world.assert_nothing_left(&name);
}

#[test]
fn an_ephemeral_container_that_powers_off_by_itself_is_gone_too() {
    let world = World::new();
    let name = world.busybox("ephemoff");
    world.append_config(&name, "lxc.ephemeral = 1\n");
    world.rlxc(&["start", "-n", &name]).assert().success();
    // (Its status is not the point: init's shutdown may end the attached poweroff too.)
    let _ = world.output(&["attach", "-n", &name, "--", "/sbin/poweroff"]);
    world
        .rlxc(&["wait", "-n", &name, "-s", "STOPPED", "-t", "30"])
        .assert()
        .success();
    assert!(!world.lxcpath().join(&name).exists(), "still defined");
    world.assert_nothing_left(&name);
}

#[test]
fn share_net_joins_another_containers_network_namespace_by_name_and_uts_by_pid() {
    let world = World::new();
    let first = world.busybox("sharefirst");
    world.rlxc(&["start", "-n", &first]).assert().success();
    let first_pid = world.init_pid(&first);

    // By name in the config, and by pid on the command line.
    let second = world.busybox("sharesecond");
    world.append_config(&second, &format!("lxc.namespace.share.net = {first}\n"));
    world
        .rlxc(&[
            "start",
            "-n",
            &second,
            "--share-uts",
            &first_pid.to_string(),
        ])
        .assert()
        .success();
    let second_pid = world.init_pid(&second);
    assert_eq!(ns(second_pid, "net"), ns(first_pid, "net"));
    assert_eq!(ns(second_pid, "uts"), ns(first_pid, "uts"));
    // What it does not share stays its own, and the monitor went back to the host's.
    assert_ne!(ns(second_pid, "ipc"), ns(first_pid, "ipc"));
    assert_ne!(ns(second_pid, "mnt"), ns(first_pid, "mnt"));
    let monitor = world.monitor_pid(&second);
    assert_eq!(ns(monitor, "net"), ns(std::process::id() as i32, "net"));
    assert_eq!(
        std::fs::read_link(format!("/proc/{monitor}/ns/pid_for_children")).expect("ns"),
        ns(std::process::id() as i32, "pid")
    );
    // One hostname for both (whichever init set it last: the template's rcS sets it too).
    let hostname = |name: &str| world.output(&["attach", "-n", name, "--", "/bin/hostname"]);
    assert_eq!(hostname(&first).stdout, hostname(&second).stdout);

    // The cgroup and time namespaces too, by name; the monitor keeps its own.
    let third = world.busybox("sharethird");
    world.append_config(
        &third,
        &format!("lxc.namespace.share.cgroup = {first}\nlxc.namespace.share.time = {first}\n"),
    );
    world.rlxc(&["start", "-n", &third]).assert().success();
    let third_pid = world.init_pid(&third);
    for kind in ["cgroup", "time"] {
        assert_eq!(ns(third_pid, kind), ns(first_pid, kind), "{kind}");
        assert_ne!(
            ns(third_pid, kind),
            ns(std::process::id() as i32, kind),
            "{kind}"
        );
    }
    let monitor = world.monitor_pid(&third);
    for kind in ["cgroup", "time", "time_for_children"] {
        assert_eq!(
            std::fs::read_link(format!("/proc/{monitor}/ns/{kind}")).expect("ns"),
            ns(std::process::id() as i32, kind),
            "the monitor's {kind}"
        );
    }

    for name in [&third, &second, &first] {
        world.rlxc(&["stop", "-n", name, "-k"]).assert().success();
        world.assert_nothing_left(name);
    }
}

#[test]
fn what_cannot_be_shared_is_refused_before_anything_is_made() {
    let world = World::new();
    let name = world.busybox("sharebad");
    for (define, says) in [
        (
            "lxc.namespace.share.mnt=1",
            "in another container's it would change that container's filesystem",
        ),
        (
            "lxc.namespace.share.user=1",
            "give both containers the same lxc.idmap",
        ),
        (
            "lxc.namespace.share.net=no-such-container",
            "no running container no-such-container",
        ),
        ("lxc.namespace.share.ipc=/nonexistent/ns", "/nonexistent/ns"),
    ] {
        world
            .rlxc(&["start", "-n", &name, "-s", define])
            .assert()
            .code(1)
            .stderr(predicate::str::contains(says));
        world.assert_nothing_left(&name);
    }
    // A shared time namespace's clocks are the other's: no offsets for them.
    let share_own_time = format!("lxc.namespace.share.time={}", std::process::id());
    world
        .rlxc(&[
            "start",
            "-n",
            &name,
            "-s",
            &share_own_time,
            "-s",
            "lxc.time.offset.boot=3600s",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("whose clocks it cannot offset"));
    world.assert_nothing_left(&name);
    // A network of its own in a shared network namespace would land in the other one.
    let own_pid = std::process::id().to_string();
    world
        .rlxc(&[
            "start",
            "-n",
            &name,
            "--share-net",
            &own_pid,
            "-s",
            "lxc.net.0.type=veth",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("lxc.net.0.type = empty"));
    world.assert_nothing_left(&name);
}
