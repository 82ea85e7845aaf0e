//! The parent's side once the command runs: wait for it on its pidfd, forward the signals we
//! get to it, and with a pty relay between the user's terminal and the pty master (window
//! size on SIGWINCH). One poll loop, no threads, no timers.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use rustix::process::{pidfd_send_signal, Signal, WaitId, WaitIdOptions};

use super::pty::{copy_window_size, RawMode};
use super::Exit;
use crate::process::SignalFd;

/// Signals passed on to the command rather than ending attach; SIGWINCH resizes the pty.
pub(crate) const FORWARDED: [libc::c_int; 6] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// The user's side of a pty session.
pub(crate) struct Terminal {
    pub master: OwnedFd,
    /// stdin is a terminal: its keys go to the master.
    pub relay_input: bool,
    /// Where the master's output goes: our stdout or stderr, whichever is a terminal. None
    /// when neither is (only stdin is): the echo of the keys is then dropped.
    pub output: Option<OwnedFd>,
    /// A terminal of ours (a duplicate of the stdio fd), for raw mode and the window size.
    pub user_terminal: OwnedFd,
    /// `attach -L`: the output is appended here too.
    pub log: Option<std::fs::File>,
}

/// Waits for the command to end and returns how it ended.
pub(crate) fn wait(
    child: &OwnedFd,
    signals: &SignalFd,
    terminal: Option<Terminal>,
) -> io::Result<Exit> {
    let _raw = match terminal.as_ref().filter(|t| t.relay_input) {
        Some(t) => Some(RawMode::enter(t.user_terminal.try_clone()?)),
        None => None,
    };
    if let Some(t) = &terminal {
        copy_window_size(&t.user_terminal, &t.master);
        rustix::fs::fcntl_setfl(&t.master, rustix::fs::OFlags::NONBLOCK)?;
    }
    let mut session = Session {
        terminal,
        master_open: true,
        input_open: true,
        pending: Vec::new(),
    };
    loop {
        let ready = session.poll_once(child, signals)?;
        if ready.child_exited {
            break;
        }
    }
    session.drain_master();
    let status = rustix::process::waitid(WaitId::PidFd(child.as_fd()), WaitIdOptions::EXITED)?
        .ok_or_else(|| io::Error::other("the command's status was not available"))?;
    Ok(match status.terminating_signal() {
        Some(signal) => Exit::Signal(signal),
        None => Exit::Code(status.exit_status().unwrap_or(0)),
    })
}

struct Session {
    terminal: Option<Terminal>,
    master_open: bool,
    input_open: bool,
    /// Keys read from the user but not yet taken by the master.
    pending: Vec<u8>,
}

struct Ready {
    child_exited: bool,
}

impl Session {
    fn poll_once(&mut self, child: &OwnedFd, signals: &SignalFd) -> io::Result<Ready> {
        let stdin = io::stdin();
        let (mut master_in, mut master_out, mut input) = (None, None, None);
        let mut fds = vec![
            PollFd::new(child, PollFlags::IN),
            PollFd::from_borrowed_fd(signals.fd(), PollFlags::IN),
        ];
        if let Some(t) = &self.terminal {
            if self.master_open {
                master_in = Some(fds.len());
                let mut flags = PollFlags::IN;
                if !self.pending.is_empty() {
                    master_out = master_in;
                    flags |= PollFlags::OUT;
                }
                fds.push(PollFd::new(&t.master, flags));
            }
            if t.relay_input && self.input_open && self.pending.is_empty() {
                input = Some(fds.len());
                fds.push(PollFd::new(&stdin, PollFlags::IN));
            }
        }
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(Errno::INTR) => {
                return Ok(Ready {
                    child_exited: false,
                })
            }
            Err(e) => return Err(e.into()),
        }
        let fired = |i: Option<usize>, what: PollFlags| {
            i.is_some_and(|i: usize| {
                fds[i]
                    .revents()
                    .intersects(what | PollFlags::HUP | PollFlags::ERR)
            })
        };
        let child_exited = !fds[0].revents().is_empty();
        let got_signal = !fds[1].revents().is_empty();
        let master_readable = fired(master_in, PollFlags::IN);
        let master_writable = fired(master_out, PollFlags::OUT);
        let input_readable = fired(input, PollFlags::IN);
        drop(fds);
        if got_signal {
            self.handle_signals(child, signals);
        }
        if master_readable {
            self.copy_master_output();
        }
        if master_writable {
            self.flush_pending();
        }
        if input_readable {
            self.read_input();
        }
        Ok(Ready { child_exited })
    }

    fn handle_signals(&self, child: &OwnedFd, signals: &SignalFd) {
        while let Some(signal) = signals.next() {
            if signal == libc::SIGWINCH {
                if let Some(t) = &self.terminal {
                    copy_window_size(&t.user_terminal, &t.master);
                }
            } else if let Some(signal) = Signal::from_named_raw(signal) {
                let _ = pidfd_send_signal(child, signal);
            }
        }
    }

    /// Moves what the command wrote from the master to the user; false when nothing was there.
    fn copy_master_output(&mut self) -> bool {
        let Some(t) = &self.terminal else {
            return false;
        };
        let mut buffer = [0u8; 8192];
        match rustix::io::read(&t.master, &mut buffer) {
            Ok(0) | Err(Errno::IO) => {
                // Every slave is closed (EIO is how a pty master says so).
                self.master_open = false;
                false
            }
            Ok(n) => {
                if let Some(output) = &t.output {
                    write_all(output, &buffer[..n]);
                }
                if let Some(log) = &t.log {
                    write_all(log, &buffer[..n]);
                }
                true
            }
            Err(_) => false,
        }
    }

    fn flush_pending(&mut self) {
        let Some(t) = &self.terminal else {
            return;
        };
        match rustix::io::write(&t.master, &self.pending) {
            Ok(n) => {
                self.pending.drain(..n);
            }
            Err(Errno::AGAIN | Errno::INTR) => {}
            Err(_) => self.pending.clear(),
        }
    }

    fn read_input(&mut self) {
        let mut buffer = [0u8; 4096];
        match rustix::io::read(io::stdin(), &mut buffer) {
            Ok(0) | Err(_) => self.input_open = false,
            Ok(n) => {
                self.pending.extend_from_slice(&buffer[..n]);
                self.flush_pending();
            }
        }
    }

    /// The command has exited: show what it wrote last, without waiting for its background
    /// children that may still hold the pty.
    /// Bounded, so a background process that keeps writing cannot keep attach alive.
    fn drain_master(&mut self) {
        const MAX_READS: usize = 256;
        for _ in 0..MAX_READS {
            if !self.master_open || !self.copy_master_output() {
                break;
            }
        }
    }
}

/// Writes all of `bytes` to the user's terminal; a terminal that went away loses the rest.
fn write_all(fd: impl AsFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        match rustix::io::write(&fd, bytes) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::INTR) => {}
            Err(_) => return,
        }
    }
}
