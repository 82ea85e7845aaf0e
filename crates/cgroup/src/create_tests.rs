use std::fs;
use std::time::Duration;

use super::*;
use crate::fake_cgroupfs::{Fixture, OWN_CGROUP_TEXT};
use crate::own::own_cgroups;
use crate::{LeafRecord, Undelegated, V2Delegation};

fn own() -> OwnCgroups {
    own_cgroups(OWN_CGROUP_TEXT)
}

fn leaf_in(fixture: &Fixture, hierarchy: &str, relative: &str) -> PathBuf {
    fixture.path(hierarchy).join("user/session").join(relative)
}

fn create_in(fixture: &Fixture, request: &CgroupRequest) -> Result<ContainerCgroups, Error> {
    create(&fixture.layout, &own(), request, &fixture.fs)
}

#[test]
fn makes_one_directory_per_hierarchy_below_the_callers_cgroup() {
    let fixture = Fixture::hybrid("memory pids", "");
    let cgroups = create_in(&fixture, &CgroupRequest::new("rlxc.payload.web")).expect("create");
    let expected: Vec<PathBuf> = ["cpuset", "memory", "systemd", "unified"]
        .iter()
        .map(|hierarchy| leaf_in(&fixture, hierarchy, "rlxc.payload.web"))
        .collect();
    assert_eq!(cgroups.paths(), expected.as_slice());
    assert!(cgroups.leaves().eq(expected.iter().map(PathBuf::as_path)));
    assert_eq!(cgroups.unified_dir(), Some(expected[3].as_path()));
    // A named hierarchy other than systemd's belongs to someone else.
    assert!(!leaf_in(&fixture, "other", "rlxc.payload.web").exists());
    // Nothing was written outside what was made.
    for (dir, key, _) in fixture.fs.writes.borrow().iter() {
        assert!(cgroups.paths().contains(dir), "wrote {key} in {dir:?}");
    }
    assert_eq!(cgroups.v2_delegation(), &V2Delegation::default());
}

#[test]
fn a_new_cpuset_cgroup_gets_the_parents_cpus_and_mems() {
    let fixture = Fixture::hybrid("", "");
    create_in(&fixture, &CgroupRequest::new("lxc/web")).expect("create");
    for level in ["lxc", "lxc/web"] {
        let dir = leaf_in(&fixture, "cpuset", level);
        let read = |key: &str| fs::read_to_string(dir.join(key)).expect("read");
        assert_eq!(read("cpuset.cpus").trim(), "0-3", "{dir:?}");
        assert_eq!(read("cpuset.mems").trim(), "0", "{dir:?}");
        assert_eq!(read("cgroup.clone_children"), "1", "{dir:?}");
    }
}

#[test]
fn cpuset_values_a_cgroup_already_has_are_kept() {
    let fixture = Fixture::hybrid("", "");
    let dir = leaf_in(&fixture, "cpuset", "pinned");
    fixture.fs.mkdir(&dir).expect("mkdir");
    fs::write(dir.join("cpuset.cpus"), "1\n").expect("write");
    inherit_cpuset(&dir, &fixture.fs).expect("inherit");
    assert_eq!(
        fs::read_to_string(dir.join("cpuset.cpus")).expect("read"),
        "1\n"
    );
    assert_eq!(
        fs::read_to_string(dir.join("cpuset.mems")).expect("read"),
        "0"
    );
}

#[test]
fn a_failure_midway_removes_exactly_what_was_made() {
    let mut fixture = Fixture::hybrid("", "");
    // Someone else's `lxc` in the memory hierarchy: used, never removed.
    let foreign = leaf_in(&fixture, "memory", "lxc");
    fixture.fs.mkdir(&foreign).expect("mkdir");
    let failing = leaf_in(&fixture, "unified", "lxc/web");
    fixture.fs.fail_mkdir = Some(failing.clone());

    let error = create_in(&fixture, &CgroupRequest::new("lxc/web")).expect_err("mkdir fails");
    assert!(
        matches!(&error, Error::Create { path, .. } if path == &failing),
        "{error}"
    );
    for hierarchy in ["cpuset", "systemd", "unified"] {
        assert!(!leaf_in(&fixture, hierarchy, "lxc").exists(), "{hierarchy}");
    }
    assert!(foreign.is_dir());
    assert!(!foreign.join("web").exists());
}

#[test]
fn an_existing_leaf_is_stale_when_empty_and_running_when_not() {
    let fixture = Fixture::hybrid("", "");
    let request = CgroupRequest::new("rlxc.payload.web");
    let first = create_in(&fixture, &request).expect("create");

    let stale = create_in(&fixture, &request).expect_err("exists");
    // Named in every hierarchy at once, in one command: not one start per hierarchy.
    match &stale {
        Error::Stale { paths } => assert_eq!(paths, first.paths(), "{stale}"),
        other => panic!("{other}"),
    }
    let message = stale.to_string();
    let command = message.split("rmdir ").nth(1).expect("a command");
    assert_eq!(command.split(' ').count(), first.paths().len(), "{message}");
    let memory_leaf = leaf_in(&fixture, "memory", "rlxc.payload.web");
    fs::write(memory_leaf.join("cgroup.procs"), "77\n").expect("write");
    let running = create_in(&fixture, &request).expect_err("exists");
    assert!(
        matches!(&running, Error::AlreadyRunning { pids, .. } if pids == &[77]),
        "{running}"
    );
    assert!(first.paths().iter().all(|dir| dir.is_dir()));
}

#[test]
fn invalid_relative_paths_are_refused_before_anything_is_made() {
    let fixture = Fixture::hybrid("", "");
    for bad in ["", "/abs", "../up", "a/../b"] {
        let error = create_in(&fixture, &CgroupRequest::new(bad)).expect_err(bad);
        assert!(
            matches!(error, Error::InvalidRelativePath { .. }),
            "{bad}: {error}"
        );
    }
    assert!(fixture.fs.writes.borrow().is_empty());
}

#[test]
fn v2_controllers_the_caller_cannot_delegate_are_reported_not_forced() {
    let fixture = Fixture::hybrid("memory pids io", "pids");
    let request = CgroupRequest::new("web").with_controllers(["pids", "io", "rdma", "memory"]);
    let cgroups = create_in(&fixture, &request).expect("create anyway");
    let delegation = cgroups.v2_delegation();
    assert_eq!(delegation.enabled, ["pids"]);
    let own_dir = fixture.path("unified/user/session");
    let reasons: Vec<(&str, &Undelegated)> = delegation
        .not_delegated
        .iter()
        .inspect(|missing| assert_eq!(missing.at, own_dir))
        .map(|missing| (missing.controller.as_str(), &missing.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("io", &Undelegated::CallerHoldsProcesses),
            ("rdma", &Undelegated::NotAvailable)
        ]
    );
    assert!(delegation.not_delegated[0]
        .to_string()
        .contains("holds processes"));
    // memory is a v1 controller here: nothing is asked of cgroup2 for it. The one write
    // outside our cgroups is the attempt to enable io; the caller was not moved.
    let writes = fixture.fs.writes.borrow();
    let outside: Vec<_> = writes.iter().filter(|(dir, ..)| dir == &own_dir).collect();
    assert_eq!(outside.len(), 1);
    assert_eq!(
        (outside[0].1.as_str(), outside[0].2.as_str()),
        ("cgroup.subtree_control", "+io")
    );
    assert_eq!(
        fs::read_to_string(own_dir.join("cgroup.procs")).expect("read"),
        "4242\n"
    );
}

#[test]
fn v2_controllers_are_enabled_level_by_level_in_our_own_directories() {
    let mut fixture = Fixture::hybrid("io pids", "");
    // The caller in a root cgroup (as on this project's hybrid machines) may enable them.
    fixture.fs.roots.push(fixture.path("unified/user/session"));
    let request = CgroupRequest::new("lxc/web").with_controllers(["io"]);
    let cgroups = create_in(&fixture, &request).expect("create");
    assert_eq!(cgroups.v2_delegation().enabled, ["io"]);
    let leaf = leaf_in(&fixture, "unified", "lxc/web");
    let controllers = fs::read_to_string(leaf.join("cgroup.controllers")).expect("read");
    assert_eq!(controllers.trim(), "io");
    // The leaf itself enables nothing: the container's processes live there.
    assert_eq!(
        fs::read_to_string(leaf.join("cgroup.subtree_control")).expect("read"),
        ""
    );
}

#[test]
fn a_directory_on_the_way_that_is_not_ours_is_not_written() {
    let mut fixture = Fixture::hybrid("io", "io");
    fixture.fs.roots.push(fixture.path("unified/user/session"));
    let foreign = leaf_in(&fixture, "unified", "lxc");
    fixture.fs.mkdir(&foreign).expect("mkdir");
    let request = CgroupRequest::new("lxc/web").with_controllers(["io"]);
    let cgroups = create_in(&fixture, &request).expect("create");
    let missing = &cgroups.v2_delegation().not_delegated;
    assert_eq!(missing.len(), 1);
    assert_eq!(
        (missing[0].at.as_path(), &missing[0].reason),
        (foreign.as_path(), &Undelegated::NotOurs)
    );
    assert!(fixture
        .fs
        .writes
        .borrow()
        .iter()
        .all(|(dir, ..)| dir != &foreign));
}

#[test]
fn remove_takes_sub_cgroups_and_leaves_a_shared_parent_in_use() {
    let fixture = Fixture::hybrid("", "");
    let web = create_in(&fixture, &CgroupRequest::new("lxc/web")).expect("web");
    let db = create_in(&fixture, &CgroupRequest::new("lxc/db")).expect("db");
    assert!(
        db.paths().iter().all(|dir| dir.ends_with("lxc/db")),
        "lxc is web's"
    );
    for leaf in web.leaves() {
        fixture
            .fs
            .mkdir(&leaf.join("inner"))
            .expect("container-made cgroup");
    }
    web.remove_with(Duration::from_secs(1), &fixture.fs)
        .expect("remove web");
    for hierarchy in ["cpuset", "memory", "systemd", "unified"] {
        assert!(
            !leaf_in(&fixture, hierarchy, "lxc/web").exists(),
            "{hierarchy}"
        );
        assert!(
            leaf_in(&fixture, hierarchy, "lxc/db").is_dir(),
            "{hierarchy}"
        );
    }
    db.remove_with(Duration::from_secs(1), &fixture.fs)
        .expect("remove db");
    assert!(
        leaf_in(&fixture, "memory", "lxc").is_dir(),
        "not db's to remove"
    );
}

#[test]
fn an_empty_container_goes_with_one_rmdir_each_and_a_shared_parent_stays() {
    let fixture = Fixture::hybrid("", "");
    let web = create_in(&fixture, &CgroupRequest::new("lxc/web")).expect("web");
    let db = create_in(&fixture, &CgroupRequest::new("lxc/db")).expect("db");
    assert!(web.remove_if_empty_with(&fixture.fs));
    for hierarchy in ["cpuset", "memory", "systemd", "unified"] {
        assert!(
            !leaf_in(&fixture, hierarchy, "lxc/web").exists(),
            "{hierarchy}"
        );
        assert!(
            leaf_in(&fixture, hierarchy, "lxc/db").is_dir(),
            "{hierarchy}"
        );
    }
    assert!(db.remove_if_empty_with(&fixture.fs));
    assert!(
        leaf_in(&fixture, "memory", "lxc").is_dir(),
        "not db's to remove"
    );
}

#[test]
fn a_container_with_processes_or_sub_cgroups_is_left_for_the_long_way() {
    let fixture = Fixture::hybrid("", "");
    let web = create_in(&fixture, &CgroupRequest::new("web")).expect("web");
    let memory_leaf = leaf_in(&fixture, "memory", "web");
    fs::write(memory_leaf.join("cgroup.procs"), "2147483646\n").expect("write");
    assert!(!web.remove_if_empty_with(&fixture.fs));
    assert!(memory_leaf.is_dir());

    let db = create_in(&fixture, &CgroupRequest::new("db")).expect("db");
    let unified_leaf = leaf_in(&fixture, "unified", "db");
    fixture
        .fs
        .mkdir(&unified_leaf.join("inner"))
        .expect("inner");
    assert!(!db.remove_if_empty_with(&fixture.fs));
    db.remove_with(Duration::from_secs(1), &fixture.fs)
        .expect("the long way takes the sub-cgroup too");
    assert!(!unified_leaf.exists());
}

#[test]
fn remove_refuses_a_leaf_that_still_holds_processes() {
    let fixture = Fixture::hybrid("", "");
    let web = create_in(&fixture, &CgroupRequest::new("web")).expect("web");
    let memory_leaf = leaf_in(&fixture, "memory", "web");
    // A pid that cannot exist: pidfd_open fails, the list stays, the deadline passes.
    fs::write(memory_leaf.join("cgroup.procs"), "2147483646\n").expect("write");
    let error = web
        .remove_with(Duration::from_millis(50), &fixture.fs)
        .expect_err("busy");
    assert!(
        matches!(&error, Error::Busy { path, .. } if path == &memory_leaf),
        "{error}"
    );
}

#[test]
fn from_paths_finds_the_leaves_and_the_unified_one() {
    let fixture = Fixture::hybrid("", "");
    let made = create_in(&fixture, &CgroupRequest::new("lxc/web")).expect("create");
    let reopened = ContainerCgroups::from_paths(made.paths().to_vec());
    assert!(reopened.leaves().eq(made.leaves()));
    assert_eq!(reopened.unified_dir(), made.unified_dir());
}

#[test]
fn set_and_get_use_v1_first_then_cgroup2() {
    let fixture = Fixture::hybrid("", "");
    let cgroups = create_in(&fixture, &CgroupRequest::new("web")).expect("create");
    cgroups
        .set("memory.limit_in_bytes", "1048576")
        .expect("set");
    let memory_leaf = leaf_in(&fixture, "memory", "web");
    let written = fs::read_to_string(memory_leaf.join("memory.limit_in_bytes")).expect("read");
    assert_eq!(written, "1048576");
    assert_eq!(
        cgroups.get("memory.limit_in_bytes").expect("get"),
        "1048576"
    );
    // Only cgroup2 has memory.pressure on this host.
    fs::write(leaf_in(&fixture, "unified", "web/memory.pressure"), "some").expect("write");
    assert_eq!(cgroups.get("memory.pressure").expect("get"), "some");
    assert!(matches!(
        cgroups.get("nosuch.key"),
        Err(Error::UnknownKey { .. })
    ));
    assert!(matches!(
        cgroups.set("../x", "1"),
        Err(Error::InvalidKey { .. })
    ));
    assert_eq!(controller_of("memory.max"), "memory");
}

/// A reopened container is the one made, from its records alone: the same leaves, the
/// cgroup2 one among them, and each key's file found in its controller's hierarchy.
#[test]
fn reopened_from_its_records_a_container_is_the_one_made() {
    let fixture = Fixture::hybrid("memory pids", "");
    let made = create_in(&fixture, &CgroupRequest::new("rlxc.payload.web")).expect("create");
    fs::write(
        leaf_in(&fixture, "memory", "rlxc.payload.web").join("memory.limit_in_bytes"),
        "4096",
    )
    .expect("limit file");
    let reopened = ContainerCgroups::reopen(made.paths().to_vec(), &made.leaf_records());
    assert!(reopened.leaves().eq(made.leaves()));
    assert_eq!(reopened.unified_dir(), made.unified_dir());
    assert_eq!(reopened.leaf_records(), made.leaf_records());
    assert_eq!(reopened.get("memory.limit_in_bytes").expect("read"), "4096");
}

/// The records are believed, not checked: reopening looks at no directory (a leaf that
/// records itself as cgroup2 is, with no `cgroup.controllers` to say so), and without
/// records the directories are looked at as before.
#[test]
fn reopening_looks_at_nothing_but_the_records() {
    let dir = PathBuf::from("/nonexistent/rlxc.payload.web");
    let record = LeafRecord {
        dir: dir.clone(),
        unified: true,
        controllers: Vec::new(),
        inner: None,
    };
    let reopened = ContainerCgroups::reopen(vec![dir.clone()], &[record]);
    assert_eq!(reopened.unified_dir(), Some(dir.as_path()));
    let looked_at = ContainerCgroups::reopen(vec![dir.clone()], &[]);
    assert_eq!(looked_at.unified_dir(), None);
}

/// With an inner cgroup the limits' directory stays the container's own, processes enter one
/// level down (the cgroup namespace's root), the controllers reach it on cgroup2, and its
/// records bring it back.
#[test]
fn an_inner_cgroup_takes_the_processes_and_the_limits_stay_above_it() {
    let fixture = Fixture::hybrid("memory pids", "pids memory");
    let request = CgroupRequest::new("rlxc.payload.web").with_controllers(["pids"]);
    let mut cgroups = create_in(&fixture, &request).expect("create");
    let outer: Vec<PathBuf> = ["cpuset", "memory", "systemd", "unified"]
        .iter()
        .map(|hierarchy| leaf_in(&fixture, hierarchy, "rlxc.payload.web"))
        .collect();
    for bad in ["a/b", "..", ""] {
        let error = cgroups
            .make_inner_with(Path::new(bad), &fixture.fs)
            .expect_err(bad);
        assert!(
            matches!(error, Error::InvalidRelativePath { .. }),
            "{bad}: {error}"
        );
    }
    cgroups
        .make_inner_with(Path::new("ns"), &fixture.fs)
        .expect("inner");
    assert!(cgroups.leaves().eq(outer.iter().map(PathBuf::as_path)));
    for dir in &outer {
        assert!(cgroups.paths().contains(&dir.join("ns")), "{dir:?}/ns made");
    }
    assert_eq!(cgroups.unified_entry(), Some(outer[3].join("ns")));
    assert_eq!(cgroups.v2_delegation().enabled, ["pids"]);
    let subtree = fs::read_to_string(outer[3].join("cgroup.subtree_control")).expect("read");
    assert!(
        subtree.contains("pids"),
        "passed down to the inner cgroup: {subtree:?}"
    );
    let inner_cpus = fs::read_to_string(outer[0].join("ns/cpuset.cpus")).expect("read");
    assert_eq!(inner_cpus.trim(), "0-3");
    let reopened = ContainerCgroups::reopen(cgroups.paths().to_vec(), &cgroups.leaf_records());
    assert_eq!(reopened.inner(), Some(Path::new("ns")));
    assert_eq!(reopened.unified_entry(), cgroups.unified_entry());
}
