//! The backends against the real kernel: btrfs subvolumes and snapshots through the ioctls,
//! loop images attached and mounted, overlays. Filesystems live on loop-mounted image files
//! this test makes in its own temporary directory; guards unmount and detach also on failure.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use rlxc_storage::backend::{btrfs, image, mount, Backend, Overlay};

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A filesystem on an image file, loop-mounted at `dir` for the test's life.
struct Scratch {
    dir: PathBuf,
    _temp: tempfile::TempDir,
}

impl Scratch {
    fn new(fstype: &str) -> Scratch {
        let temp = tempfile::tempdir().expect("test step");
        let image = temp.path().join("fs.img");
        image::make(&image, 256 << 20, fstype).expect("test step");
        let dir = temp.path().join("mnt");
        std::fs::create_dir(&dir).expect("test step");
        // `-o loop` with autoclear: the unmount in drop frees the device.
        run(
            "mount",
            &[
                "-o",
                "loop",
                image.to_str().expect("test step"),
                dir.to_str().expect("test step"),
            ],
        );
        Scratch { dir, _temp: temp }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

/// The loop devices backed by `image`, as losetup sees them.
fn loops_of(image: &Path) -> String {
    run("losetup", &["-j", image.to_str().expect("test step")])
}

#[test]
fn btrfs_subvolume_snapshot_destroy() {
    let fs = Scratch::new("btrfs");
    assert!(btrfs::is_btrfs(&fs.dir).expect("test step"));
    let plain = fs.dir.join("plain");
    std::fs::create_dir(&plain).expect("test step");
    assert!(!btrfs::is_subvolume(&plain).expect("test step"));

    let base = fs.dir.join("base");
    btrfs::create_subvolume(&base).expect("test step");
    assert!(btrfs::is_subvolume(&base).expect("test step"));
    run(
        "btrfs",
        &["subvolume", "show", base.to_str().expect("test step")],
    );
    std::fs::write(base.join("data"), "golden").expect("test step");

    let snap = fs.dir.join("snap");
    btrfs::snapshot(&base, &snap, false).expect("test step");
    std::fs::write(snap.join("data"), "changed").expect("test step");
    assert_eq!(
        std::fs::read_to_string(base.join("data")).expect("test step"),
        "golden"
    );
    let ro = fs.dir.join("ro");
    btrfs::snapshot(&base, &ro, true).expect("test step");
    assert!(std::fs::write(ro.join("data"), "x").is_err());

    // Not a subvolume, or a link to one: refused, nothing removed.
    let link = fs.dir.join("link");
    std::os::unix::fs::symlink(&base, &link).expect("test step");
    assert!(btrfs::destroy_subvolume(&link).is_err());
    assert!(btrfs::destroy_subvolume(&plain).is_err());
    assert!(base.join("data").exists() && plain.exists());

    for subvolume in [&snap, &ro, &base] {
        btrfs::destroy_subvolume(subvolume).expect("test step");
        assert!(!subvolume.exists());
    }
    let list = run(
        "btrfs",
        &["subvolume", "list", fs.dir.to_str().expect("test step")],
    );
    assert_eq!(list.trim(), "", "subvolumes left: {list}");
}

/// The loop devices of `image` once its last mount is gone: the kernel lets an autoclear
/// device go after the mount's release, which the last close only schedules; up to 5 s.
fn loops_gone(image: &std::path::Path) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = loops_of(image);
        if left.is_empty() || std::time::Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_loop_image_mounts_detached_and_leaves_no_device() {
    let temp = tempfile::tempdir().expect("test step");
    for fstype in ["ext4", "btrfs"] {
        let image = temp.path().join(format!("{fstype}.img"));
        image::make(&image, 128 << 20, fstype).expect("test step");
        assert_eq!(
            image::detect_fstype(&image).expect("test step"),
            Some(if fstype == "btrfs" { "btrfs" } else { "ext4" })
        );
        let mount =
            mount::mount_detached(&Backend::Loop(image.clone()), false, None).expect("test step");
        assert!(loops_of(&image).contains(&image.display().to_string()));
        // Written through the detached mount's fd, read again from a second mount.
        std::fs::write(format!("/proc/self/fd/{}/hello", mount.as_raw_fd()), fstype)
            .expect("test step");
        drop(mount);
        assert_eq!(loops_gone(&image), "", "{fstype}: the loop device stayed");
        let again =
            mount::mount_detached(&Backend::Loop(image.clone()), true, None).expect("test step");
        let hello = format!("/proc/self/fd/{}/hello", again.as_raw_fd());
        assert_eq!(std::fs::read_to_string(hello).expect("test step"), fstype);
        drop(again);
        assert_eq!(loops_gone(&image), "");
    }
    let junk = temp.path().join("junk.img");
    std::fs::write(&junk, vec![0u8; 1 << 20]).expect("test step");
    let e = mount::mount_detached(&Backend::Loop(junk), false, None).unwrap_err();
    assert!(e.to_string().contains("holds no filesystem"), "{e}");
}

#[test]
fn an_overlay_keeps_changes_in_the_upper() {
    let temp = tempfile::tempdir().expect("test step");
    let lower = temp.path().join("lower");
    std::fs::create_dir(&lower).expect("test step");
    std::fs::write(lower.join("file"), "lower").expect("test step");
    let overlay = Overlay {
        lower: lower.clone(),
        upper: temp.path().join("overlay/delta"),
    };
    let mount =
        mount::mount_detached(&Backend::Overlay(overlay.clone()), false, None).expect("test step");
    // The detached mount is reached through its fd alone: nothing is mounted on the host.
    let root = PathBuf::from(format!("/proc/self/fd/{}", mount.as_raw_fd()));
    assert_eq!(
        std::fs::read_to_string(root.join("file")).expect("test step"),
        "lower"
    );
    std::fs::write(root.join("file"), "upper").expect("test step");
    drop(mount);
    assert_eq!(
        std::fs::read_to_string(lower.join("file")).expect("test step"),
        "lower"
    );
    assert_eq!(
        std::fs::read_to_string(overlay.upper.join("file")).expect("test step"),
        "upper"
    );
    assert!(temp.path().join("overlay/work").is_dir());
}
