//! A hostile rootfs (CVE-2019-19921, CVE-2023-27561 class): /proc, /sys, /dev, /dev/pts or
//! a mount entry's target is a symlink, absolute or relative, pointing out of the rootfs at
//! a marker directory of the host. The start may fail (cleanly) or mount inside the rootfs;
//! either way the marker stays as it was and the host gets no new mount.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::{Container, Setup};

escape_tests!(
    proc_and_sys_pointing_out,
    dev_pointing_out,
    dev_nodes_pointing_out_without_autodev,
    mount_entry_target_pointing_out,
);

/// A host directory with one file in it, which nothing may change.
struct Marker(PathBuf);

impl Marker {
    fn new(c: &Container) -> Marker {
        let dir = c.world.dir.path().join("host-marker");
        std::fs::create_dir(&dir).expect("marker");
        std::fs::write(dir.join("untouched"), "").expect("marker file");
        Marker(dir)
    }

    /// `../` enough times to climb from `rootfs/<depth components>` to `/`, then the marker.
    fn relative_from(&self, depth: usize) -> PathBuf {
        let mut path = PathBuf::new();
        for _ in 0..depth + 16 {
            path.push("..");
        }
        path.join(self.0.strip_prefix("/").expect("absolute"))
    }

    fn assert_untouched(&self) {
        let entries: Vec<_> = std::fs::read_dir(&self.0)
            .expect("marker")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert_eq!(entries, ["untouched"], "the host's marker changed");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let marker = self.0.to_string_lossy();
        assert!(
            !mounts.contains(marker.as_ref()),
            "a mount on the host: {mounts}"
        );
    }
}

fn replace_with_symlink(rootfs: &Path, name: &str, target: &Path) {
    let path = rootfs.join(name);
    if path.is_dir() {
        std::fs::remove_dir_all(&path).expect("remove");
    }
    symlink(target, &path).expect("symlink");
}

/// Starts (which may fail), then stops whatever started and checks the host.
fn start_and_check(c: &Container, marker: &Marker, defines: &[&str]) {
    let out = c.try_start(defines);
    if out.status.success() {
        c.stop();
    } else {
        // A refusal names what it refused, and leaves nothing behind.
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("rootfs"), "{stderr}");
        c.world.assert_nothing_left(&c.name);
    }
    marker.assert_untouched();
}

fn proc_and_sys_pointing_out(setup: Setup) {
    let c = Container::prepare(setup, "esc-rproc");
    let marker = Marker::new(&c);
    replace_with_symlink(&c.rootfs, "proc", &marker.0);
    replace_with_symlink(&c.rootfs, "sys", &marker.relative_from(0));
    start_and_check(&c, &marker, &[]);
}

fn dev_pointing_out(setup: Setup) {
    let c = Container::prepare(setup, "esc-rdev");
    let marker = Marker::new(&c);
    replace_with_symlink(&c.rootfs, "dev", &marker.relative_from(0));
    start_and_check(&c, &marker, &[]);
    // /dev a real directory, but /dev/pts and /dev/shm links out of the rootfs.
    let c = Container::prepare(setup, "esc-rpts");
    let marker2 = Marker::new(&c);
    replace_with_symlink(&c.rootfs, "dev/pts", &marker2.0);
    replace_with_symlink(&c.rootfs, "dev/shm", &marker2.relative_from(1));
    start_and_check(&c, &marker2, &[]);
}

/// Without autodev the rootfs's own /dev is used: its console, ptmx and pts are where the
/// console pty and devpts go, and here they lead out of the rootfs.
fn dev_nodes_pointing_out_without_autodev(setup: Setup) {
    let c = Container::prepare(setup, "esc-rnodes");
    let marker = Marker::new(&c);
    let dev = c.rootfs.join("dev");
    for name in ["console", "ptmx", "pts"] {
        let _ = std::fs::remove_file(dev.join(name));
        let _ = std::fs::remove_dir_all(dev.join(name));
    }
    symlink(marker.0.join("untouched"), dev.join("console")).expect("symlink");
    symlink(marker.relative_from(1).join("untouched"), dev.join("ptmx")).expect("symlink");
    symlink(&marker.0, dev.join("pts")).expect("symlink");
    start_and_check(&c, &marker, &["lxc.autodev=0"]);
    let content = std::fs::read(marker.0.join("untouched")).expect("marker file");
    assert!(content.is_empty(), "the marker file was written");
}

fn mount_entry_target_pointing_out(setup: Setup) {
    let c = Container::prepare(setup, "esc-rmnt");
    let marker = Marker::new(&c);
    symlink(&marker.0, c.rootfs.join("abs-link")).expect("symlink");
    symlink(marker.relative_from(0), c.rootfs.join("rel-link")).expect("symlink");
    start_and_check(
        &c,
        &marker,
        &[
            "lxc.mount.entry=tmpfs abs-link tmpfs size=1m,create=dir 0 0",
            "lxc.mount.entry=tmpfs rel-link/sub tmpfs size=1m,create=dir 0 0",
        ],
    );
}
