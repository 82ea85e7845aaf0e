//! Helpers for tests on the real machine: unique cgroup names, a guard that kills and
//! removes what a test made even when it fails, and a child that blocks on a pipe.

#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rlxc_cgroup::{own_cgroups, CgroupLayout, ContainerCgroups, OwnCgroups};

/// `rlxc.payload.test-PID-LABEL-N`: unique across parallel tests and test binaries.
pub fn unique_path(label: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    rlxc_cgroup::payload_path(&format!("test-{}-{label}-{n}", std::process::id()))
}

pub fn layout() -> CgroupLayout {
    CgroupLayout::detect().expect("detect the cgroup layout")
}

pub fn own() -> OwnCgroups {
    OwnCgroups::of_this_process().expect("read /proc/self/cgroup")
}

pub fn own_of(pid: i32) -> OwnCgroups {
    own_cgroups(&std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("read"))
}

/// Kills and removes the recorded cgroups on drop, whatever the test did.
pub struct Cleanup(pub Vec<PathBuf>);

impl Cleanup {
    pub fn of(cgroups: &ContainerCgroups) -> Self {
        Self(cgroups.paths().to_vec())
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let existing: Vec<PathBuf> = self.0.iter().filter(|p| p.exists()).cloned().collect();
        if existing.is_empty() {
            return;
        }
        let cgroups = ContainerCgroups::from_paths(existing);
        let _ = cgroups.kill_all();
        let _ = cgroups.remove(Duration::from_secs(5));
    }
}

/// `cat` reading a pipe that stays open until the child is dropped: blocks without sleeping.
pub fn blocked_child() -> Child {
    Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn cat")
}

pub fn pid_of(child: &Child) -> i32 {
    i32::try_from(child.id()).expect("pid fits i32")
}

pub fn procs_of(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .expect("read cgroup.procs")
        .split_whitespace()
        .map(|pid| pid.parse().expect("pid"))
        .collect()
}

/// The directory each hierarchy's cgroup of ours should have below our own.
pub fn expected_dirs(layout: &CgroupLayout, own: &OwnCgroups, relative: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = layout
        .v1
        .iter()
        .filter(|h| h.name().is_none() || h.name() == Some("systemd") || h.controllers.len() > 1)
        .map(|h| own.v1_dir(h).expect("own v1 dir").join(relative))
        .collect();
    if let Some(v2) = &layout.v2 {
        dirs.push(own.v2_dir(v2).expect("own v2 dir").join(relative));
    }
    dirs
}
