//! `rlxc snapshot` / `lxc-snapshot` on real containers: snapshots laid out as LXC 5 lays them
//! out (LXC's own `lxc-snapshot -L -C` reads ours the same), restore in place and as a new
//! container (trees compared with find and sha256sum), destroy one and ALL, `destroy -s`;
//! on a btrfs filesystem of the test's own, snapshots and `copy -s` clones are subvolumes.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::frozen::{big_source, kill_while_frozen};
use support::loopfs::{is_subvolume, LoopFs};
use support::{assert_ok, host_sh, World};

/// Every entry of a tree (type, mode, owner, size, link target) and every file's content.
fn tree(dir: &Path) -> String {
    host_sh(&format!(
        "cd {} && find . -printf '%p %y %m %u %g %s %l\\n' | sort
         find . -type f -print0 | sort -z | xargs -0 sha256sum",
        dir.display()
    ))
}

fn stdout(world: &World, args: &[&str]) -> String {
    let output = world.output(args);
    assert_ok(&output, &args.join(" "));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn fill(rootfs: &Path) {
    host_sh(&format!(
        "set -e; mkdir -p {d}/data/sub; cd {d}/data
         echo one > a; echo two > sub/b; ln -s a link; chmod 0600 sub/b; chown 1234:4321 a",
        d = rootfs.display()
    ));
}

#[test]
fn snapshot_change_restore_and_list_as_lxc_does() {
    let world = World::new();
    let name = world.busybox("snap");
    let rootfs = world.rootfs(&name);
    fill(&rootfs);
    let before = tree(&rootfs);
    let comment = world.lxcpath().join("comment.txt");
    fs::write(&comment, "before the upgrade\n").expect("comment");

    assert_ok(
        &world.output(&["snapshot", "-n", &name, "-c", &comment.to_string_lossy()]),
        "snapshot -c",
    );
    let snaps = world.lxcpath().join(&name).join("snaps");
    for file in ["config", "rootfs", "ts", "comment"] {
        assert!(snaps.join("snap0").join(file).exists(), "snap0/{file}");
    }
    // The change: a file edited, one removed, one added.
    host_sh(&format!(
        "set -e; cd {}/data; echo changed > a; rm sub/b; echo new > added",
        rootfs.display()
    ));
    let after = tree(&rootfs);
    assert_ne!(before, after);
    assert_ok(&world.output(&["snapshot", "-n", &name]), "snapshot");
    assert!(!snaps.join("snap1/comment").exists());

    // -L and -C: our listing, and LXC's of the same directory, agree.
    let listed = stdout(&world, &["snapshot", "-n", &name, "-L", "-C"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 3, "{listed}");
    assert!(
        lines[0].starts_with(&format!("snap0 ({}) ", snaps.display())),
        "{listed}"
    );
    assert_eq!(lines[1], "before the upgrade");
    assert!(lines[2].starts_with("snap1 ("), "{listed}");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&world, &["snapshot", "-n", &name, "-L", "--json"]))
            .expect("json");
    assert_eq!(json[0]["name"], "snap0");
    assert_eq!(
        json[0]["path"],
        snaps.join("snap0").to_string_lossy().as_ref()
    );
    assert_eq!(json[0]["comment"], "before the upgrade\n");
    assert_eq!(json[1]["comment"], serde_json::Value::Null);
    assert!(lines[0].ends_with(json[0]["timestamp"].as_str().expect("ts")));
    let lxc = Command::new("lxc-snapshot")
        .args([
            "-P",
            &world.lxcpath().to_string_lossy(),
            "-n",
            &name,
            "-L",
            "-C",
        ])
        .output()
        .expect("lxc-snapshot");
    assert_ok(&lxc, "lxc-snapshot -L -C");
    assert_eq!(String::from_utf8_lossy(&lxc.stdout), listed);

    // Restore in place: the tree of the snapshot, the snapshots kept.
    assert_ok(
        &world.output(&["snapshot", "-n", &name, "-r", "snap0"]),
        "snapshot -r snap0",
    );
    assert_eq!(tree(&rootfs), before);
    assert!(snaps.join("snap1/config").exists());
    let config = fs::read_to_string(world.config(&name)).expect("config");
    assert!(
        config.contains(&format!("lxc.rootfs.path = {}\n", rootfs.display())),
        "{config}"
    );
    // Nothing else left in the lxcpath (the old version, a staging directory).
    let entries: Vec<String> = fs::read_dir(world.lxcpath())
        .expect("lxcpath")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|e| e != "comment.txt")
        .collect();
    assert_eq!(entries, vec![name.clone()]);

    // Restore as another container: snap1's tree under the new name, which starts.
    let other = world.name("snapnew");
    assert_ok(
        &world.output(&["snapshot", "-n", &name, "-r", "snap1", "-N", &other]),
        "snapshot -r snap1 -N",
    );
    let strip_names = |text: String| {
        text.lines()
            .filter(|line| !line.contains("./etc/hostname") && !line.contains("./etc/hosts"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip_names(tree(&world.rootfs(&other))), strip_names(after));
    world.rlxc(&["start", "-n", &other]).assert().success();
    let hostname = world.sh(&other, "hostname");
    assert_ok(&hostname, "hostname");
    assert_eq!(String::from_utf8_lossy(&hostname.stdout).trim(), other);
    world.rlxc(&["stop", "-n", &other, "-k"]).assert().success();

    // Destroy one, then ALL: `snaps` goes with the last.
    assert_ok(
        &world.output(&["snapshot", "-n", &name, "-d", "snap1"]),
        "snapshot -d snap1",
    );
    assert!(!snaps.join("snap1").exists());
    assert!(snaps.join("snap0").exists());
    assert_ok(
        &world.output(&["snapshot", "-n", &name, "-d", "ALL"]),
        "snapshot -d ALL",
    );
    assert!(!snaps.exists());
    assert_eq!(
        stdout(&world, &["snapshot", "-n", &name, "-L"]).trim(),
        "No snapshots"
    );
}

#[test]
fn a_snapshot_killed_while_the_container_is_frozen_leaves_it_thawed_and_no_snapshot() {
    let world = World::new();
    let name = big_source(&world, "snapfrz");
    world.start_with_init_script(&name, "true");
    let init = world.init_pid(&name);

    let mut child = world.spawn_rlxc(&["snapshot", "-n", &name]);
    kill_while_frozen(init, &mut child);
    assert_eq!(world.state(&name), "RUNNING");
    let snaps = world.lxcpath().join(&name).join("snaps");
    assert!(
        !snaps.join("snap0").exists(),
        "a half snapshot under its name"
    );
    assert_eq!(
        stdout(&world, &["snapshot", "-n", &name, "-L"]).trim(),
        "No snapshots"
    );
    // The next one is whole, and is snap0.
    assert_ok(&world.output(&["snapshot", "-n", &name]), "snapshot");
    let listed = stdout(&world, &["snapshot", "-n", &name, "-L"]);
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(names, ["snap0"], "{listed}");
    assert!(snaps.join("snap0/rootfs/many/d39/f499").is_file());
    assert_eq!(world.state(&name), "RUNNING");
}

#[test]
fn destroy_refuses_a_container_with_snapshots_unless_told_s() {
    let world = World::new();
    let name = world.busybox("snapdestroy");
    assert_ok(&world.output(&["snapshot", "-n", &name]), "snapshot");
    assert_ok(&world.output(&["snapshot", "-n", &name]), "snapshot");
    let refused = world.output(&["destroy", "-n", &name]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("has snapshots"), "{stderr}");
    assert!(world.config(&name).exists());
    assert!(world
        .lxcpath()
        .join(&name)
        .join("snaps/snap1/rootfs")
        .exists());
    assert_ok(&world.output(&["destroy", "-n", &name, "-s"]), "destroy -s");
    assert!(!world.lxcpath().join(&name).exists());
}

#[test]
fn on_btrfs_snapshots_and_clones_are_subvolumes() {
    let fs = LoopFs::new("btrfs", 256);
    let world = World::below(fs.path());
    let name = world.name("snapbtrfs");
    assert_ok(
        &world.output(&["create", "-n", &name, "-t", "busybox", "-B", "btrfs"]),
        "create -B btrfs",
    );
    let rootfs = world.rootfs(&name);
    fill(&rootfs);
    let before = tree(&rootfs);

    assert_ok(&world.output(&["snapshot", "-n", &name]), "snapshot");
    let snap = world.lxcpath().join(&name).join("snaps/snap0");
    assert!(is_subvolume(&snap.join("rootfs")), "snap0's rootfs");
    let config = fs::read_to_string(snap.join("config")).expect("config");
    assert!(
        config.contains(&format!("btrfs:{}", snap.join("rootfs").display())),
        "{config}"
    );
    fs::write(rootfs.join("data/a"), "changed\n").expect("change");
    assert_ok(
        &world.output(&["snapshot", "-n", &name, "-r", "snap0"]),
        "restore",
    );
    assert_eq!(tree(&rootfs), before);
    assert!(is_subvolume(&rootfs), "the restored rootfs");

    let clone = world.name("snapbtrfsclone");
    assert_ok(
        &world.output(&["copy", "-n", &name, "-N", &clone, "-s"]),
        "copy -s",
    );
    let clone_rootfs = world.rootfs(&clone);
    assert!(is_subvolume(&clone_rootfs), "the clone's rootfs");
    assert_eq!(
        fs::read_to_string(clone_rootfs.join("etc/hostname")).expect("hostname"),
        format!("{clone}\n")
    );
    fs::write(clone_rootfs.join("data/a"), "clone\n").expect("write in the clone");
    assert_eq!(
        fs::read_to_string(rootfs.join("data/a")).expect("source"),
        "one\n"
    );
    world.rlxc(&["start", "-n", &clone]).assert().success();
    world.rlxc(&["stop", "-n", &clone, "-k"]).assert().success();

    assert_ok(&world.output(&["destroy", "-n", &clone]), "destroy clone");
    assert_ok(&world.output(&["destroy", "-n", &name, "-s"]), "destroy -s");
    let left = host_sh(&format!("btrfs subvolume list {}", fs.path().display()));
    assert_eq!(left.trim(), "", "subvolumes left");
}
