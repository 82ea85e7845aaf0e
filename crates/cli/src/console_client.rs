//! The terminal end of `rlxc console` and `rlxc start -F`: the terminal in raw mode, bytes
//! relayed both ways through the monitor, `<prefix> q` to leave, `<prefix> <prefix>` to send
//! the prefix itself.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::termios::{tcgetattr, tcsetattr, OptionalActions, Termios};

/// How a console session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// The user typed the escape sequence.
    Detached,
    /// The monitor closed the connection: the container stopped.
    ContainerGone,
}

/// Puts the terminal back as it was, whatever happens.
struct RawMode {
    saved: Option<Termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(stdin.as_fd()) else {
            return RawMode { saved: None };
        };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = tcsetattr(stdin.as_fd(), OptionalActions::Now, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = tcsetattr(std::io::stdin().as_fd(), OptionalActions::Now, saved);
        }
    }
}

/// Relays stdin/stdout to `stream` until the escape or the container's end.
pub fn relay(mut stream: UnixStream, escape: u8) -> std::io::Result<SessionEnd> {
    let _raw = RawMode::enter();
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut after_prefix = false;
    let mut stdin_open = true;
    let mut buffer = [0u8; 8192];
    loop {
        let mut fds = vec![PollFd::new(&stream, PollFlags::IN)];
        if stdin_open {
            fds.push(PollFd::new(&stdin, PollFlags::IN));
        }
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let from_container = !fds[0].revents().is_empty();
        let from_user = fds.get(1).is_some_and(|fd| !fd.revents().is_empty());
        if from_container {
            let n = stream.read(&mut buffer)?;
            if n == 0 {
                return Ok(SessionEnd::ContainerGone);
            }
            stdout.write_all(&buffer[..n])?;
            stdout.flush()?;
        }
        if from_user {
            let n = stdin.lock().read(&mut buffer)?;
            if n == 0 {
                // Input ended (a pipe): keep showing output until the container ends.
                stdin_open = false;
                continue;
            }
            let mut out = Vec::with_capacity(n);
            for byte in &buffer[..n] {
                if after_prefix {
                    after_prefix = false;
                    match *byte {
                        b'q' => return Ok(SessionEnd::Detached),
                        b if b == escape => out.push(escape),
                        other => out.extend_from_slice(&[escape, other]),
                    }
                } else if *byte == escape {
                    after_prefix = true;
                } else {
                    out.push(*byte);
                }
            }
            stream.write_all(&out)?;
        }
    }
}

/// `Ctrl+a` for the byte 1, as LXC writes it.
pub fn describe_prefix(escape: u8) -> String {
    format!("Ctrl+{}", char::from(escape + b'a' - 1))
}
