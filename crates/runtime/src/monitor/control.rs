//! The monitor's control socket: `RUN_DIR/monitor.sock`, a unix stream socket. A client sends
//! one JSON request line and reads one JSON response line; a console request then turns the
//! connection into a raw byte relay to the pty.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::state::State;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The container's state and init pid.
    Status,
    /// Relay the console (`tty` 0) or tty N over this connection.
    Console { tty: u32 },
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
    Io(#[from] std::io::Error),
    #[error("the monitor answered something rlxc does not understand: {0}")]
    Format(#[from] serde_json::Error),
    #[error("{0}")]
    Refused(String),
}

/// Sends one request and returns the response and the connection (for a console relay).
pub fn request(socket: &Path, request: &Request) -> Result<(Response, UnixStream), ControlError> {
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            ControlError::NotRunning {
                path: socket.display().to_string(),
            }
        }
        _ => ControlError::Io(e),
    })?;
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let response = read_line(&stream)?;
    match serde_json::from_str(&response)? {
        Response::Refused { reason } => Err(ControlError::Refused(reason)),
        response => Ok((response, stream)),
    }
}

/// Reads one line byte by byte, so nothing after it (relay data) is swallowed by a buffer.
pub(crate) fn read_line(stream: &UnixStream) -> std::io::Result<String> {
    let mut reader = BufReader::with_capacity(1, stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(line)
}
