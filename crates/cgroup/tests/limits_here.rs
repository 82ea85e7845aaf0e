//! Limits, the freezer, stats and the eBPF device program on the real machine (root; this
//! build host is hybrid, UML is pure v2). The cgroup2-only tests use the host's unified
//! mount alone, whatever controllers it has: placing, cgroup.freeze and device programs
//! need none.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use rlxc_cgroup::{
    CgroupLayout, CgroupRequest, ContainerCgroups, FreezerState, LimitPlan, Placement,
};

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The host's cgroup2 mount as if it were the only hierarchy; `None` without one.
fn unified_only() -> Option<CgroupLayout> {
    let layout = layout();
    layout.v2.map(|v2| CgroupLayout {
        v1: Vec::new(),
        v2: Some(v2),
    })
}

/// `sh` that joins the cgroup2 directory, then runs `command`: its exit status.
fn run_inside(dir: &std::path::Path, command: &str) -> std::process::Output {
    let script = format!("echo $$ > {}/cgroup.procs && {command}", dir.display());
    Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh")
}

#[test]
fn the_device_program_denies_what_the_rules_deny_on_cgroup2() {
    let Some(layout) = unified_only() else {
        eprintln!("no cgroup2 hierarchy: nothing to test");
        return;
    };
    let rules = settings(&[
        ("devices.deny", "a"),
        ("devices.allow", "c 1:5 rwm"),
        ("devices.allow", "c 1:9 r"),
    ]);
    let plan = LimitPlan::new(&layout, &[], &rules).expect("plan");
    let cgroups =
        ContainerCgroups::create_with(&layout, &own(), &CgroupRequest::new(unique_path("bpf")))
            .expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    plan.apply(&cgroups).expect("attach the device program");
    let dir = cgroups.unified_dir().expect("unified dir");

    let zero = run_inside(dir, "head -c 4 /dev/zero | wc -c");
    assert!(zero.status.success(), "{zero:?}");
    assert_eq!(String::from_utf8_lossy(&zero.stdout).trim(), "4");
    let null = run_inside(dir, "exec cat /dev/null");
    assert!(!null.status.success(), "/dev/null was opened: {null:?}");
    assert!(
        String::from_utf8_lossy(&null.stderr).contains("not permitted"),
        "{null:?}"
    );
    let urandom_write = run_inside(dir, "echo x > /dev/urandom");
    assert!(!urandom_write.status.success(), "write allowed with only r");
    let urandom_read = run_inside(dir, "head -c 1 /dev/urandom > /dev/zero");
    assert!(urandom_read.status.success(), "{urandom_read:?}");
}

#[test]
fn cgroup_freeze_stops_and_resumes_on_cgroup2() {
    let Some(layout) = unified_only() else {
        return;
    };
    let cgroups =
        ContainerCgroups::create_with(&layout, &own(), &CgroupRequest::new(unique_path("freeze2")))
            .expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    let mut child = blocked_child();
    cgroups
        .add_process(pid_of(&child), Placement::All)
        .expect("place");
    assert_eq!(
        cgroups.freeze(Duration::from_secs(5)).expect("freeze"),
        FreezerState::Frozen
    );
    assert_eq!(
        cgroups.freezer_state().expect("state"),
        FreezerState::Frozen
    );
    let events = std::fs::read_to_string(cgroups.unified_dir().expect("dir").join("cgroup.events"))
        .expect("events");
    assert!(events.contains("frozen 1"), "{events}");
    cgroups.thaw().expect("thaw");
    assert_eq!(
        cgroups.freezer_state().expect("state"),
        FreezerState::Thawed
    );
    // cgroup.kill works on frozen and thawed cgroups alike.
    cgroups.kill_all().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn the_v1_freezer_freezes_where_the_host_has_it() {
    let layout = layout();
    // The UML lane skips this test by name (pure cgroup2 has no v1 freezer).
    assert!(
        layout.v1_hierarchy_of("freezer").is_some(),
        "no v1 freezer on this host"
    );
    let cgroups = ContainerCgroups::create(&layout, &unique_path("freeze1")).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    let mut child = blocked_child();
    let pid = pid_of(&child);
    cgroups.add_process(pid, Placement::All).expect("place");
    let state = cgroups.freeze(Duration::from_secs(5)).expect("freeze");
    assert_ne!(state, FreezerState::Thawed);
    cgroups.thaw().expect("thaw");
    assert_eq!(
        cgroups.freezer_state().expect("state"),
        FreezerState::Thawed
    );
    cgroups.kill_all().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn limits_are_written_and_stats_read_back() {
    let layout = layout();
    let v1 = settings(&[("pids.max", "50"), ("memory.limit_in_bytes", "64M")]);
    let plan = LimitPlan::new(&layout, &v1, &[]).expect("plan");
    let request =
        CgroupRequest::new(unique_path("limits")).with_controllers(plan.v2_controllers(&layout));
    let cgroups = ContainerCgroups::create_with(&layout, &own(), &request).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    plan.apply(&cgroups).expect("apply");
    assert_eq!(cgroups.get("pids.max").expect("pids.max").trim(), "50");
    let memory = if cgroups.has("memory.limit_in_bytes") {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    assert_eq!(
        cgroups.get(memory).expect("memory").trim(),
        (64u64 << 20).to_string()
    );
    let mut child = blocked_child();
    cgroups
        .add_process(pid_of(&child), Placement::All)
        .expect("place");
    let stats = cgroups.stats();
    assert_eq!(stats.pids, Some(1));
    assert!(stats.memory_bytes.is_some(), "{stats:?}");
    assert!(stats.cpu_nanoseconds.is_some(), "{stats:?}");
    cgroups.kill_all().expect("kill");
    child.wait().expect("wait");
}
