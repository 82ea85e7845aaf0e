//! What a container sees after `rootfs::setup`: the kernel filesystems, /dev, its own
//! devpts with console and ttys. Needs root.

mod rootfs_support;

use std::os::fd::AsFd;

use rlxc_config::values::MountAuto;
use rlxc_runtime::rootfs::{Resolver, RootfsPlan};
use rootfs_support::*;
use rustix::fs::{major, minor, FileType};

fn file_type(path: &str) -> FileType {
    FileType::from_raw_mode(stat(path).st_mode)
}

#[test]
fn the_default_plan_gives_proc_mixed_sys_ro_and_a_minimal_dev() {
    let fixture = Fixture::new();
    let mut plan = fixture.plan();
    plan.ttys = 2;
    let host_devpts = stat("/dev/pts/ptmx").st_dev;
    // Kernels without CONFIG_MAGIC_SYSRQ (like this project's test VM) have none.
    let has_sysrq = std::path::Path::new("/proc/sysrq-trigger").exists();

    let report = in_container(&plan, Namespaces::MountAndPid, |outcome| {
        assert_eq!(std::process::id(), 1, "setup ran as pid 1 of its namespace");
        // The spawn child's step after init's sysctls: /proc/sys and co. read-only.
        // (This test's child has no network namespace of its own: /proc/sys/net kept
        // writable is checked by the escape suite on a real container.)
        rlxc_runtime::rootfs::make_proc_read_only(false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            outcome.resolver,
            Resolver::InRoot,
            "openat2 is there on this kernel"
        );
        // Only the container's mounts are left: the host's tree was detached.
        let mut expected = vec![
            "/",
            "/dev",
            "/dev/console",
            "/dev/ptmx",
            "/dev/pts",
            "/dev/tty1",
            "/dev/tty2",
            "/proc",
            "/proc/sys",
            "/sys",
        ];
        if has_sysrq {
            expected.push("/proc/sysrq-trigger");
            assert!(is_read_only("/proc/sysrq-trigger"));
        }
        // The host-revealing paths this kernel has are masked (each a mount of its own).
        let masked: Vec<String> = rlxc_runtime::rootfs::MASKED_PATHS
            .iter()
            .map(|(path, _)| format!("/{path}"))
            .filter(|path| std::path::Path::new(path).exists())
            .collect();
        expected.extend(masked.iter().map(String::as_str));
        // So are the read-only ones (each a bind of its own).
        let read_only: Vec<String> = rlxc_runtime::rootfs::READ_ONLY_PATHS
            .iter()
            .map(|(path, _)| format!("/{path}"))
            .filter(|path| std::path::Path::new(path).exists())
            .collect();
        expected.extend(read_only.iter().map(String::as_str));
        expected.sort();
        expected.dedup();
        let mut points = mount_points();
        points.dedup();
        assert_eq!(points, expected);

        // proc:mixed
        assert!(!is_read_only("/proc"));
        assert!(is_read_only("/proc/sys"));
        assert_eq!(write_errno("/proc/sys/kernel/hostname"), libc::EROFS);
        // Sharing the host's network namespace: its sysctls are the host's, read-only too.
        assert_eq!(write_errno("/proc/sys/net/ipv4/ip_forward"), libc::EROFS);
        // sys:ro
        assert!(is_read_only("/sys"));

        // /dev: exactly these, and never kmsg.
        let expected = [
            "console", "fd", "full", "mqueue", "null", "ptmx", "pts", "random", "shm", "stderr",
            "stdin", "stdout", "tty", "tty1", "tty2", "urandom", "zero",
        ];
        assert_eq!(names_in("/dev"), expected);
        for (name, maj, min) in [("null", 1, 3), ("zero", 1, 5), ("tty", 5, 0)] {
            let st = stat(&format!("/dev/{name}"));
            assert_eq!(
                FileType::from_raw_mode(st.st_mode),
                FileType::CharacterDevice
            );
            assert_eq!((major(st.st_rdev), minor(st.st_rdev)), (maj, min), "{name}");
            assert_eq!(st.st_mode & 0o777, 0o666, "{name}");
        }
        assert_eq!(write_errno("/dev/null"), 0);
        assert_eq!(file_type("/dev/fd"), FileType::Symlink);
        assert_eq!(
            std::fs::read_link("/dev/stderr").unwrap().to_str(),
            Some("/proc/self/fd/2")
        );
        assert_eq!(stat("/dev/shm").st_mode & 0o7777, 0o1777);
        assert_eq!(stat("/dev").st_mode & 0o7777, 0o755);

        // Our own devpts instance: not the host's, and /dev/ptmx is its ptmx.
        let devpts = stat("/dev/pts").st_dev;
        assert_ne!(devpts, host_devpts, "/dev/pts is the host's devpts");
        assert_eq!(stat("/dev/ptmx").st_dev, devpts);
        // /dev/console and the ttys are slaves of that instance, matching the masters.
        let console = outcome.ptys.console.as_ref().expect("a console master");
        assert_eq!(outcome.ptys.ttys.len(), 2);
        let masters = std::iter::once(console).chain(&outcome.ptys.ttys);
        for (name, master) in ["console", "tty1", "tty2"].into_iter().zip(masters) {
            let st = stat(&format!("/dev/{name}"));
            assert_eq!(
                st.st_dev, devpts,
                "{name} is not from the container's devpts"
            );
            assert_eq!(major(st.st_rdev), 136, "{name} is not a pty slave");
            let slave_path = rustix::pty::ptsname(master.as_fd(), Vec::new()).unwrap();
            let slave = stat(slave_path.to_str().unwrap());
            assert_eq!(
                slave.st_rdev, st.st_rdev,
                "{name} is not the slave of its master"
            );
        }

        // busybox runs in there, and sees the same root.
        let out = std::process::Command::new("/bin/busybox")
            .args(["ls", "/"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    });
    let listing = report.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        listing.split_whitespace().collect::<Vec<_>>(),
        ["bin", "dev", "proc", "sys", "tmp"]
    );
    fixture.assert_no_host_mounts();
    // The missing mount points were made in the rootfs; /dev's content lived on the tmpfs.
    for dir in ["proc", "sys", "dev"] {
        assert!(fixture.rootfs.join(dir).is_dir(), "{dir} was not created");
    }
    assert_eq!(
        std::fs::read_dir(fixture.rootfs.join("dev"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn proc_rw_and_sys_mixed() {
    let fixture = Fixture::new();
    let mut plan = fixture.plan();
    plan.mount_auto = "proc:rw sys:mixed".parse::<MountAuto>().unwrap();
    let report = in_container(&plan, Namespaces::Mount, |_| {
        assert!(!is_read_only("/proc/sys"));
        assert!(is_read_only("/sys"));
        assert!(!is_read_only("/sys/devices/virtual/net"));
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}

/// Writable but for `:ro` (the container's own tree is an inner cgroup below its limits: see
/// `monitor::cgroups`), the tmpfs that holds the v1 hierarchies read-only either way.
#[test]
fn cgroup_automounts_are_writable_unless_ro() {
    let fixture = Fixture::new();
    let mut plan = fixture.plan();
    // `:force` is accepted: in a cgroup namespace it changes nothing.
    for (auto, read_only) in [
        ("proc cgroup:mixed:force", false),
        ("proc cgroup:rw", false),
        ("proc cgroup", false),
        ("proc cgroup:ro", true),
    ] {
        plan.mount_auto = auto.parse::<MountAuto>().unwrap();
        let report = in_container(&plan, Namespaces::Mount, |_| {
            let mounts = names_in("/sys/fs/cgroup");
            assert!(!mounts.is_empty(), "{auto}: nothing in /sys/fs/cgroup");
            let probe = if mounts.iter().any(|m| m == "cgroup.controllers") {
                "/sys/fs/cgroup".to_string()
            } else {
                assert!(
                    is_read_only("/sys/fs/cgroup"),
                    "{auto}: the tmpfs is writable"
                );
                format!("/sys/fs/cgroup/{}", mounts[0])
            };
            assert_eq!(is_read_only(&probe), read_only, "{auto}: {probe}");
            String::new()
        });
        report.unwrap_or_else(|e| panic!("{auto}: {e}"));
    }
    fixture.assert_no_host_mounts();
}

#[test]
fn without_autodev_the_rootfs_dev_stays_and_gets_a_new_devpts() {
    let fixture = Fixture::new();
    std::fs::create_dir_all(fixture.rootfs.join("dev/pts")).unwrap();
    std::fs::write(fixture.rootfs.join("dev/marker"), "mine").unwrap();
    let mut plan = fixture.plan();
    plan.autodev = false;
    plan.console = false;
    plan.ttys = 1;
    let host_devpts = stat("/dev/pts/ptmx").st_dev;
    let report = in_container(&plan, Namespaces::Mount, |outcome| {
        assert!(outcome.ptys.console.is_none());
        assert_eq!(names_in("/dev"), ["marker", "ptmx", "pts", "tty1"]);
        assert_ne!(stat("/dev/pts").st_dev, host_devpts);
        assert_eq!(stat("/dev/tty1").st_dev, stat("/dev/pts").st_dev);
        // Without autodev there is no pre-made ptmx, so it is a bind on a new empty file.
        assert_eq!(stat("/dev/ptmx").st_dev, stat("/dev/pts").st_dev);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}

#[test]
fn no_devpts_at_all_when_no_ptys_are_wanted() {
    let fixture = Fixture::new();
    std::fs::create_dir_all(fixture.rootfs.join("dev/pts")).unwrap();
    let plan = RootfsPlan {
        autodev: false,
        console: false,
        ttys: 0,
        pty_max: 0,
        ..fixture.plan()
    };
    let report = in_container(&plan, Namespaces::Mount, |outcome| {
        assert!(outcome.ptys.console.is_none() && outcome.ptys.ttys.is_empty());
        assert!(!mount_points().iter().any(|m| m.starts_with("/dev")));
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}

#[test]
fn a_read_only_rootfs() {
    let fixture = Fixture::new();
    for dir in ["proc", "sys", "dev"] {
        std::fs::create_dir(fixture.rootfs.join(dir)).unwrap();
    }
    let mut plan = fixture.plan();
    plan.rootfs_options = Some("ro,nodev".into());
    let report = in_container(&plan, Namespaces::Mount, |_| {
        assert!(is_read_only("/"));
        assert_eq!(write_errno("/tmp/x"), libc::EROFS);
        // /dev is a tmpfs of its own, writable.
        assert_eq!(write_errno("/dev/shm/x"), 0);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}

#[test]
fn without_cap_mknod_the_hosts_nodes_are_bind_mounted() {
    let fixture = Fixture::new();
    let plan = RootfsPlan {
        console: false,
        ..fixture.plan()
    };
    let host_null = stat("/dev/null");
    let report = in_container_after(&plan, Namespaces::Mount, drop_cap_mknod, |_| {
        let points = mount_points();
        for name in ["null", "zero", "full", "random", "urandom", "tty"] {
            let node = format!("/dev/{name}");
            assert!(
                points.contains(&node),
                "{node} is not a bind mount: {points:?}"
            );
        }
        let null = stat("/dev/null");
        assert_eq!(
            (null.st_dev, null.st_rdev),
            (host_null.st_dev, host_null.st_rdev)
        );
        assert_eq!(write_errno("/dev/null"), 0);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}
