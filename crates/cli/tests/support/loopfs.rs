//! A filesystem of a test's own on an image file in its temporary directory, loop-mounted
//! (`mount -o loop`, whose device is autoclear) and unmounted when dropped, pass or fail.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct LoopFs {
    mnt: PathBuf,
    _dir: tempfile::TempDir,
}

impl LoopFs {
    /// `fstype` (`btrfs`, `ext4`) on a sparse image of `megabytes`.
    pub fn new(fstype: &str, megabytes: u64) -> LoopFs {
        let dir = tempfile::Builder::new()
            .prefix("rlxc-test-loopfs-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let image = dir.path().join("fs.img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(megabytes << 20))
            .expect("image");
        let mkfs = Command::new(format!("mkfs.{fstype}"))
            .arg("-q")
            .args(if fstype.starts_with("ext") {
                &["-F"][..]
            } else {
                &[]
            })
            .arg(&image)
            .output()
            .expect("mkfs");
        assert!(mkfs.status.success(), "mkfs.{fstype}: {mkfs:?}");
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).expect("mnt");
        let status = Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(&mnt)
            .status()
            .expect("mount");
        assert!(status.success(), "mount -o loop {}", image.display());
        LoopFs { mnt, _dir: dir }
    }

    pub fn path(&self) -> &Path {
        &self.mnt
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        // Lazily, should a failed test have left something open in it: the device still
        // goes (autoclear) once the last user lets go.
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).status();
    }
}

/// The loop devices whose backing file is `image`, as `losetup -j` lists them.
pub fn loops_of(image: &Path) -> String {
    let out = Command::new("losetup")
        .arg("-j")
        .arg(image)
        .output()
        .expect("losetup");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every loop device backed by a file under `dir`.
pub fn loops_under(dir: &Path) -> Vec<String> {
    let out = Command::new("losetup")
        .args(["-l", "-n", "-O", "NAME,BACK-FILE"])
        .output()
        .expect("losetup");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.contains(dir.to_string_lossy().as_ref()))
        .map(str::to_string)
        .collect()
}

/// Whether `path` is a btrfs subvolume, as `btrfs subvolume show` says (the oracle: rlxc
/// itself uses the kernel's ioctls).
pub fn is_subvolume(path: &Path) -> bool {
    Command::new("btrfs")
        .args(["subvolume", "show"])
        .arg(path)
        .output()
        .expect("btrfs")
        .status
        .success()
}
