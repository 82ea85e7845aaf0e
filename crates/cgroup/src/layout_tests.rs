use super::*;

/// This machine's layout: controllers one per hierarchy, systemd's named hierarchy, and the
/// cgroup2 tree at `/sys/fs/cgroup/unified`.
const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/lib/systemd/systemd-cgroups-agent,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
";

/// A classic v1 host with co-mounted controllers.
const LEGACY: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid shared:10 - cgroup cgroup rw,xattr,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid shared:13 - cgroup cgroup rw,net_cls,net_prio
30 25 0:27 / /sys/fs/cgroup/cpuset rw,nosuid shared:14 - cgroup cgroup rw,cpuset,clone_children
";

/// A modern systemd host, seen from inside a cgroup namespace (root is not `/`).
const UNIFIED: &str = "\
22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/root rw
30 22 0:26 /user.slice /sys/fs/cgroup rw,nosuid,nodev,noexec shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

fn fixture_root(v2_mount_point: &str, controllers: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join(v2_mount_point.trim_start_matches('/'));
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("cgroup.controllers"), controllers).expect("write controllers");
    root
}

#[test]
fn hybrid_lists_v1_hierarchies_and_the_v2_mount() {
    let root = fixture_root("/sys/fs/cgroup/unified", "hugetlb\n");
    let layout = CgroupLayout::from_mountinfo(HYBRID, root.path()).expect("parse");
    assert_eq!(layout.kind(), Some(LayoutKind::Hybrid));
    assert_eq!(layout.v1.len(), 4);
    let memory = layout.v1_hierarchy_of("memory").expect("memory hierarchy");
    assert_eq!(memory.mount_point, PathBuf::from("/sys/fs/cgroup/memory"));
    let systemd = layout
        .v1_hierarchy_of("name=systemd")
        .expect("named hierarchy");
    assert_eq!(systemd.name(), Some("systemd"));
    assert_eq!(systemd.controllers, ["name=systemd"]);
    let v2 = layout.v2.as_ref().expect("v2 mount");
    assert_eq!(v2.mount_point, PathBuf::from("/sys/fs/cgroup/unified"));
    assert_eq!(v2.controllers, ["hugetlb"]);
    assert!(v2.has("hugetlb") && !v2.has("memory"));
}

#[test]
fn legacy_keeps_co_mounted_controllers_together_and_drops_flags() {
    let layout = CgroupLayout::from_mountinfo(LEGACY, Path::new("/nonexistent")).expect("parse");
    assert_eq!(layout.kind(), Some(LayoutKind::Legacy));
    assert!(layout.v2.is_none());
    let cpu = layout.v1_hierarchy_of("cpuacct").expect("cpuacct");
    assert_eq!(cpu.controllers, ["cpu", "cpuacct"]);
    assert_eq!(cpu.mount_point, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
    let cpuset = layout.v1_hierarchy_of("cpuset").expect("cpuset");
    assert_eq!(cpuset.controllers, ["cpuset"]);
    assert!(layout.v1_hierarchy_of("memory").is_none());
}

#[test]
fn unified_reads_controllers_and_keeps_the_namespace_root() {
    let root = fixture_root(
        "/sys/fs/cgroup",
        "cpuset cpu io memory hugetlb pids rdma misc\n",
    );
    let layout = CgroupLayout::from_mountinfo(UNIFIED, root.path()).expect("parse");
    assert_eq!(layout.kind(), Some(LayoutKind::Unified));
    assert!(layout.v1.is_empty());
    let v2 = layout.v2.expect("v2");
    assert_eq!(v2.mount_root, PathBuf::from("/user.slice"));
    assert_eq!(v2.controllers.len(), 8);
    assert!(v2.has("memory"));
}

#[test]
fn a_hierarchy_mounted_twice_is_listed_once() {
    let twice = format!(
        "{LEGACY}40 22 0:27 / /var/lib/other/cpuset rw - cgroup cgroup rw,cpuset,clone_children\n"
    );
    let layout = CgroupLayout::from_mountinfo(&twice, Path::new("/")).expect("parse");
    assert_eq!(layout.v1.len(), 4);
}

#[test]
fn no_cgroup_mounts_has_no_kind() {
    let layout =
        CgroupLayout::from_mountinfo("22 1 259:2 / / rw - ext4 /dev/root rw\n", Path::new("/"))
            .expect("parse");
    assert_eq!(layout.kind(), None);
}

#[test]
fn missing_v2_controllers_file_names_the_path() {
    let empty = tempfile::tempdir().expect("tempdir");
    let error = CgroupLayout::from_mountinfo(UNIFIED, empty.path()).expect_err("no file");
    assert!(error.to_string().contains("cgroup.controllers"), "{error}");
}
