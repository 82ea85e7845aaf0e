//! attach's `unsafe`: fork, exec, `_exit`, the signal mask and signalfd — the calls rustix
//! lacks. Each is wrapped so the rest of the module stays safe.

use std::io;

pub(crate) use crate::sys::{cloexec_from_3, close_fds_from_3_except, exit_child};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Which side of a fork we are on.
pub(crate) enum Forked {
    Child,
    Parent { pid: i32 },
}

/// fork(2), into the cgroup2 directory `cgroup` when given (clone3 with
/// `CLONE_INTO_CGROUP`). The caller must be single-threaded (attach checks
/// `/proc/self/task` first): the child is a copy of this one thread, so no lock (malloc's
/// included) can be held by a thread that does not exist in the child, and the child may
/// allocate and run ordinary Rust code.
pub(crate) fn fork_into(cgroup: Option<RawFd>) -> io::Result<Forked> {
    match crate::sys::clone3(0, cgroup)? {
        crate::sys::Forked::Child => Ok(Forked::Child),
        crate::sys::Forked::Parent { pid, .. } => Ok(Forked::Parent { pid }),
    }
}

/// Forks a sibling: a child of our parent rather than of us (`clone(CLONE_PARENT)`), so the
/// parent waits for it, gets its signals forwarded and its exit status directly, while we
/// can exit. Same rules as [`fork_into`]: single-threaded caller, both sides go on in Rust.
pub(crate) fn fork_sibling() -> io::Result<Forked> {
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
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent { pid: pid as i32 }),
    }
}

/// Makes `fd` the process's descriptor `target` (0, 1 or 2).
pub(crate) fn dup_onto(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<()> {
    // SAFETY: dup2 onto one of this process's stdio numbers; `fd` stays open for the call and
    // the old `target` is replaced atomically, which is the point.
    if unsafe { libc::dup2(fd.as_raw_fd(), target) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn empty_set() -> io::Result<libc::sigset_t> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; it is read only after success.
    if unsafe { libc::sigemptyset(set.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by sigemptyset above.
    Ok(unsafe { set.assume_init() })
}

/// sigprocmask; returns the previous mask.
fn set_mask(how: libc::c_int, set: &libc::sigset_t) -> io::Result<libc::sigset_t> {
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `set` is an initialised sigset and `old` a writable one; the process is
    // single-threaded, so the process mask is this thread's mask.
    if unsafe { libc::sigprocmask(how, set, old.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigprocmask filled `old` on success.
    Ok(unsafe { old.assume_init() })
}

/// Some signals delivered as readable data instead of to handlers; the old mask comes back
/// when this is dropped.
pub struct SignalFd {
    fd: OwnedFd,
    old_mask: libc::sigset_t,
}

impl SignalFd {
    pub fn block(signals: &[libc::c_int]) -> io::Result<SignalFd> {
        let mut set = empty_set()?;
        for signal in signals {
            // SAFETY: `set` is initialised; an invalid number only makes sigaddset fail.
            if unsafe { libc::sigaddset(&mut set, *signal) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        let old_mask = set_mask(libc::SIG_BLOCK, &set)?;
        // SAFETY: -1 asks for a new signalfd for the initialised `set`.
        let raw = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
        if raw < 0 {
            let error = io::Error::last_os_error();
            let _ = set_mask(libc::SIG_SETMASK, &old_mask);
            return Err(error);
        }
        // SAFETY: signalfd returned a new fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(SignalFd { fd, old_mask })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.fd.as_fd()
    }

    /// The next pending signal, if any.
    pub fn next(&self) -> Option<libc::c_int> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reads at most `size` bytes into `info`, which has that size; the fd is
        // non-blocking, so this never waits.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
        if n != size as isize {
            return None;
        }
        // SAFETY: the kernel wrote a whole signalfd_siginfo.
        Some(unsafe { info.assume_init() }.ssi_signo as libc::c_int)
    }
}

impl Drop for SignalFd {
    fn drop(&mut self) {
        let _ = set_mask(libc::SIG_SETMASK, &self.old_mask);
    }
}
