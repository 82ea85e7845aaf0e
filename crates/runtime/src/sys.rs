//! The crate's `unsafe`: raw process syscalls, each wrapped so callers stay safe.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// How a probe child ended.
pub(crate) enum ChildOutcome {
    /// The child's `unshare` returned this errno (0 for success).
    Exited(i32),
    KilledBySignal(i32),
}

/// Forks a child that calls `unshare(flags)` and exits with the errno (0 on success), then
/// reaps it. The child only makes raw syscalls (no allocation, no locks), so this is sound
/// even when the caller has other threads.
pub(crate) fn unshare_in_child(flags: libc::c_int) -> Result<ChildOutcome, ForkOrWait> {
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

pub(crate) enum ForkOrWait {
    Fork(io::Error),
    Wait(io::Error),
}

fn wait_for(pid: libc::pid_t) -> io::Result<ChildOutcome> {
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

// ---- Process plumbing shared by spawn, the monitor and attach ----

/// fork(2): 0 in the child, the child's pid in the parent.
///
/// The caller must be single-threaded (rlxc's CLI, the monitor and a container's first
/// process all are): the child is a copy of this one thread, so no lock (malloc's included) can
/// be held by a thread that does not exist there, and the child may run ordinary Rust code.
pub(crate) fn fork() -> io::Result<i32> {
    // SAFETY: single-threaded caller (see above); both sides continue in safe Rust.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        pid => Ok(pid),
    }
}

/// Leaves a forked child at once, without the destructors and atexit handlers that belong to
/// the parent's copy of the state.
pub(crate) fn exit_child(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// execve(2) of `path`: only returns on failure.
pub(crate) fn execve(
    path: &std::ffi::CStr,
    argv: &[std::ffi::CString],
    env: &[std::ffi::CString],
) -> io::Error {
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // SAFETY: every pointer refers to a NUL-terminated string owned by `path`, `argv` or
    // `env`, which outlive the call, and both arrays end with a null pointer.
    unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// Marks every fd from 3 up close-on-exec: no host fd may reach the container.
pub(crate) fn cloexec_from_3() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range with integer arguments only; it changes fd flags, not memory.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Closes every fd from 3 up but those in `keep`: what the process inherited from its
/// caller (a test harness's pipes, a log file) must be gone before the container can see it.
pub(crate) fn close_fds_from_3_except(keep: &[std::os::fd::RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|fd| **fd > 2)
        .map(|fd| *fd as u32)
        .collect();
    keep.sort_unstable();
    let mut first = 3u32;
    for kept in keep.into_iter().chain([u32::MAX]) {
        if kept > first {
            let last = if kept == u32::MAX { u32::MAX } else { kept - 1 };
            // SAFETY: close_range on integer bounds; only fds this code does not use (every
            // fd it still needs is in `keep`) are closed, so no OwnedFd is left dangling
            // that is ever used again before exec or exit.
            let rc = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
            if rc != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        first = kept.saturating_add(1);
    }
    Ok(())
}

/// Makes `fd` this process's stdin, stdout and stderr.
pub(crate) fn dup_onto_stdio(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    for target in 0..3 {
        // SAFETY: dup2 onto this process's fds 0-2; `fd` is open for the call, and any
        // previous fd 0-2 is replaced atomically, which is the point.
        if unsafe { libc::dup2(fd.as_raw_fd(), target) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The signals a monitor passes on to init, the tiny init to its command, and `rlxc
/// execute` to its monitor.
pub(crate) const FORWARDED_SIGNALS: [i32; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPWR,
];

/// Blocks `signals` and returns a close-on-exec signalfd that reads them.
pub(crate) fn block_signals_to_fd(
    signals: &[i32],
    nonblocking: bool,
) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: `set` is a local sigset_t initialised by sigemptyset before use; the calls only
    // read it, and the fd signalfd returns is new and owned by the OwnedFd.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in signals {
            libc::sigaddset(&mut set, *signal);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return None;
        }
        let flags = libc::SFD_CLOEXEC | if nonblocking { libc::SFD_NONBLOCK } else { 0 };
        let fd = libc::signalfd(-1, &set, flags);
        (fd >= 0).then(|| std::os::fd::OwnedFd::from_raw_fd(fd))
    }
}

/// Clears the signal mask (a child must not inherit the signals its parent blocked).
pub(crate) fn unblock_all_signals() {
    // SAFETY: a local, emptied sigset_t passed by pointer for the duration of the call.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// What a program exec'd into the container must not inherit from rlxc: the signals it
/// blocked, and the SIGPIPE that Rust's runtime ignores (an ignored disposition survives
/// exec: an init that inherited it would pass it to every process of the container, where
/// `yes | head` would then never end).
pub(crate) fn reset_signals_for_exec() -> io::Result<()> {
    // SAFETY: signal(2) with a valid signal number and SIG_DFL; no handler code is involved.
    if unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    unblock_all_signals();
    Ok(())
}

/// personality(2): sets this process's execution domain (`PER_LINUX32` for a 32-bit
/// `uname -m`), which its children and execs inherit.
pub(crate) fn set_personality(persona: u32) -> io::Result<()> {
    // SAFETY: personality(2) takes an integer and changes no memory of ours.
    if unsafe { libc::personality(libc::c_ulong::from(persona)) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
pub(crate) enum Forked {
    Child,
    Parent { pid: i32, pidfd: OwnedFd },
}

/// clone3 with `namespace_flags`, a pidfd for the child, and (when given) the child placed
/// straight into the cgroup `cgroup_fd` so it never runs a moment outside it.
///
/// The caller must be single-threaded: the child continues in a copy of this process.
pub(crate) fn clone3(namespace_flags: u64, cgroup_fd: Option<RawFd>) -> io::Result<Forked> {
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

/// Gives the heap's free pages back to the kernel. The monitor is a fork of the CLI: what the
/// CLI allocated and freed (the parsed config, clap's command tree) would otherwise stay
/// resident in every monitor for the container's whole life.
pub(crate) fn release_free_heap() {
    // SAFETY: malloc_trim only returns unused heap memory; no pointer is involved.
    unsafe { libc::malloc_trim(0) };
}

/// Waits until `first` or `second` is readable (or hung up), and says which: 0 or 1. The
/// wait is restarted after a signal handler ran (EINTR).
pub(crate) fn first_readable(
    first: std::os::fd::BorrowedFd<'_>,
    second: std::os::fd::BorrowedFd<'_>,
) -> io::Result<usize> {
    use rustix::event::{poll, PollFd, PollFlags};
    let wanted = PollFlags::IN | PollFlags::HUP | PollFlags::ERR;
    loop {
        let mut fds = [PollFd::new(&first, wanted), PollFd::new(&second, wanted)];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        if let Some(ready) = fds.iter().position(|fd| !fd.revents().is_empty()) {
            return Ok(ready);
        }
    }
}

/// The time of `clock` through glibc, which uses the vDSO where the kernel offers the entry
/// and the syscall otherwise. Not rustix's `clock_gettime`: its first call panics (an assert
/// in rustix 1.1's vDSO set-up) on a kernel whose vDSO has no `__vdso_getcpu`, as
/// user-mode-linux 7.2's has not (6.12's still had one).
pub(crate) fn clock_now(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clocks passed are ones Linux always has,
    // and on an error `ts` stays zero.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    /// In a forked child (closing fds in the test harness would close its own): of three
    /// fds, only the kept middle one survives; 0-2 are never touched.
    #[test]
    fn close_fds_from_3_except_keeps_only_what_it_is_told() {
        let fds: Vec<std::fs::File> = (0..3)
            .map(|_| std::fs::File::open("/dev/null").expect("open"))
            .collect();
        let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
        let pid = super::fork().expect("fork");
        if pid == 0 {
            let open = |fd: i32| {
                // SAFETY: F_GETFD on an integer fd only reads its flags.
                unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
            };
            let code = match super::close_fds_from_3_except(&[raw[1], 1]) {
                Ok(()) if !open(raw[0]) && open(raw[1]) && !open(raw[2]) && open(2) => 0,
                _ => 1,
            };
            super::exit_child(code)
        }
        let mut status = 0;
        // SAFETY: waits for our own child into a valid c_int.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    }
}
