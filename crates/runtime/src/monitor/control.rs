//! The monitor's control socket: `RUN_DIR/monitor.sock`, a unix stream socket. A client sends
//! one JSON request line and reads one JSON response line; a console request then turns the
//! connection into a raw byte relay to the pty.

use std::io::{BufRead, BufReader, IoSlice, IoSliceMut, Write};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};

use crate::state::State;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The container's state and init pid.
    Status,
    /// Relay the console (`tty` 0) or tty N over this connection.
    Console { tty: u32 },
    /// `lxc-console`'s default (`-t -1`): relay the first tty no client holds, or the console
    /// where the container has no ttys (`lxc.tty.max = 0`).
    FreeTty,
    /// Hand the seccomp listener that comes with this line (SCM_RIGHTS) to the /proc view's
    /// server: the sysinfo calls of an attached process.
    SysinfoListener,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Status {
        state: State,
        init_pid: i32,
    },
    /// The relay starts after this line.
    ConsoleAttached {
        tty: u32,
    },
    /// The monitor keeps the listener and its server answers from now on.
    ListenerTaken,
    Refused {
        reason: String,
    },
}

/// Why talking to a monitor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    #[error("the container is not running (no monitor at {path})")]
    NotRunning { path: String },
    #[error("talking to the monitor: {0}")]
    Io(std::io::Error),
    #[error("the monitor answered something rlxc does not understand: {0}")]
    Format(serde_json::Error),
    #[error("{0}")]
    Refused(String),
    /// The caller's `interrupt` fd became readable (a signal) before the monitor answered.
    #[error("interrupted while waiting for the monitor's answer")]
    Interrupted,
    /// A monitor answers at once; one that does not is stopped (SIGSTOP) or stuck.
    #[error(
        "the monitor did not answer within {}s (it may be stopped or stuck; `rlxc stop -k` \
         still stops the container)",
        ANSWER_LIMIT.as_secs()
    )]
    NoAnswer,
}

/// How long a verb waits for the monitor's answer to a request.
pub const ANSWER_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

crate::error::from_cause!(std::io::Error => ControlError::Io);
crate::error::from_cause!(serde_json::Error => ControlError::Format);

/// Sends one request and returns the response and the connection (for a console relay).
pub fn request(socket: &Path, request: &Request) -> Result<(Response, UnixStream), ControlError> {
    request_with_fd(socket, request, None, None)
}

/// Hands an attached process's sysinfo listener to the monitor: `Ok` only once the monitor
/// has it. The wait for its answer ends early, with [`ControlError::Interrupted`], when
/// `interrupt` becomes readable (attach's signalfd: a stopped monitor must not keep attach
/// from ending on SIGTERM).
pub fn hand_over_listener(
    socket: &Path,
    listener: BorrowedFd<'_>,
    interrupt: BorrowedFd<'_>,
) -> Result<(), ControlError> {
    match request_with_fd(
        socket,
        &Request::SysinfoListener,
        Some(listener),
        Some(interrupt),
    )? {
        (Response::ListenerTaken, _) => Ok(()),
        (other, _) => Err(ControlError::Refused(format!(
            "unexpected answer {other:?}"
        ))),
    }
}

/// The request line goes in one sendmsg with `fd` (if any) attached to its bytes.
fn request_with_fd(
    socket: &Path,
    request: &Request,
    fd: Option<BorrowedFd<'_>>,
    interrupt: Option<BorrowedFd<'_>>,
) -> Result<(Response, UnixStream), ControlError> {
    let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            ControlError::NotRunning {
                path: socket.display().to_string(),
            }
        }
        _ => ControlError::Io(e),
    })?;
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    let fds: Vec<_> = fd.into_iter().collect();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() {
        control.push(SendAncillaryMessage::ScmRights(&fds));
    }
    let sent = sendmsg(
        &stream,
        &[IoSlice::new(&line)],
        &mut control,
        SendFlags::NOSIGNAL,
    )
    .map_err(std::io::Error::from)?;
    // The fd went with the first bytes; the rest (a line is short, so rarely any) follows.
    (&stream).write_all(&line[sent..])?;
    wait_for_answer(&stream, interrupt)?;
    stream.set_read_timeout(Some(ANSWER_LIMIT))?;
    let response = read_line(&stream).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ControlError::NoAnswer,
        _ => ControlError::Io(e),
    })?;
    // What follows (a console relay) has no time limit.
    stream.set_read_timeout(None)?;
    match serde_json::from_str(&response)? {
        Response::Refused { reason } => Err(ControlError::Refused(reason)),
        response => Ok((response, stream)),
    }
}

/// Waits (at most [`ANSWER_LIMIT`]) until the monitor's answer is there, or `interrupt`
/// (attach's signalfd) is readable.
fn wait_for_answer(
    stream: &UnixStream,
    interrupt: Option<BorrowedFd<'_>>,
) -> Result<(), ControlError> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let wanted = PollFlags::IN | PollFlags::HUP | PollFlags::ERR;
    let deadline = std::time::Instant::now() + ANSWER_LIMIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(ControlError::NoAnswer);
        }
        let limit = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = vec![PollFd::new(stream, wanted)];
        fds.extend(interrupt.iter().map(|fd| PollFd::new(fd, wanted)));
        match poll(&mut fds, Some(&limit)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(ControlError::Io(e.into())),
        }
        if fds.get(1).is_some_and(|fd| !fd.revents().is_empty()) {
            return Err(ControlError::Interrupted);
        }
        return Ok(());
    }
}

/// Reads one line byte by byte, so nothing after it (relay data) is swallowed by a buffer.
pub(crate) fn read_line(stream: &UnixStream) -> std::io::Result<String> {
    let mut reader = BufReader::with_capacity(1, stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(line)
}

/// The monitor's read of a request's bytes, with any fds that came along (close-on-exec).
/// `Ok(0)` is the end of the stream.
pub(crate) fn read_with_fds(
    stream: &UnixStream,
    buffer: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> std::io::Result<usize> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = recvmsg(
        stream,
        &mut [IoSliceMut::new(buffer)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    Ok(received.bytes)
}
