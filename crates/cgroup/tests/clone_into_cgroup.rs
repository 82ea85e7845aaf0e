//! `clone3(CLONE_INTO_CGROUP)` with [`ContainerCgroups::unified_fd`]: the child starts in the
//! container's cgroup2 directory; `Placement::V1Only` then places it in the v1 ones.

mod common;

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use common::*;
use rlxc_cgroup::{ContainerCgroups, Placement};

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

#[test]
fn a_child_cloned_into_the_unified_fd_starts_there() {
    let layout = layout();
    let relative = unique_path("clone3");
    let cgroups = ContainerCgroups::create(&layout, &relative).expect("create");
    let _cleanup = Cleanup::of(&cgroups);
    let fd = cgroups
        .unified_fd()
        .expect("open")
        .expect("a cgroup2 hierarchy");

    let (read_end, write_end) = pipe();
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: fd.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: a plain fork (no CLONE_VM, no new stack) into a cgroup fd that we own; the
    // child only calls async-signal-safe read(2) and _exit(2) before it ends.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            size_of::<CloneArgs>(),
        )
    };
    if pid == 0 {
        let mut byte = 0u8;
        // SAFETY: closes our copy of the write end (so the parent's close means EOF), reads
        // one byte into a local; _exit never returns.
        unsafe {
            libc::close(write_end.as_raw_fd());
            libc::read(read_end.as_raw_fd(), (&mut byte as *mut u8).cast(), 1);
            libc::_exit(0);
        }
    }
    assert!(pid > 0, "clone3: {}", std::io::Error::last_os_error());
    let pid = i32::try_from(pid).expect("pid");
    drop(read_end);

    let unified = cgroups.unified_dir().expect("unified dir");
    assert_eq!(procs_of(unified), [pid]);
    let own_v2 = own().v2.expect("own v2").join(&relative);
    assert_eq!(own_of(pid).v2, Some(own_v2));

    cgroups
        .add_process(pid, Placement::V1Only)
        .expect("place in v1");
    for dir in cgroups.leaves() {
        assert_eq!(procs_of(dir), [pid], "{dir:?}");
    }
    drop(write_end); // the child reads EOF and exits
    let mut status = 0;
    // SAFETY: waits for our own child; status is a local.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(libc::WIFEXITED(status));
    cgroups.remove(Duration::from_secs(5)).expect("remove");
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array on success.
    let result = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(result, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both fds are fresh and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}
