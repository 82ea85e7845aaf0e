//! The live view's terminal: keys without Enter and without echo, drawn on the alternate
//! screen with plain ANSI sequences, and the terminal as it was when the view ends.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

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
}

impl LiveTerminal {
    /// Keys arrive one by one and unechoed; Ctrl-C arrives as a key too (no ISIG), so quitting
    /// always goes through [`Drop`].
    pub fn enter() -> io::Result<Self> {
        let saved = tcgetattr(io::stdin())?;
        let mut raw = saved.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG);
        tcsetattr(io::stdin(), OptionalActions::Now, &raw)?;
        let terminal = Self { saved };
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

    /// The keys typed before `deadline`: empty when it passed with none. Escape sequences
    /// (arrows, function keys) are ignored; `None` when stdin is closed.
    pub fn keys_until(&self, deadline: Instant) -> io::Result<Option<Vec<char>>> {
        let left = deadline.saturating_duration_since(Instant::now());
        let stdin = io::stdin();
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        let timeout = timespec(left);
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Ok(Some(Vec::new())),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(Some(Vec::new())),
            Err(error) => return Err(error.into()),
        }
        let mut buffer = [0u8; 32];
        let read = stdin.lock().read(&mut buffer)?;
        if read == 0 {
            return Ok(None);
        }
        let bytes = &buffer[..read];
        if bytes.first() == Some(&0x1b) {
            return Ok(Some(Vec::new()));
        }
        Ok(Some(bytes.iter().map(|&b| char::from(b)).collect()))
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
