//! New processes: fork, clone3 (namespaces, a pidfd, straight into a cgroup), a sibling
//! fork, a probe child for `unshare`, and reaping.
//!
//! Every fork here requires a single-threaded caller (rlxc's CLI, the monitor, attach and a
//! container's first process all are): the child is a copy of this one thread, so no lock
//! (malloc's included) can be held by a thread that does not exist there, and the child may
//! run ordinary Rust code.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// fork(2): 0 in the child, the child's pid in the parent. Single-threaded caller (see the
/// module docs).
pub fn fork() -> io::Result<i32> {
    // SAFETY: single-threaded caller (see the module docs); both sides continue in safe Rust.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        pid => Ok(pid),
    }
}

/// Forks a sibling: a child of our parent rather than of us (`clone(CLONE_PARENT)`), so the
/// parent waits for it, gets its signals forwarded and its exit status directly, while we
/// can exit. 0 in the child, its pid in the parent, as [`fork`]; same rules.
pub fn fork_sibling() -> io::Result<i32> {
    let flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong;
    // SAFETY: clone with no new stack behaves as fork (the child gets a copy-on-write copy of
    // this stack); single-threaded caller, so no lock is held by a thread the child lacks.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_ulong,
        )
    };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        pid => Ok(pid as i32),
    }
}

/// Leaves a forked child at once, without the destructors and atexit handlers that belong to
/// the parent's copy of the state.
pub fn exit_child(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// `struct clone_args` of clone3(2), as the kernel defines it (version 2, 88 bytes).
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

const CLONE_PIDFD: u64 = 0x1000;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Which side of a clone we are on.
pub enum Forked {
    Child,
    Parent { pid: i32, pidfd: OwnedFd },
}

/// clone3 with `namespace_flags`, a pidfd for the child, and (when given) the child placed
/// straight into the cgroup2 directory `cgroup_fd` so it never runs a moment outside it.
/// Single-threaded caller (see the module docs).
pub fn clone3(namespace_flags: u64, cgroup_fd: Option<RawFd>) -> io::Result<Forked> {
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: namespace_flags | CLONE_PIDFD,
        pidfd: &mut pidfd as *mut RawFd as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..CloneArgs::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: `args` is a valid clone_args of the size passed; `pidfd` outlives the call (the
    // kernel writes the new fd there in the parent). No stack is given, so the child runs on a
    // copy of our stack like fork(); the caller guarantees it is single-threaded, so the child
    // inherits no lock held by another thread.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    match rc {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent {
            pid: pid as i32,
            // SAFETY: with CLONE_PIDFD the kernel stored a new, owned fd in `pidfd`.
            pidfd: unsafe { OwnedFd::from_raw_fd(pidfd) },
        }),
    }
}

/// How a child ended.
pub enum ChildOutcome {
    /// Its exit status (for [`unshare_in_child`]: the errno of `unshare`, 0 for success).
    Exited(i32),
    KilledBySignal(i32),
}

pub enum ForkOrWait {
    Fork(io::Error),
    Wait(io::Error),
}

/// Forks a child that calls `unshare(flags)` and exits with the errno (0 on success), then
/// reaps it. The child only makes raw syscalls (no allocation, no locks), so this is sound
/// even when the caller has other threads.
pub fn unshare_in_child(flags: libc::c_int) -> Result<ChildOutcome, ForkOrWait> {
    // SAFETY: after fork the child runs only async-signal-safe code: `unshare`, reading
    // errno and `_exit`. It never returns into Rust code that could touch locks or memory
    // shared with other threads, and `_exit` skips atexit handlers and destructors.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(ForkOrWait::Fork(io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: raw syscalls in the forked child, see above. `__errno_location` returns a
        // valid pointer to this thread's errno.
        unsafe {
            let status = if libc::unshare(flags) == 0 {
                0
            } else {
                *libc::__errno_location()
            };
            libc::_exit(status)
        }
    }
    wait_for(pid).map_err(ForkOrWait::Wait)
}

/// Waits for our child `pid` to end (restarted after EINTR) and says how it ended.
pub fn wait_for(pid: libc::pid_t) -> io::Result<ChildOutcome> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a valid, writable c_int for the duration of the call and `pid`
        // is our own child, so waiting on it cannot reap anyone else's process.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    if libc::WIFEXITED(status) {
        Ok(ChildOutcome::Exited(libc::WEXITSTATUS(status)))
    } else {
        Ok(ChildOutcome::KilledBySignal(libc::WTERMSIG(status)))
    }
}

/// Waits for our child `pid` to exit, so a helper leaves no zombie.
pub fn reap(pid: i32) {
    // waitpid(0 or less) would wait for any child of a process group, not this one.
    if pid > 0 {
        let _ = wait_for(pid);
    }
}
