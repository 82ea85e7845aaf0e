//! The layout of the machine the tests run on. The project's machines mount cgroups hybrid
//! (v1 controllers at /sys/fs/cgroup/<ctrl>, cgroup2 at /sys/fs/cgroup/unified); if that
//! changes, this test says so first.

use rlxc_cgroup::{CgroupLayout, LayoutKind};

#[test]
fn this_machine_is_hybrid() {
    let layout = CgroupLayout::detect().expect("read /proc/self/mountinfo");
    assert_eq!(layout.kind(), Some(LayoutKind::Hybrid), "{layout:#?}");
    let v2 = layout.v2.as_ref().expect("a cgroup2 mount");
    assert!(v2.mount_point.starts_with("/sys/fs/cgroup"), "{v2:?}");
    assert!(layout.v1_hierarchy_of("memory").is_some(), "{layout:#?}");
}
