//! The live view's terminal: keys without Enter and without echo, drawn on the alternate
//! screen with plain ANSI sequences, and the terminal as it was when the view ends — also
//! when it ends by SIGTERM, SIGHUP, SIGINT or SIGQUIT, which arrive through a signalfd, as
//! does SIGWINCH (redraw at the new size).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use rlxc_runtime::process::SignalFd;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::termios::{tcgetattr, tcgetwinsize, tcsetattr, LocalModes, OptionalActions, Termios};

/// The alternate screen with the cursor hidden, and back.
const ENTER: &str = "\x1b[?1049h\x1b[?25l";
const LEAVE: &str = "\x1b[?25h\x1b[?1049l";
/// Cursor home; erase to the end of the line; erase to the end of the screen.
const HOME: &str = "\x1b[H";
const ERASE_LINE: &str = "\x1b[K";
const ERASE_BELOW: &str = "\x1b[J";

/// The terminal in the view's mode while this lives; restored when dropped (also when the
/// view ends with an error).
pub struct LiveTerminal {
    saved: Termios,
    /// Dropped after the terminal is restored: a signal that comes then ends the process
    /// as usual.
    signals: SignalFd,
}

/// What the view is told while it waits.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    /// Nothing before the deadline.
    Nothing,
    Keys(Vec<char>),
    /// The terminal changed its size.
    Resized,
    /// Stdin closed, or a signal to end came.
    End,
}

impl LiveTerminal {
    /// Keys arrive one by one and unechoed; Ctrl-C arrives as a key too (no ISIG).
    pub fn enter() -> io::Result<Self> {
        let signals = SignalFd::block(&[
            libc::SIGTERM,
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGWINCH,
        ])?;
        let saved = tcgetattr(io::stdin())?;
        let mut raw = saved.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG);
        tcsetattr(io::stdin(), OptionalActions::Now, &raw)?;
        let terminal = Self { saved, signals };
        write_out(ENTER)?;
        Ok(terminal)
    }

    /// Columns and rows (80x24 when the terminal does not say).
    pub fn size(&self) -> (usize, usize) {
        tcgetwinsize(io::stdout())
            .ok()
            .filter(|size| size.ws_col > 0 && size.ws_row > 0)
            .map_or((80, 24), |size| {
                (usize::from(size.ws_col), usize::from(size.ws_row))
            })
    }

    /// Replaces the screen with `lines` (as many as fit).
    pub fn draw(&self, lines: &[String]) -> io::Result<()> {
        let (_, rows) = self.size();
        let mut frame = String::from(HOME);
        for line in lines.iter().take(rows) {
            frame.push_str(line);
            frame.push_str(ERASE_LINE);
            frame.push_str("\r\n");
        }
        frame.push_str(ERASE_BELOW);
        write_out(&frame)
    }

    /// Waits until `deadline` for keys or signals. Escape sequences (arrows, function keys)
    /// are ignored.
    pub fn next_input(&self, deadline: Instant) -> io::Result<Input> {
        let left = deadline.saturating_duration_since(Instant::now());
        let stdin = io::stdin();
        let mut fds = [
            PollFd::new(&stdin, PollFlags::IN),
            PollFd::from_borrowed_fd(self.signals.fd(), PollFlags::IN),
        ];
        match poll(&mut fds, Some(&timespec(left))) {
            Ok(0) | Err(rustix::io::Errno::INTR) => return Ok(Input::Nothing),
            Ok(_) => {}
            Err(error) => return Err(error.into()),
        }
        if !fds[1].revents().is_empty() {
            return Ok(self.signalled());
        }
        let mut buffer = [0u8; 32];
        let read = stdin.lock().read(&mut buffer)?;
        let bytes = &buffer[..read];
        Ok(match bytes.first() {
            None => Input::End,
            Some(0x1b) => Input::Nothing,
            Some(_) => Input::Keys(bytes.iter().map(|&b| char::from(b)).collect()),
        })
    }

    /// Every pending signal: a resize alone redraws, anything else ends the view.
    fn signalled(&self) -> Input {
        let mut input = Input::Nothing;
        while let Some(signal) = self.signals.next() {
            if signal != libc::SIGWINCH {
                return Input::End;
            }
            input = Input::Resized;
        }
        input
    }
}

impl Drop for LiveTerminal {
    fn drop(&mut self) {
        let _ = write_out(LEAVE);
        let _ = tcsetattr(io::stdin(), OptionalActions::Now, &self.saved);
    }
}

fn timespec(duration: Duration) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(duration.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: i64::from(duration.subsec_nanos()),
    }
}

fn write_out(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}
