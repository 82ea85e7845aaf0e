//! The container's mounts are shared among the container's own mount namespaces, as LXC and
//! systemd-nspawn leave them, and linked to nothing of the host's. systemd relies on it: the
//! credential mounts a service's set-up makes in a child namespace must reach pid 1. An
//! `lxc.mount.entry` that names its own propagation keeps it.

mod support;

use std::collections::HashSet;

use support::tmpfs::SmallTmpfs;
use support::{assert_ok, World};

/// (mount point, its `shared:N` peer group, whether it has a `master:`) per mount.
fn propagation(mountinfo: &str) -> Vec<(String, Option<String>, bool)> {
    mountinfo
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let optional = fields[6..].iter().take_while(|f| **f != "-");
            let mut shared = None;
            let mut master = false;
            for tag in optional {
                if let Some(group) = tag.strip_prefix("shared:") {
                    shared = Some(group.to_string());
                }
                master |= tag.starts_with("master:");
            }
            (fields[4].to_string(), shared, master)
        })
        .collect()
}

#[test]
fn a_mount_made_in_a_child_namespace_reaches_init_and_never_the_host() {
    let world = World::new();
    let name = world.busybox("propagation");
    world.start_with_init_script(&name, "mkdir -p /mnt/probe");
    let init = world.init_pid(&name);

    // Every mount of the container is shared, in peer groups the host has no mount of.
    let inside = std::fs::read_to_string(format!("/proc/{init}/mountinfo")).expect("mountinfo");
    let host = std::fs::read_to_string("/proc/self/mountinfo").expect("host mountinfo");
    let host_groups: HashSet<String> = propagation(&host)
        .into_iter()
        .filter_map(|(_, group, _)| group)
        .collect();
    for (point, group, master) in propagation(&inside) {
        let group = group.unwrap_or_else(|| panic!("{point} is not shared:\n{inside}"));
        assert!(!master, "{point} receives from a master:\n{inside}");
        assert!(
            !host_groups.contains(&group),
            "{point} is a peer of a host mount (group {group})"
        );
    }

    // No mount is there twice: a bind made after the pivot (/proc/sys read-only, then
    // /proc/sys/net writable on it, the boot id) leaves its source's peer group first, or
    // what is mounted on it is copied beneath it into the source by propagation.
    let mut points: Vec<String> = propagation(&inside)
        .into_iter()
        .map(|(p, _, _)| p)
        .collect();
    points.sort();
    let twice: Vec<&String> = points
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect();
    assert!(twice.is_empty(), "mounted twice: {twice:?}\n{inside}");
    assert!(inside.contains(" /proc/sys/net "), "{inside}");

    // What systemd does for a service's credentials: a mount made in a mount namespace of
    // its own (its propagation as init's, as systemd leaves /run), which init must see.
    let script = "unshare -m --propagation shared mount -t tmpfs rlxc-probe /mnt/probe";
    assert_ok(&world.sh(&name, script), "mount in a child namespace");
    let inside = std::fs::read_to_string(format!("/proc/{init}/mountinfo")).expect("mountinfo");
    assert!(
        inside.contains(" /mnt/probe "),
        "init does not see the child namespace's mount:\n{inside}"
    );
    let host = std::fs::read_to_string("/proc/self/mountinfo").expect("host mountinfo");
    assert!(!host.contains("rlxc-probe"), "the mount reached the host");

    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// The `propagation` line of the mount at `point`.
fn at(mountinfo: &str, point: &str) -> (Option<String>, bool) {
    let found = propagation(mountinfo)
        .into_iter()
        .rfind(|(p, _, _)| p == point);
    let (_, shared, master) = found.unwrap_or_else(|| panic!("no {point}:\n{mountinfo}"));
    (shared, master)
}

fn run(program: &str, args: &[&str]) {
    let status = std::process::Command::new(program)
        .args(args)
        .status()
        .expect(program);
    assert!(status.success(), "{program} {args:?}: {status}");
}

#[test]
fn an_entry_keeps_the_propagation_it_names_while_the_others_are_shared() {
    // A host mount of the test's own, shared, for the `rslave` bind to receive from. Made
    // before the world, so it is unmounted after the container has stopped.
    let host = SmallTmpfs::new();
    let host_dir = host.path("");
    let host_dir = host_dir.to_str().expect("utf-8 path").trim_end_matches('/');
    run("mount", &["--make-shared", host_dir]);
    let world = World::new();
    let name = world.busybox("entry-propagation");
    world.append_config(
        &name,
        &format!(
            "lxc.mount.entry = tmpfs mnt/private tmpfs private,create=dir 0 0\n\
             lxc.mount.entry = {host_dir} mnt/slave none rbind,rslave,create=dir 0 0\n\
             lxc.mount.entry = tmpfs mnt/plain tmpfs create=dir 0 0\n"
        ),
    );
    world.start_with_init_script(&name, "true");
    let init = world.init_pid(&name);
    let inside = std::fs::read_to_string(format!("/proc/{init}/mountinfo")).expect("mountinfo");

    assert_eq!(at(&inside, "/mnt/private"), (None, false), "{inside}");
    let (shared, master) = at(&inside, "/mnt/slave");
    assert!(
        shared.is_none() && master,
        "/mnt/slave is no pure slave:\n{inside}"
    );
    assert!(at(&inside, "/mnt/plain").0.is_some(), "{inside}");
    assert!(at(&inside, "/").0.is_some(), "{inside}");

    // The slave receives what the host mounts there, and only that way.
    std::fs::create_dir(host.path("sub")).expect("mkdir sub");
    let sub = format!("{host_dir}/sub");
    run("mount", &["-t", "tmpfs", "rlxc-host-sub", &sub]);
    let inside = std::fs::read_to_string(format!("/proc/{init}/mountinfo")).expect("mountinfo");
    run("umount", &[&sub]);
    assert!(
        inside.contains(" /mnt/slave/sub "),
        "the host's mount did not reach the rslave entry:\n{inside}"
    );

    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}
