//! The signal mask and signalfd: one [`SignalFd`] for every process of rlxc that takes
//! signals as data (the monitor, `execute`'s front and its tiny init, attach, `top`'s
//! terminal), and what a program exec'd into the container must not inherit.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// The signals a monitor passes on to init, the tiny init to its command, and `rlxc
/// execute` to its monitor.
pub const FORWARDED_SIGNALS: [i32; 7] = [
    libc::SIGTERM,
    libc::SIGINT,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGPWR,
];

/// How reads of a [`SignalFd`] behave when no signal is pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// `next` returns None at once (the fd is polled first).
    NonBlocking,
    /// `next` waits for a signal (the tiny init, which has nothing else to wait for).
    Waiting,
}

/// Some signals blocked and delivered as readable data instead of to handlers.
///
/// From [`SignalFd::block`], the previous mask comes back when this is dropped. From
/// [`SignalFd::block_for_life`], the signals stay blocked until the process execs (which
/// must clear the mask: [`reset_signals_for_exec`]) or exits: a monitor that has stopped
/// reading them must not be killed by one on its way out.
pub struct SignalFd {
    fd: OwnedFd,
    restore: Option<libc::sigset_t>,
}

/// One signal read from a [`SignalFd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub signal: libc::c_int,
    /// `ssi_code`: `SI_KERNEL` for one the kernel sent (a terminal's ^C reaches the whole
    /// process group), `SI_USER` for kill(2).
    pub code: i32,
}

impl SignalFd {
    /// Blocks `signals` and reads them non-blocking; the previous mask comes back on drop.
    pub fn block(signals: &[libc::c_int]) -> io::Result<SignalFd> {
        let (fd, old_mask) = block_to_fd(signals, Reads::NonBlocking)?;
        Ok(SignalFd {
            fd,
            restore: Some(old_mask),
        })
    }

    /// Blocks `signals` for the rest of this process (see the type's docs).
    pub fn block_for_life(signals: &[libc::c_int], reads: Reads) -> io::Result<SignalFd> {
        let (fd, _) = block_to_fd(signals, reads)?;
        Ok(SignalFd { fd, restore: None })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The next pending signal, if any.
    pub fn next(&self) -> Option<libc::c_int> {
        self.next_received().map(|received| received.signal)
    }

    /// The next pending signal with where it came from, if any.
    pub fn next_received(&self) -> Option<Received> {
        let mut info = MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: reads at most `size` bytes into `info`, which has that size.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
        if n != size as isize {
            return None;
        }
        // SAFETY: the kernel wrote a whole signalfd_siginfo.
        let info = unsafe { info.assume_init() };
        Some(Received {
            signal: info.ssi_signo as libc::c_int,
            code: info.ssi_code,
        })
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for SignalFd {
    fn drop(&mut self) {
        if let Some(old_mask) = &self.restore {
            let _ = set_mask(libc::SIG_SETMASK, old_mask);
        }
    }
}

/// Blocks `signals`, then makes a close-on-exec signalfd for them; returns it and the mask
/// before. On failure the mask is as it was.
fn block_to_fd(signals: &[libc::c_int], reads: Reads) -> io::Result<(OwnedFd, libc::sigset_t)> {
    let mut set = empty_set()?;
    for signal in signals {
        // SAFETY: `set` is initialised; an invalid number only makes sigaddset fail.
        if unsafe { libc::sigaddset(&mut set, *signal) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    let old_mask = set_mask(libc::SIG_BLOCK, &set)?;
    let flags = match reads {
        Reads::NonBlocking => libc::SFD_CLOEXEC | libc::SFD_NONBLOCK,
        Reads::Waiting => libc::SFD_CLOEXEC,
    };
    // SAFETY: -1 asks for a new signalfd for the initialised `set`.
    let raw = unsafe { libc::signalfd(-1, &set, flags) };
    if raw < 0 {
        let error = io::Error::last_os_error();
        let _ = set_mask(libc::SIG_SETMASK, &old_mask);
        return Err(error);
    }
    // SAFETY: signalfd returned a new fd that nothing else owns.
    Ok((unsafe { OwnedFd::from_raw_fd(raw) }, old_mask))
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
    // SAFETY: `set` is an initialised sigset and `old` a writable one; the callers are
    // single-threaded, so the process mask is this thread's mask.
    if unsafe { libc::sigprocmask(how, set, old.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: sigprocmask filled `old` on success.
    Ok(unsafe { old.assume_init() })
}

/// Spawns a helper thread with every signal blocked (it inherits the mask), so that signals
/// for the process go to the threads that handle them: a SIGINT taken by an idle helper would
/// set the handler's flag but leave the main thread's blocking read uninterrupted.
pub fn spawn_with_signals_blocked<F, T>(
    builder: std::thread::Builder,
    run: F,
) -> io::Result<std::thread::JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let mut all = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set it is given; it is read only after success.
    if unsafe { libc::sigfillset(all.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by sigfillset above.
    let all = unsafe { all.assume_init() };
    let mut old = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: valid sets; pthread_sigmask changes this thread's mask only.
    let failed = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &all, old.as_mut_ptr()) };
    if failed != 0 {
        return Err(io::Error::from_raw_os_error(failed));
    }
    // SAFETY: pthread_sigmask filled `old` on success.
    let old = unsafe { old.assume_init() };
    let spawned = builder.spawn(run);
    // SAFETY: `old` is the mask this thread had; restoring it cannot fail with a valid set.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    spawned
}

/// Clears the signal mask (a child must not inherit the signals its parent blocked).
pub fn unblock_all_signals() {
    if let Ok(empty) = empty_set() {
        let _ = set_mask(libc::SIG_SETMASK, &empty);
    }
}

/// What a program exec'd into the container must not inherit from rlxc: the signals it
/// blocked, and the SIGPIPE that Rust's runtime ignores (an ignored disposition survives
/// exec: an init that inherited it would pass it to every process of the container, where
/// `yes | head` would then never end).
pub fn reset_signals_for_exec() -> io::Result<()> {
    // SAFETY: signal(2) with a valid signal number and SIG_DFL; no handler code is involved.
    if unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    unblock_all_signals();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_helper_thread_is_spawned_with_signals_blocked_and_the_caller_keeps_its_mask() {
        let blocked = |status: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix("SigBlk:\t"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .expect("SigBlk")
        };
        let own = || std::fs::read_to_string("/proc/thread-self/status").expect("status");
        let before = blocked(&own());
        let helper = spawn_with_signals_blocked(std::thread::Builder::new(), move || {
            blocked(&std::fs::read_to_string("/proc/thread-self/status").expect("status"))
        })
        .expect("spawn")
        .join()
        .expect("join");
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            assert_ne!(
                helper & (1 << (signal - 1)),
                0,
                "signal {signal} not blocked"
            );
        }
        assert_eq!(blocked(&own()), before);
    }
}
