//! Backing stores (`create -B`, `lxc.rootfs.path = TYPE:...`) against the real kernel: btrfs
//! and ext4 on image files each test makes and loop-mounts in its own temporary directory,
//! overlay directly. Each container is checked from outside: its init's mount table shows
//! the store as `/`, `losetup` shows the loop device only while it runs, and destroy leaves
//! no subvolume, image, device or mount.

mod support;

use std::process::Command;

use support::loopfs::{is_subvolume, loops_of, loops_under, LoopFs};
use support::World;

/// The mount table line of `/` as the container's init sees it: (root, fstype, source,
/// super options).
fn root_mount(pid: i32) -> (String, String, String, String) {
    let table = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let line = table
        .lines()
        .find(|line| line.split(' ').nth(4) == Some("/"))
        .expect("a mount at /");
    let fields: Vec<&str> = line.split(' ').collect();
    let dash = fields.iter().position(|f| *f == "-").expect("separator");
    (
        fields[3].to_string(),
        fields[dash + 1].to_string(),
        fields[dash + 2].to_string(),
        fields[dash + 3].to_string(),
    )
}

fn config_line(world: &World, name: &str, key: &str) -> String {
    let text = std::fs::read_to_string(world.config(name)).expect("config");
    text.lines()
        .find(|line| line.starts_with(&format!("{key} =")))
        .map(|line| {
            line.split_once('=')
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

fn start(world: &World, name: &str) -> i32 {
    let out = world.output(&["start", "-n", name, "-d"]);
    support::assert_ok(&out, "start");
    world.init_pid(name)
}

fn stop(world: &World, name: &str) {
    let out = world.output(&["stop", "-n", name, "-k"]);
    support::assert_ok(&out, "stop");
}

#[test]
fn btrfs_create_makes_a_subvolume_that_starts_and_destroy_removes() {
    let fs = LoopFs::new("btrfs", 256);
    let world = World::below(fs.path());
    let name = world.name("btrfs");
    let out = world.output(&["create", "-n", &name, "-t", "busybox", "-B", "btrfs"]);
    support::assert_ok(&out, "create -B btrfs");
    let rootfs = world.rootfs(&name);
    assert_eq!(
        config_line(&world, &name, "lxc.rootfs.path"),
        format!("btrfs:{}", rootfs.display())
    );
    assert!(
        is_subvolume(&rootfs),
        "{} is no subvolume",
        rootfs.display()
    );

    let pid = start(&world, &name);
    let (root, fstype, _, _) = root_mount(pid);
    assert_eq!(fstype, "btrfs");
    assert!(root.ends_with(&format!("/{name}/rootfs")), "{root}");
    stop(&world, &name);
    world.assert_nothing_left(&name);

    let out = world.output(&["destroy", "-n", &name]);
    support::assert_ok(&out, "destroy");
    assert!(!world.lxcpath().join(&name).exists());
    let list = Command::new("btrfs")
        .args(["subvolume", "list"])
        .arg(fs.path())
        .output()
        .expect("btrfs");
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).trim(),
        "",
        "subvolume left"
    );
}

#[test]
fn best_is_btrfs_on_btrfs_and_a_directory_elsewhere() {
    let fs = LoopFs::new("btrfs", 256);
    let on_btrfs = World::below(fs.path());
    let name = on_btrfs.name("best");
    support::assert_ok(
        &on_btrfs.output(&["create", "-n", &name, "-t", "busybox", "-B", "best"]),
        "create -B best",
    );
    assert!(is_subvolume(&on_btrfs.rootfs(&name)));
    support::assert_ok(&on_btrfs.output(&["destroy", "-n", &name]), "destroy");

    let elsewhere = World::new();
    let name = elsewhere.name("best");
    support::assert_ok(
        &elsewhere.output(&["create", "-n", &name, "-t", "busybox", "-B", "best"]),
        "create -B best",
    );
    assert_eq!(
        config_line(&elsewhere, &name, "lxc.rootfs.path"),
        elsewhere.rootfs(&name).display().to_string()
    );
    // Not on btrfs at all: a plain directory.
    let out = elsewhere.output(&["create", "-n", "x", "-t", "busybox", "-B", "btrfs"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not on a btrfs filesystem"),
        "{out:?}"
    );
    assert!(!elsewhere.lxcpath().join("x").exists());
}

#[test]
fn loop_images_start_keep_their_data_and_leave_no_device() {
    let world = World::new();
    for fstype in ["ext4", "btrfs"] {
        let name = world.name(&format!("loop-{fstype}"));
        let out = world.output(&[
            "create", "-n", &name, "-t", "busybox", "-B", "loop", "--fssize", "128M", "--fstype",
            fstype,
        ]);
        support::assert_ok(&out, "create -B loop");
        let image = world.lxcpath().join(&name).join("rootdev");
        assert_eq!(
            config_line(&world, &name, "lxc.rootfs.path"),
            format!("loop:{}", image.display())
        );
        assert_eq!(std::fs::metadata(&image).expect("image").len(), 128 << 20);
        assert_eq!(loops_of(&image), "", "create left a loop device");

        let pid = start(&world, &name);
        let (_, seen, source, _) = root_mount(pid);
        assert_eq!(seen, fstype);
        assert!(source.starts_with("/dev/loop"), "{source}");
        assert!(loops_of(&image).contains(&source), "{}", loops_of(&image));
        support::assert_ok(&world.sh(&name, "echo kept > /data"), "write");
        stop(&world, &name);
        assert_eq!(
            loops_of(&image),
            "",
            "the loop device outlived the container"
        );
        world.assert_nothing_left(&name);

        start(&world, &name);
        let out = world.sh(&name, "cat /data");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "kept");
        stop(&world, &name);

        support::assert_ok(&world.output(&["destroy", "-n", &name]), "destroy");
        assert!(!image.exists() && !world.lxcpath().join(&name).exists());
        assert_eq!(loops_of(&image), "");
    }
}

#[test]
fn a_loop_create_that_fails_leaves_nothing() {
    let world = World::new();
    let name = world.name("full");
    // mkfs succeeds on 2 MiB, the busybox binary does not fit.
    let out = world.output(&[
        "create", "-n", &name, "-t", "busybox", "-B", "loop", "--fssize", "2M",
    ]);
    assert!(!out.status.success(), "{out:?}");
    let left: Vec<_> = std::fs::read_dir(world.lxcpath())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in the lxcpath: {left:?}");
    assert_eq!(loops_under(world.dir.path()), Vec::<String>::new());
}

#[test]
fn an_overlay_rootfs_keeps_the_lower_untouched() {
    let world = World::new();
    let base = world.busybox("base");
    let name = world.busybox("upper");
    let dir = world.lxcpath().join(&name);
    let lower = world.rootfs(&base);
    let upper = dir.join("overlay/delta");
    let config = std::fs::read_to_string(world.config(&name)).expect("config");
    let rootfs_line = format!("lxc.rootfs.path = {}", world.rootfs(&name).display());
    assert!(config.contains(&rootfs_line), "{config}");
    // LXC's spelling of old, which it still reads.
    let overlay = format!("overlayfs:{}:{}", lower.display(), upper.display());
    std::fs::write(
        world.config(&name),
        config.replace(&rootfs_line, &format!("lxc.rootfs.path = {overlay}")),
    )
    .expect("config");

    let pid = start(&world, &name);
    let (_, fstype, _, options) = root_mount(pid);
    assert_eq!(fstype, "overlay");
    for option in [
        format!("lowerdir={}", lower.display()),
        format!("upperdir={}", upper.display()),
        format!("workdir={}", dir.join("overlay/work").display()),
    ] {
        assert!(options.contains(&option), "{option} not in {options}");
    }
    support::assert_ok(&world.sh(&name, "echo changed > /etc/changed"), "write");
    stop(&world, &name);
    world.assert_nothing_left(&name);
    assert!(!lower.join("etc/changed").exists());
    assert_eq!(
        std::fs::read_to_string(upper.join("etc/changed")).expect("upper"),
        "changed\n"
    );
    support::assert_ok(&world.output(&["destroy", "-n", &name]), "destroy");
    assert!(!dir.exists());
    assert!(lower.join("bin/busybox").exists(), "the lower went too");
}

#[test]
fn stores_this_host_lacks_are_refused_naming_the_key() {
    let world = World::new();
    let name = world.busybox("lvm");
    let text = std::fs::read_to_string(world.config(&name)).expect("config");
    let rootfs_line = format!("lxc.rootfs.path = {}", world.rootfs(&name).display());
    std::fs::write(
        world.config(&name),
        text.replace(&rootfs_line, "lxc.rootfs.path = lvm:/dev/lxc/web"),
    )
    .expect("config");
    for verb in [
        &["config", "check", "-n", &name][..],
        &["start", "-n", &name, "-d"],
    ] {
        let out = world.output(verb);
        assert!(!out.status.success(), "{verb:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("lxc.rootfs.path = lvm:/dev/lxc/web"),
            "{stderr}"
        );
        assert!(stderr.contains("device-mapper"), "{stderr}");
    }
    let out = world.output(&["create", "-n", "z", "-t", "busybox", "-B", "zfs"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ZFS"),
        "{out:?}"
    );
    assert!(!world.lxcpath().join("z").exists());
}

/// A template that makes its rootfs directory itself (here `tarball`; `download`, `oci` and
/// `debian` the same way) fills a loop image and a subvolume too: its tree is made aside and
/// copied in, and nothing of it stays beside the store.
#[test]
fn a_tarball_fills_a_loop_image_and_a_subvolume() {
    let fs = LoopFs::new("btrfs", 256);
    let world = World::below(fs.path());
    let source = world.busybox("tarsrc");
    std::fs::write(world.rootfs(&source).join("marker"), "from the tarball\n").expect("marker");
    let archive = world.dir.path().join("rootfs.tar");
    let tar = Command::new("tar")
        .arg("-C")
        .arg(world.rootfs(&source))
        .arg("-cf")
        .arg(&archive)
        .arg(".")
        .status()
        .expect("tar");
    assert!(tar.success());
    let archive = archive.to_string_lossy().into_owned();
    for store in [&["-B", "loop", "--fssize", "64M"][..], &["-B", "btrfs"][..]] {
        let name = world.name("tarred");
        let mut argv = vec!["create", "-n", &name, "-t", "tarball", "--from", &archive];
        argv.extend_from_slice(store);
        support::assert_ok(&world.output(&argv), &argv.join(" "));
        let value = config_line(&world, &name, "lxc.rootfs.path");
        let dir = world.lxcpath().join(&name);
        match store[1] {
            "loop" => assert_eq!(value, format!("loop:{}", dir.join("rootdev").display())),
            _ => {
                assert_eq!(value, format!("btrfs:{}", dir.join("rootfs").display()));
                assert!(is_subvolume(&dir.join("rootfs")));
            }
        }
        assert!(
            !dir.join("rootfs.template").exists(),
            "the tree made aside stayed"
        );
        let pid = start(&world, &name);
        assert_eq!(
            std::fs::read_to_string(format!("/proc/{pid}/root/marker")).expect("marker"),
            "from the tarball\n"
        );
        stop(&world, &name);
        support::assert_ok(&world.output(&["destroy", "-n", &name]), "destroy");
    }
}
