//! `rlxc copy` and `rlxc snapshot` of containers on every backing store, as LXC's: an overlay
//! clone's copy shares its lower and copies its upper, a loop container's copy is a copy of
//! its image, `-B dir` flattens either, `-B loop` and `-B btrfs` fill a new image or
//! subvolume; running sources are read through their init's root while frozen. Each clone is
//! started, and what its guest sees is checked from inside.

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;

use support::loopfs::{is_subvolume, LoopFs};
use support::{assert_ok, World};

/// What `script` prints inside the running container `name`.
fn inside(world: &World, name: &str, script: &str) -> String {
    let output = world.sh(name, script);
    assert_ok(&output, script);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn config_of(world: &World, name: &str) -> String {
    fs::read_to_string(world.config(name)).expect("config")
}

/// What the guest of `name` (stopped) sees of `/marker` and its hostname, started for it.
fn seen_inside(world: &World, name: &str) -> String {
    assert_ok(&world.output(&["start", "-n", name]), "start");
    let seen = inside(world, name, "cat /marker; hostname");
    assert_ok(&world.output(&["stop", "-n", name, "-k"]), "stop");
    seen
}

#[test]
fn an_overlay_clone_copies_with_its_lower_flattens_with_b_dir_and_snapshots() {
    let world = World::new();
    let base = world.busybox("ovbase");
    fs::write(world.rootfs(&base).join("marker"), "base\n").expect("marker");
    let base_rootfs = world.rootfs(&base);
    let ov = world.name("ov");
    assert_ok(
        &world.output(&["copy", "-n", &base, "-N", &ov, "-s"]),
        "copy -s",
    );
    let ov_delta = world.lxcpath().join(&ov).join("overlay/delta");
    fs::write(ov_delta.join("marker"), "ov\n").expect("changed in the clone");

    // A clone hook sees the mounted rootfs at $LXC_ROOTFS_MOUNT, as LXC's, not the upper.
    let seen_by_hook = world.dir.path().join("seen-by-hook");
    let hook = world.dir.path().join("hook.sh");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\ncat \"$LXC_ROOTFS_MOUNT/marker\" > {0}; test -x \"$LXC_ROOTFS_MOUNT/bin/busybox\" && echo lower >> {0}\n",
            seen_by_hook.display()
        ),
    )
    .expect("hook");
    fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    world.append_config(&ov, &format!("lxc.hook.clone = {}\n", hook.display()));

    // A copy of the overlay clone: the same lower, a copy of the upper (LXC's ovl_clonepaths).
    for snapshot in [false, true] {
        let copy = world.name("ovcopy");
        let mut argv = vec!["copy", "-n", ov.as_str(), "-N", copy.as_str()];
        if snapshot {
            argv.push("-s");
        }
        assert_ok(&world.output(&argv), "copy of the overlay clone");
        let delta = world.lxcpath().join(&copy).join("overlay/delta");
        assert!(
            config_of(&world, &copy).contains(&format!(
                "lxc.rootfs.path = overlay:{}:{}\n",
                base_rootfs.display(),
                delta.display()
            )),
            "{}",
            config_of(&world, &copy)
        );
        assert_eq!(
            fs::read_to_string(delta.join("marker")).expect("marker"),
            "ov\n"
        );
        assert_eq!(
            fs::read_to_string(&seen_by_hook).expect("hook ran"),
            "ov\nlower\n"
        );
        fs::remove_file(&seen_by_hook).expect("rm");
        assert_eq!(seen_inside(&world, &copy), format!("ov\n{copy}\n"));
        // Its own upper: the original clone is untouched.
        assert_eq!(
            fs::read_to_string(ov_delta.join("marker")).expect("ov"),
            "ov\n"
        );
        assert_eq!(
            fs::read_to_string(ov_delta.join("etc/hostname")).expect("hostname"),
            format!("{ov}\n")
        );
        // It sits on the base's rootfs, not on the clone it came from: the base records it.
        assert_eq!(
            fs::read_to_string(world.lxcpath().join(&copy).join("lxc_rdepends")).expect("rdepends"),
            format!("{}\n{base}\n", world.lxcpath().display())
        );
        assert!(!world.lxcpath().join(&ov).join("lxc_snapshots").exists());
        let listed = fs::read_to_string(world.lxcpath().join(&base).join("lxc_snapshots"));
        assert!(listed
            .expect("base's list")
            .contains(&format!("\n{copy}\n")));
        assert_ok(&world.output(&["destroy", "-n", &copy]), "destroy the copy");
    }

    // -B dir: the tree the guest sees, as a plain directory.
    let flat = world.name("ovflat");
    assert_ok(
        &world.output(&["copy", "-n", &ov, "-N", &flat, "-B", "dir"]),
        "copy -B dir",
    );
    let flat_rootfs = world.rootfs(&flat);
    assert!(config_of(&world, &flat)
        .contains(&format!("lxc.rootfs.path = {}\n", flat_rootfs.display())));
    assert_eq!(
        fs::read_to_string(flat_rootfs.join("marker")).expect("flat"),
        "ov\n"
    );
    assert!(
        flat_rootfs.join("bin/busybox").is_file(),
        "the lower's files"
    );
    assert_eq!(seen_inside(&world, &flat), format!("ov\n{flat}\n"));

    // Running: read through its init's root while frozen, thawed after.
    assert_ok(&world.output(&["start", "-n", &ov]), "start the clone");
    assert_ok(&world.sh(&ov, "echo live > /marker"), "write inside");
    let live = world.name("ovlive");
    let copied = world.output(&["copy", "-n", &ov, "-N", &live, "-B", "dir"]);
    assert_ok(&copied, "copy -B dir of the running clone");
    assert!(String::from_utf8_lossy(&copied.stderr).contains("frozen for the copy, and thawed"));
    assert_eq!(world.state(&ov), "RUNNING");
    assert_eq!(
        fs::read_to_string(world.rootfs(&live).join("marker")).expect("live"),
        "live\n"
    );
    assert!(
        !world.rootfs(&live).join("proc/self").exists(),
        "a mount was entered"
    );
    assert_ok(&world.output(&["stop", "-n", &ov, "-k"]), "stop");

    // A snapshot of the overlay clone is one too (same lower), and restores its upper.
    assert_ok(&world.output(&["snapshot", "-n", &ov]), "snapshot");
    let snap = world.lxcpath().join(&ov).join("snaps/snap0");
    let snap_config = fs::read_to_string(snap.join("config")).expect("snap0 config");
    assert!(
        snap_config.contains(&format!(
            "overlay:{}:{}",
            base_rootfs.display(),
            snap.join("overlay/delta").display()
        )),
        "{snap_config}"
    );
    fs::write(ov_delta.join("marker"), "changed\n").expect("change");
    assert_ok(
        &world.output(&["snapshot", "-n", &ov, "-r", "snap0"]),
        "restore",
    );
    assert_eq!(
        fs::read_to_string(ov_delta.join("marker")).expect("restored"),
        "live\n"
    );
    assert_eq!(seen_inside(&world, &ov), format!("live\n{ov}\n"));

    for name in [&live, &flat] {
        assert_ok(&world.output(&["destroy", "-n", name]), "destroy");
    }
    assert_ok(&world.output(&["destroy", "-n", &ov, "-s"]), "destroy -s");
    assert_ok(&world.output(&["destroy", "-n", &base]), "destroy the base");
}

#[test]
fn a_loop_container_copies_as_its_image_and_flattens_with_b_dir() {
    let world = World::new();
    let name = world.name("loopsrc");
    assert_ok(
        &world.output(&[
            "create", "-n", &name, "-t", "busybox", "-B", "loop", "--fssize", "64M",
        ]),
        "create -B loop",
    );
    assert_ok(&world.output(&["start", "-n", &name]), "start");
    assert_ok(&world.sh(&name, "echo data > /marker"), "write inside");
    // Copied while it runs: its filesystem synced, the container frozen and thawed.
    let live = world.name("looplive");
    assert_ok(
        &world.output(&["copy", "-n", &name, "-N", &live]),
        "copy of the running one",
    );
    assert_eq!(world.state(&name), "RUNNING");
    assert_ok(&world.output(&["stop", "-n", &name, "-k"]), "stop");

    let image = world.lxcpath().join(&live).join("rootdev");
    assert!(
        config_of(&world, &live).contains(&format!("lxc.rootfs.path = loop:{}\n", image.display()))
    );
    assert_eq!(
        fs::metadata(&image).expect("image").len(),
        fs::metadata(world.lxcpath().join(&name).join("rootdev"))
            .expect("source image")
            .len()
    );
    assert_eq!(seen_inside(&world, &live), format!("data\n{live}\n"));

    let refused = world.output(&["copy", "-n", &name, "-N", &world.name("loopsnap"), "-s"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("a loop image has no snapshots"));

    let flat = world.name("loopflat");
    assert_ok(
        &world.output(&["copy", "-n", &name, "-N", &flat, "-B", "dir"]),
        "copy -B dir",
    );
    assert_eq!(
        fs::read_to_string(world.rootfs(&flat).join("marker")).expect("flat"),
        "data\n"
    );
    assert_eq!(
        fs::read_to_string(world.rootfs(&flat).join("etc/hostname")).expect("hostname"),
        format!("{flat}\n")
    );

    // A snapshot is a copy of the image; restoring brings the old contents back.
    assert_ok(&world.output(&["snapshot", "-n", &name]), "snapshot");
    let snap = world.lxcpath().join(&name).join("snaps/snap0");
    assert!(snap.join("rootdev").is_file());
    assert_ok(&world.output(&["start", "-n", &name]), "start");
    assert_ok(&world.sh(&name, "echo changed > /marker"), "change inside");
    assert_ok(&world.output(&["stop", "-n", &name, "-k"]), "stop");
    assert_ok(
        &world.output(&["snapshot", "-n", &name, "-r", "snap0"]),
        "restore",
    );
    assert_eq!(seen_inside(&world, &name), format!("data\n{name}\n"));

    for name in [&live, &flat] {
        assert_ok(&world.output(&["destroy", "-n", name]), "destroy");
    }
    assert_ok(&world.output(&["destroy", "-n", &name, "-s"]), "destroy -s");
    let loops = support::host_sh("losetup -a");
    assert!(
        !loops.contains(&world.lxcpath().display().to_string()),
        "{loops}"
    );
}

#[test]
fn b_loop_and_b_btrfs_fill_a_new_image_and_a_new_subvolume() {
    let btrfs = LoopFs::new("btrfs", 256);
    let world = World::below(btrfs.path());
    let name = world.busybox("dirsrc");
    fs::write(world.rootfs(&name).join("marker"), "dir\n").expect("marker");

    let image_copy = world.name("toloop");
    assert_ok(
        &world.output(&[
            "copy",
            "-n",
            &name,
            "-N",
            &image_copy,
            "-B",
            "loop",
            "-L",
            "48M",
        ]),
        "copy -B loop -L 48M",
    );
    let image = world.lxcpath().join(&image_copy).join("rootdev");
    assert_eq!(fs::metadata(&image).expect("image").len(), 48 << 20);
    assert_eq!(
        seen_inside(&world, &image_copy),
        format!("dir\n{image_copy}\n")
    );

    let subvolume = world.name("tobtrfs");
    assert_ok(
        &world.output(&["copy", "-n", &name, "-N", &subvolume, "-B", "btrfs"]),
        "copy -B btrfs",
    );
    let rootfs = world.rootfs(&subvolume);
    assert!(is_subvolume(&rootfs), "not a subvolume");
    assert!(config_of(&world, &subvolume)
        .contains(&format!("lxc.rootfs.path = btrfs:{}\n", rootfs.display())));
    assert_eq!(
        fs::read_to_string(rootfs.join("marker")).expect("marker"),
        "dir\n"
    );
    assert_eq!(
        seen_inside(&world, &subvolume),
        format!("dir\n{subvolume}\n")
    );

    for name in [&image_copy, &subvolume, &name] {
        assert_ok(&world.output(&["destroy", "-n", name]), "destroy");
    }
    for name in [&image_copy, &subvolume, &name] {
        assert!(!world.lxcpath().join(name).exists(), "{name} left");
    }
}

/// Unprivileged (`lxc.idmap`): an overlay clone's upper belongs to the container's root and
/// its writes land there as the mapped ids; a loop image's files are shifted into the map by
/// create. Both are mounted by the monitor, as host root, and started in the user namespace.
#[test]
fn unprivileged_overlay_clones_and_loop_images_start_and_write_as_the_mapped_root() {
    let world = World::new();
    let host_root = support::idmap::base(70);
    let base = world.name("usrbase");
    support::idmap::create(&world, &base, &support::idmap::option(70)).success();
    let clone = world.name("usrclone");
    assert_ok(
        &world.output(&["copy", "-n", &base, "-N", &clone, "-s"]),
        "copy -s",
    );
    assert_ok(&world.output(&["start", "-n", &clone]), "start the clone");
    let seen = inside(
        &world,
        &clone,
        "id -u; echo new > /new; touch /bin/x; hostname",
    );
    assert_eq!(seen, format!("0\n{clone}\n"));
    assert_ok(&world.output(&["stop", "-n", &clone, "-k"]), "stop");
    let delta = world.lxcpath().join(&clone).join("overlay/delta");
    for path in [delta.clone(), delta.join("new"), delta.join("bin/x")] {
        let meta = fs::metadata(&path).expect("in the upper");
        assert_eq!(
            (meta.uid(), meta.gid()),
            (host_root, host_root),
            "{}",
            path.display()
        );
    }

    let image = world.name("usrloop");
    let idmap = support::idmap::option(71);
    assert_ok(
        &world.output(&[
            "create", "-n", &image, "-t", "busybox", "-B", "loop", "--fssize", "48M", "--idmap",
            &idmap,
        ]),
        "create -B loop --idmap",
    );
    assert_ok(
        &world.output(&["start", "-n", &image]),
        "start the loop container",
    );
    let seen = inside(
        &world,
        &image,
        "id -u; stat -c %u /bin/busybox; echo new > /new && cat /new",
    );
    assert_eq!(seen, "0\n0\nnew\n");
    let pid = world.init_pid(&image);
    let meta = fs::metadata(format!("/proc/{pid}/root/new")).expect("seen from the host");
    assert_eq!(meta.uid(), support::idmap::base(71));
    assert_ok(&world.output(&["stop", "-n", &image, "-k"]), "stop");
    for name in [&clone, &base, &image] {
        assert_ok(&world.output(&["destroy", "-n", name]), "destroy");
    }
}
