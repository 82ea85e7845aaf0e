//! A running container held frozen by a copy or snapshot of it: a source big enough that
//! the copy is caught in the act, the freezer read from outside, and the command SIGKILLed
//! while the container is frozen.

use std::fs;
use std::process::Child;
use std::time::{Duration, Instant};

use super::{cgroup_dir, World};

/// A busybox container with many small files, so that a copy takes long enough to be caught
/// in the act.
pub fn big_source(world: &World, base: &str) -> String {
    let source = world.busybox(base);
    let data = world.rootfs(&source).join("many");
    for dir in 0..40 {
        let dir = data.join(format!("d{dir}"));
        fs::create_dir_all(&dir).expect("mkdir");
        for file in 0..500 {
            fs::write(dir.join(format!("f{file}")), b"some bytes").expect("write");
        }
    }
    source
}

/// FROZEN, FREEZING or THAWED: the freezer of the container whose init is `init`, as the
/// host has it (v1's `freezer.state`, else cgroup2's `cgroup.freeze` and `cgroup.events`).
pub fn freezer_state(init: i32) -> String {
    let dir = cgroup_dir(init, "freezer");
    if let Ok(state) = fs::read_to_string(dir.join("freezer.state")) {
        return state.trim().to_string();
    }
    let freeze = fs::read_to_string(dir.join("cgroup.freeze")).expect("cgroup.freeze");
    let events = fs::read_to_string(dir.join("cgroup.events")).expect("cgroup.events");
    match (freeze.trim(), events.lines().any(|line| line == "frozen 1")) {
        ("1", true) => "FROZEN".into(),
        ("1", false) => "FREEZING".into(),
        _ => "THAWED".into(),
    }
}

/// The processes whose parent is `pid` (the watchdog a copy forks), by /proc.
fn children_of(pid: u32) -> Vec<i32> {
    fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|child| {
            fs::read_to_string(format!("/proc/{child}/status"))
                .is_ok_and(|status| status.lines().any(|line| line == format!("PPid:\t{pid}")))
        })
        .collect()
}

/// Gone, or a zombie (it ran its last instruction; its new parent reaps it).
fn ended(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .map_or(true, |status| status.contains("\nState:\tZ"))
}

/// Waits (bounded) until `child` holds the container whose init is `init` frozen; returns
/// the processes `child` has forked then.
pub fn wait_until_frozen(init: i32, child: &mut Child) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while freezer_state(init) != "FROZEN" {
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the command ended before the container was seen frozen"
        );
        assert!(Instant::now() < deadline, "the container was never frozen");
        std::thread::sleep(Duration::from_millis(1));
    }
    children_of(child.id())
}

/// SIGKILLs `child` once it holds the container whose init is `init` frozen, and checks
/// that the container is thawed within 2 s and that no process `child` forked is left.
pub fn kill_while_frozen(init: i32, child: &mut Child) {
    let forked = wait_until_frozen(init, child);
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");

    let deadline = Instant::now() + Duration::from_secs(2);
    while freezer_state(init) != "THAWED" || !forked.iter().all(|pid| ended(*pid)) {
        assert!(
            Instant::now() < deadline,
            "2 s after the SIGKILL: the container's freezer says {}, and of {forked:?} \
             these are left: {:?}",
            freezer_state(init),
            forked
                .iter()
                .filter(|pid| !ended(**pid))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGKILLs `child` and every process it forked once it holds the container whose init is
/// `init` frozen, as a kill of its whole cgroup does (what it forked first).
pub fn kill_all_while_frozen(init: i32, child: &mut Child) {
    let forked = wait_until_frozen(init, child);
    assert!(!forked.is_empty(), "nothing forked by the command to kill");
    for pid in &forked {
        let pid = rustix::process::Pid::from_raw(*pid).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("SIGKILL");
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let deadline = Instant::now() + Duration::from_secs(2);
    while !forked.iter().all(|pid| ended(*pid)) {
        assert!(Instant::now() < deadline, "{forked:?} still there");
        std::thread::sleep(Duration::from_millis(10));
    }
}
