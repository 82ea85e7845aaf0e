//! ContainerCgroups on the real machine (root; hybrid here, pure v2 under UML): each test
//! makes its own uniquely named cgroups below the test process's cgroup and removes them
//! even when it fails.

mod common;

use std::io::ErrorKind;
use std::time::Duration;

use common::*;
use rlxc_cgroup::{CgroupRequest, ContainerCgroups, Error, Placement};

#[test]
fn create_makes_one_directory_per_hierarchy_below_our_own_cgroup() {
    let (layout, own) = (layout(), own());
    let relative = unique_path("create");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    let expected = expected_dirs(&layout, &own, &relative);
    let leaves: Vec<_> = cgroups.leaves().map(ToOwned::to_owned).collect();
    assert_eq!(leaves, expected);
    assert_eq!(cgroups.paths(), expected.as_slice());
    for dir in &expected {
        assert!(dir.is_dir(), "{dir:?} missing");
    }
    assert_eq!(cgroups.unified_dir().is_some(), layout.v2.is_some());
    if let Some(cpuset) = layout.v1_hierarchy_of("cpuset") {
        let dir = own.v1_dir(cpuset).expect("own cpuset").join(&relative);
        let cpus = std::fs::read_to_string(dir.join("cpuset.cpus")).expect("cpus");
        assert!(!cpus.trim().is_empty(), "cpuset.cpus left empty");
    }
}

#[test]
fn a_child_is_placed_listed_killed_and_removed() {
    let (layout, own) = (layout(), own());
    let relative = unique_path("place");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    let mut child = blocked_child();
    let pid = pid_of(&child);
    cgroups.add_process(pid, Placement::All).expect("place");

    for dir in cgroups.leaves() {
        assert_eq!(procs_of(dir), [pid], "{dir:?}");
    }
    assert_eq!(cgroups.processes().expect("processes"), [pid]);
    assert!(!cgroups.is_empty().expect("is_empty"));
    let seen = own_of(pid);
    for hierarchy in &layout.v1 {
        let ours = own.v1_path(hierarchy).expect("own path").join(&relative);
        assert_eq!(
            seen.v1_path(hierarchy),
            Some(ours.as_path()),
            "{hierarchy:?}"
        );
    }
    if layout.v2.is_some() {
        let ours = own.v2.clone().expect("own v2").join(&relative);
        assert_eq!(seen.v2, Some(ours));
    }

    cgroups.kill_all().expect("kill_all");
    let status = child.wait().expect("wait");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(cgroups.is_empty().expect("is_empty"));

    let dirs = cgroups.paths().to_vec();
    cgroups.remove(Duration::from_secs(5)).expect("remove");
    for dir in dirs {
        assert!(!dir.exists(), "{dir:?} left behind");
    }
}

/// A process of one thread moves itself in through the files `self_entry` opened (v1 `tasks`,
/// cgroup2 `cgroup.procs`): the way that spares a v1 move the RCU grace period.
#[test]
fn a_process_moves_itself_in_through_its_self_entry() {
    let (layout, own) = (layout(), own());
    let relative = unique_path("self");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    let entry = cgroups.self_entry(Placement::All).expect("open");
    let cloexec = rustix::pipe::PipeFlags::CLOEXEC;
    let (report_read, report_write) = rustix::pipe::pipe_with(cloexec).expect("pipe");
    // Close-on-exec: a process another test spawns meanwhile must not hold the ends open.
    let (hold_read, hold_write) = rustix::pipe::pipe_with(cloexec).expect("pipe");
    // SAFETY: glibc's fork resets malloc's locks in the child, and the child only writes to
    // cgroup files and pipes, reads a pipe and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let report: &[u8] = match entry.enter() {
            Ok(()) => b"y",
            Err(_) => b"n",
        };
        let _ = rustix::io::write(&report_write, report);
        // Held until the test closes its end: then the read ends and so does the child.
        drop(hold_write);
        let _ = rustix::io::read(&hold_read, &mut [0u8; 1]);
        // SAFETY: leaves the forked copy at once, running nothing of the test's.
        unsafe { libc::_exit(0) };
    }
    drop((report_write, hold_read));
    let mut report = [0u8; 1];
    rustix::io::read(&report_read, &mut report).expect("the child's report");
    let seen = own_of(pid);
    for dir in cgroups.leaves() {
        assert_eq!(procs_of(dir), [pid], "{dir:?}");
    }
    drop(hold_write);
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid place for its status.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(&report, b"y", "the child could not enter");
    for hierarchy in &layout.v1 {
        let ours = own.v1_path(hierarchy).expect("own path").join(&relative);
        assert_eq!(seen.v1_path(hierarchy), Some(ours.as_path()));
    }
    if layout.v2.is_some() {
        assert_eq!(
            seen.v2,
            Some(own.v2.clone().expect("own v2").join(&relative))
        );
    }
}

#[test]
fn kill_all_gets_children_and_sub_cgroups_the_container_made() {
    let layout = layout();
    let relative = unique_path("forks");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    // As a container with its own cgroup namespace would: a sub-cgroup everywhere.
    for dir in cgroups.leaves() {
        std::fs::create_dir(dir.join("inner")).expect("mkdir inner");
    }
    let mut parent = blocked_child();
    cgroups
        .add_process(pid_of(&parent), Placement::All)
        .expect("place");
    let mut nested = blocked_child();
    for dir in cgroups.leaves() {
        let procs = dir.join("inner/cgroup.procs");
        std::fs::write(procs, pid_of(&nested).to_string()).expect("place nested");
    }
    let mut expected = vec![pid_of(&parent), pid_of(&nested)];
    expected.sort_unstable();
    assert_eq!(cgroups.processes().expect("processes"), expected);

    cgroups.kill_all().expect("kill_all");
    parent.wait().expect("wait parent");
    nested.wait().expect("wait nested");
    let dirs = cgroups.paths().to_vec();
    cgroups
        .remove(Duration::from_secs(5))
        .expect("remove with sub-cgroups");
    assert!(dirs.iter().all(|dir| !dir.exists()));
}

#[test]
fn remove_waits_for_the_last_process_to_exit() {
    let layout = layout();
    let relative = unique_path("wait");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    let mut child = blocked_child();
    cgroups
        .add_process(pid_of(&child), Placement::All)
        .expect("place");

    // Closing its pipe makes cat exit; remove must wait for that, not fail with EBUSY. The
    // pipe is closed once remove has found cat there and sleeps waiting for it (its thread
    // in state S), and while it has not returned: no fixed pause, and no race.
    let dirs = cgroups.paths().to_vec();
    let (tid_sender, tid) = std::sync::mpsc::channel();
    let remover = std::thread::spawn(move || {
        tid_sender
            .send(rustix::thread::gettid().as_raw_nonzero().get())
            .expect("send tid");
        cgroups.remove(Duration::from_secs(60))
    });
    wait_until_sleeping(tid.recv().expect("tid"));
    assert!(
        !remover.is_finished(),
        "remove returned with cat still there"
    );
    drop(child.stdin.take());
    child.wait().expect("wait");
    remover.join().expect("remover").expect("remove");
    assert!(dirs.iter().all(|dir| !dir.exists()));
}

/// Waits (bounded against a hang only) until thread `tid` of this process sleeps, or is
/// gone (the caller then sees it finished).
fn wait_until_sleeping(tid: i32) {
    let stat = format!("/proc/self/task/{tid}/stat");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let Ok(text) = std::fs::read_to_string(&stat) else {
            return;
        };
        // The state follows the command name's closing parenthesis.
        let state = text.rsplit_once(") ").map(|(_, rest)| &rest[..1]);
        if state == Some("S") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "thread never slept: {text}"
        );
        std::thread::yield_now();
    }
}

#[test]
fn remove_times_out_with_busy_and_keeps_the_cgroups() {
    let layout = layout();
    let relative = unique_path("busy");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let cleanup = Cleanup::of(&cgroups);
    let mut child = blocked_child();
    let pid = pid_of(&child);
    cgroups.add_process(pid, Placement::All).expect("place");

    let error = cgroups
        .remove(Duration::from_millis(100))
        .expect_err("a live process");
    assert!(
        matches!(&error, Error::Busy { pids, .. } if pids == &[pid]),
        "{error}"
    );
    assert!(cleanup.0.iter().all(|dir| dir.is_dir()));
    drop(cleanup);
    child.wait().expect("wait");
}

#[test]
fn creating_twice_fails_and_leaves_the_first_alone() {
    let layout = layout();
    let relative = unique_path("twice");
    let first = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&first);

    let stale = ContainerCgroups::create(&layout, &relative).expect_err("exists");
    assert!(matches!(stale, Error::Stale { .. }), "{stale}");
    assert!(stale.to_string().contains("stale"), "{stale}");

    let mut child = blocked_child();
    first
        .add_process(pid_of(&child), Placement::All)
        .expect("place");
    let running = ContainerCgroups::create(&layout, &relative).expect_err("exists");
    assert!(matches!(&running, Error::AlreadyRunning { pids, .. } if pids == &[pid_of(&child)]));

    for dir in first.leaves() {
        assert_eq!(procs_of(dir), [pid_of(&child)], "{dir:?} was touched");
    }
    first.kill_all().expect("kill");
    child.wait().expect("wait");
}

#[test]
fn a_path_of_several_components_is_made_and_removed_whole() {
    let layout = layout();
    let outer = unique_path("nested");
    let relative = outer.join("payload");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    assert_eq!(cgroups.paths().len(), 2 * cgroups.leaves().count());
    assert!(cgroups.leaves().all(|dir| dir.ends_with(&relative)));
    // Reopened from the recorded paths, it finds the same leaves.
    let reopened = ContainerCgroups::from_paths(cgroups.paths().to_vec());
    assert!(reopened.leaves().eq(cgroups.leaves()));
    assert_eq!(reopened.unified_dir(), cgroups.unified_dir());
    let dirs = cgroups.paths().to_vec();
    reopened.remove(Duration::from_secs(1)).expect("remove");
    assert!(dirs.iter().all(|dir| !dir.exists()));
}

#[test]
fn set_and_get_find_the_hierarchy_with_the_controller() {
    let layout = layout();
    let request = CgroupRequest::new(unique_path("set")).with_controllers(["pids", "memory"]);
    let cgroups = ContainerCgroups::create_with(&layout, &own(), &request).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    assert!(
        cgroups.v2_delegation().not_delegated.is_empty(),
        "{:?}",
        cgroups.v2_delegation()
    );

    cgroups.set("pids.max", "42").expect("set pids.max");
    assert_eq!(cgroups.get("pids.max").expect("get").trim(), "42");
    let memory_key = if layout.v1_hierarchy_of("memory").is_some() {
        "memory.limit_in_bytes"
    } else {
        "memory.max"
    };
    cgroups.set(memory_key, "67108864").expect("set memory");
    assert_eq!(cgroups.get(memory_key).expect("get").trim(), "67108864");

    let unknown = cgroups.set("nosuch.key", "1").expect_err("unknown");
    assert!(matches!(unknown, Error::UnknownKey { .. }), "{unknown}");
    let escape = cgroups.get("../cgroup.procs").expect_err("not a file name");
    assert!(matches!(escape, Error::InvalidKey { .. }), "{escape}");
    let bad = cgroups.set("pids.max", "lots").expect_err("bad value");
    let Error::Write { cause: source, .. } = &bad else {
        panic!("{bad}")
    };
    assert_eq!(source.kind(), ErrorKind::InvalidInput);
}
