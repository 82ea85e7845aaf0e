//! The `unsafe` of container creation: catching SIGINT/SIGTERM/SIGHUP while a create runs, so
//! an interrupted create can remove its half-built directory instead of dying with it.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked a running create to stop, or 0.
static INTERRUPTED_BY: AtomicI32 = AtomicI32::new(0);

/// The signals a user (Ctrl-C), a service manager or a closing terminal stops a create with.
const CAUGHT: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

extern "C" fn note_signal(signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED_BY.store(signal, Ordering::SeqCst);
}

/// While alive, SIGINT, SIGTERM and SIGHUP only set a flag ([`interrupted_by`]); dropping it
/// puts the previous handlers back.
///
/// The handlers are installed without `SA_RESTART`, so a read blocked on a slow source (a pipe,
/// a FIFO, NFS) returns `EINTR` and the reader sees the flag instead of waiting on.
pub(crate) struct InterruptCatcher {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl InterruptCatcher {
    pub(crate) fn install() -> io::Result<InterruptCatcher> {
        INTERRUPTED_BY.store(0, Ordering::SeqCst);
        let mut catcher = InterruptCatcher {
            previous: Vec::new(),
        };
        for signal in CAUGHT {
            // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags) that we
            // fill in before use.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = note_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            // SAFETY: zeroed above, so previous is a valid out-parameter; the handler only
            // stores to an atomic, which is async-signal-safe.
            let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: `action.sa_mask` is a valid sigset_t owned by us.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: both pointers point at live, properly initialised sigaction values.
            if unsafe { libc::sigaction(signal, &action, &mut previous) } != 0 {
                return Err(io::Error::last_os_error());
            }
            catcher.previous.push((signal, previous));
        }
        Ok(catcher)
    }
}

impl Drop for InterruptCatcher {
    fn drop(&mut self) {
        for (signal, previous) in self.previous.drain(..) {
            // SAFETY: `previous` is the action the kernel gave us for this very signal.
            unsafe { libc::sigaction(signal, &previous, std::ptr::null_mut()) };
        }
    }
}

/// The signal that interrupted the running create, if one did.
pub(crate) fn interrupted_by() -> Option<i32> {
    match INTERRUPTED_BY.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The signal's name as `kill -l` spells it, for messages.
pub(crate) fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        other => format!("signal {other}"),
    }
}
