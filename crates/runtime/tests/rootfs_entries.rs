//! `lxc.mount.entry` inside the container: options, create=, optional, relative, and above
//! all that no entry can reach the host. Needs root.

mod rootfs_support;

use std::fs;

use rootfs_support::*;

#[test]
fn tmpfs_with_size_and_mode_on_a_created_dir() {
    let fixture = Fixture::new();
    let mut plan = fixture.plan();
    plan.entries = vec![entry(
        "none srv/scratch tmpfs size=1m,mode=1777,nosuid,create=dir 0 0",
    )];
    let report = in_container(&plan, Namespaces::Mount, |outcome| {
        assert!(outcome.skipped.is_empty());
        let st = rustix::fs::statvfs("/srv/scratch").unwrap();
        assert_eq!(st.f_blocks * st.f_frsize, 1 << 20);
        assert!(st.f_flag.contains(rustix::fs::StatVfsMountFlags::NOSUID));
        assert_eq!(stat("/srv/scratch").st_mode & 0o7777, 0o1777);
        assert_eq!(fs_type("/srv/scratch"), TMPFS_MAGIC);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fixture.rootfs.join("srv/scratch").is_dir(),
        "create=dir made it in the rootfs"
    );
    fixture.assert_no_host_mounts();
}

#[test]
fn a_read_only_bind_is_read_only_inside_only() {
    let fixture = Fixture::new();
    let source = fixture.base().join("data");
    fs::create_dir(&source).unwrap();
    fs::write(source.join("hello"), "hi").unwrap();
    let mut plan = fixture.plan();
    plan.entries = vec![entry(&format!(
        "{} srv/data none bind,ro,create=dir 0 0",
        source.display()
    ))];
    let report = in_container(&plan, Namespaces::Mount, |_| {
        assert_eq!(fs::read_to_string("/srv/data/hello").unwrap(), "hi");
        assert!(is_read_only("/srv/data"));
        assert_eq!(write_errno("/srv/data/new"), libc::EROFS);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fs::write(source.join("still-writable"), "").unwrap();
    fixture.assert_no_host_mounts();
}

#[test]
fn a_dot_dot_target_is_refused_and_nothing_is_made_outside() {
    let fixture = Fixture::new();
    let mut plan = fixture.plan();
    // The config refuses such a target when it is read; the runtime refuses it again for a
    // plan made another way.
    let mut escaping = entry("none escape tmpfs size=64k,create=dir 0 0");
    escaping.target = "../escape".into();
    plan.entries = vec![escaping];
    let error = in_container(&plan, Namespaces::Mount, |_| String::new()).unwrap_err();
    assert!(
        error.starts_with("lxc.mount.entry = none ../escape tmpfs") && error.contains("'..'"),
        "{error}"
    );
    assert!(!fixture.base().join("escape").exists());
    assert_eq!(
        fs::read_dir(fixture.base()).unwrap().count(),
        1,
        "only rootfs/ is in the fixture's base"
    );
    fixture.assert_no_host_mounts();
}

#[test]
fn a_symlink_to_a_host_path_resolves_inside_the_rootfs() {
    let fixture = Fixture::new();
    // An absolute path on the host, which also exists inside the rootfs.
    let host_dir = fixture.base().join("host-dir");
    fs::create_dir(&host_dir).unwrap();
    let inside = fixture.rootfs.join(host_dir.strip_prefix("/").unwrap());
    fs::create_dir_all(&inside).unwrap();
    std::os::unix::fs::symlink(&host_dir, fixture.rootfs.join("link")).unwrap();
    let mut plan = fixture.plan();
    plan.entries = vec![
        entry("none link/sub tmpfs size=64k,create=dir 0 0"),
        entry("none link tmpfs size=64k 0 0"),
    ];
    let host_dir_in_container = host_dir.to_str().unwrap().to_string();
    let report = in_container(&plan, Namespaces::Mount, |_| {
        let points = mount_points();
        assert!(
            points.contains(&format!("{host_dir_in_container}/sub")),
            "{points:?}"
        );
        assert!(points.contains(&host_dir_in_container), "{points:?}");
        assert_eq!(fs_type("/link"), TMPFS_MAGIC);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fs::read_dir(&host_dir).unwrap().count(),
        0,
        "the host dir was touched"
    );
    assert!(inside.join("sub").is_dir());
    fixture.assert_no_host_mounts();
}

#[test]
fn an_optional_entry_that_fails_is_skipped_and_reported() {
    let fixture = Fixture::new();
    let missing = fixture.base().join("no-such-source");
    let mut plan = fixture.plan();
    plan.entries = vec![
        entry(&format!(
            "{} srv/opt none bind,optional,create=dir 0 0",
            missing.display()
        )),
        entry("none srv/after tmpfs size=64k,create=dir 0 0"),
    ];
    let report = in_container(&plan, Namespaces::Mount, |outcome| {
        assert_eq!(outcome.skipped.len(), 1);
        let skipped = &outcome.skipped[0];
        assert!(skipped.entry.contains("srv/opt"), "{skipped:?}");
        assert!(skipped.reason.contains("No such file"), "{skipped:?}");
        assert_eq!(fs_type("/srv/after"), TMPFS_MAGIC);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}

#[test]
fn a_failing_entry_names_itself() {
    let fixture = Fixture::new();
    let mut plan = fixture.plan();
    plan.entries = vec![entry("/no/such/source srv/x none bind,create=dir 0 0")];
    let error = in_container(&plan, Namespaces::Mount, |_| String::new()).unwrap_err();
    assert!(
        error.starts_with("lxc.mount.entry = /no/such/source srv/x none bind,create=dir 0 0: ")
            && error.contains("No such file"),
        "{error}"
    );
    fixture.assert_no_host_mounts();
}

#[test]
fn lxc_style_absolute_targets_relative_sources_and_file_binds() {
    let fixture = Fixture::new();
    fs::create_dir_all(fixture.rootfs.join("srv/src")).unwrap();
    fs::write(fixture.rootfs.join("srv/src/file"), "inside").unwrap();
    let host_file = fixture.base().join("hosts");
    fs::write(&host_file, "127.0.0.1 c1\n").unwrap();
    let mut plan = fixture.plan();
    plan.entries = vec![
        entry(&format!(
            "none {}/srv/abs tmpfs size=64k,create=dir 0 0",
            fixture.rootfs.display()
        )),
        entry("srv/src srv/dst none bind,relative,create=dir 0 0"),
        entry(&format!(
            "{} etc/hosts none bind,create=file 0 0",
            host_file.display()
        )),
        entry("none /plain tmpfs size=64k,create=dir 0 0"),
    ];
    let report = in_container(&plan, Namespaces::Mount, |_| {
        assert_eq!(fs_type("/srv/abs"), TMPFS_MAGIC);
        assert_eq!(fs::read_to_string("/srv/dst/file").unwrap(), "inside");
        assert_eq!(fs::read_to_string("/etc/hosts").unwrap(), "127.0.0.1 c1\n");
        assert_eq!(fs_type("/plain"), TMPFS_MAGIC);
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}

#[test]
fn propagation_options_apply_to_the_new_mount() {
    let fixture = Fixture::new();
    let mut plan = fixture.plan();
    plan.entries = vec![entry(
        "none srv/shared tmpfs size=64k,create=dir,shared 0 0",
    )];
    let report = in_container(&plan, Namespaces::Mount, |_| {
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let line = mountinfo
            .lines()
            .find(|l| l.split(' ').nth(4) == Some("/srv/shared"))
            .expect("the entry's mount");
        assert!(line.contains(" shared:"), "{line}");
        String::new()
    });
    report.unwrap_or_else(|e| panic!("{e}"));
    fixture.assert_no_host_mounts();
}
