//! cgroup2 "no internal processes" on a real kernel. Runs on a pure cgroup2 host (the UML
//! guest of /work/shared/tools/uml-run); elsewhere it says so and passes. The test makes a
//! stand-in for the caller's cgroup below its own and passes it as the caller's, so the test
//! process itself is never moved and nothing outside what the test made is written.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use rlxc_cgroup::{
    CgroupRequest, ContainerCgroups, Error, LayoutKind, OwnCgroups, Placement, Undelegated,
};

/// A caller cgroup made by the test, its path as /proc/self/cgroup would name it, and a
/// guard that kills and removes it.
fn stand_in_caller(label: &str) -> Option<(PathBuf, OwnCgroups, Cleanup)> {
    let layout = layout();
    assert_eq!(
        layout.kind(),
        Some(LayoutKind::Unified),
        "needs a pure cgroup2 host: run through tests/uml/run.sh"
    );
    let own = own();
    let relative = unique_path(label);
    let dir = own
        .v2_dir(layout.v2.as_ref()?)
        .expect("own dir")
        .join(&relative);
    std::fs::create_dir(&dir).expect("mkdir stand-in");
    let cleanup = Cleanup(vec![dir.clone()]);
    let pretend = OwnCgroups {
        v1: Vec::new(),
        v2: Some(own.v2.expect("v2 line").join(&relative)),
    };
    Some((dir, pretend, cleanup))
}

#[test]
#[ignore = "needs a pure cgroup2 host: tests/uml/run.sh runs it (--include-ignored)"]
fn a_caller_cgroup_holding_processes_gets_its_controllers_reported_not_forced() {
    let Some((caller_dir, pretend, cleanup)) = stand_in_caller("busy-caller") else {
        return;
    };
    let mut occupant = blocked_child();
    let occupant_pid = pid_of(&occupant);
    std::fs::write(caller_dir.join("cgroup.procs"), occupant_pid.to_string()).expect("occupy");

    // memory, a domain controller: threaded ones (pids, cpu) may be enabled next to
    // processes, and the kernel allows that.
    let request = CgroupRequest::new("payload").with_controllers(["memory", "pids"]);
    let cgroups = ContainerCgroups::create_with(&layout(), &pretend, &request).expect("create");
    let delegation = cgroups.v2_delegation();
    assert_eq!(delegation.enabled, ["pids"], "{delegation:?}");
    assert_eq!(delegation.not_delegated.len(), 1, "{delegation:?}");
    let missing = &delegation.not_delegated[0];
    assert_eq!(missing.controller, "memory");
    assert_eq!(missing.at, caller_dir);
    assert_eq!(
        missing.reason,
        Undelegated::CallerHoldsProcesses,
        "{missing}"
    );
    assert_eq!(
        procs_of(&caller_dir),
        [occupant_pid],
        "the caller was not moved"
    );
    let no_memory = cgroups.set("memory.max", "1M");
    assert!(matches!(no_memory, Err(Error::UnknownKey { .. })));
    cgroups.set("pids.max", "5").expect("pids was delegated");
    cgroups.remove(Duration::from_secs(1)).expect("remove");
    drop(cleanup); // kills the occupant
    occupant.wait().expect("wait");
}

#[test]
#[ignore = "needs a pure cgroup2 host: tests/uml/run.sh runs it (--include-ignored)"]
fn an_empty_caller_cgroup_delegates_the_requested_controller() {
    let Some((caller_dir, pretend, _cleanup)) = stand_in_caller("free-caller") else {
        return;
    };
    let request = CgroupRequest::new("payload").with_controllers(["pids"]);
    let cgroups = ContainerCgroups::create_with(&layout(), &pretend, &request).expect("create");
    assert_eq!(cgroups.v2_delegation().enabled, ["pids"]);
    let enabled = std::fs::read_to_string(caller_dir.join("cgroup.subtree_control"));
    assert_eq!(
        enabled.expect("read").trim(),
        "pids",
        "only what was asked for"
    );
    cgroups.set("pids.max", "5").expect("set pids.max");
    let mut child = blocked_child();
    cgroups
        .add_process(pid_of(&child), Placement::All)
        .expect("place");
    cgroups.kill_all().expect("kill");
    child.wait().expect("wait");
    cgroups.remove(Duration::from_secs(1)).expect("remove");
}
