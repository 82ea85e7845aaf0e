//! The console and ttys as the monitor holds them: the pty master, the log file, and at most
//! one attached client. The monitor always drains the console, so init never blocks on it;
//! what a slow client cannot take right away is dropped, so memory never grows.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// One pty the monitor holds: index 0 is the console, N is ttyN.
#[derive(Debug)]
pub(crate) struct Pty {
    pub index: u32,
    pub master: File,
    pub client: Option<UnixStream>,
    pub log: Option<ConsoleLog>,
}

impl Pty {
    pub fn new(index: u32, master: OwnedFd) -> Pty {
        let master = File::from(master);
        Pty {
            index,
            master,
            client: None,
            log: None,
        }
    }

    /// Reads what the container wrote and passes it on; false when the pty is gone.
    pub fn pump_output(&mut self) -> bool {
        // A pty's line discipline hands out at most 4096 bytes a read (N_TTY_BUF_SIZE); a
        // bigger buffer would only dirty more of the monitor's stack, for its whole life.
        let mut buffer = [0u8; 4096];
        match self.master.read(&mut buffer) {
            Ok(0) => false,
            Ok(n) => {
                let data = &buffer[..n];
                if let Some(log) = &mut self.log {
                    log.append(data);
                }
                if let Some(client) = &mut self.client {
                    // Non-blocking: a client that cannot keep up loses output, init never waits.
                    match client.write(data) {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                        Err(_) => self.client = None,
                    }
                }
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                true
            }
            // EIO: nobody has the slave open right now (between gettys); keep the pty.
            Err(_) => true,
        }
    }

    /// Reads what the client typed and passes it to the container; false when it left.
    pub fn pump_input(&mut self) -> bool {
        let Some(client) = &mut self.client else {
            return false;
        };
        let mut buffer = [0u8; 4096];
        match client.read(&mut buffer) {
            Ok(0) => false,
            Ok(n) => {
                let _ = self.master.write(&buffer[..n]);
                true
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                true
            }
            Err(_) => false,
        }
    }
}

/// `lxc.console.logfile`, capped at `lxc.console.size` (then rotated to `.1` or restarted).
#[derive(Debug)]
pub(crate) struct ConsoleLog {
    path: PathBuf,
    file: File,
    written: u64,
    limit: Option<u64>,
    rotate: bool,
}

impl ConsoleLog {
    pub fn open(path: PathBuf, limit: Option<u64>, rotate: bool) -> std::io::Result<ConsoleLog> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(ConsoleLog {
            path,
            file,
            written,
            limit,
            rotate,
        })
    }

    fn append(&mut self, data: &[u8]) {
        if let Some(limit) = self.limit {
            if self.written + data.len() as u64 > limit {
                self.start_over();
            }
        }
        if self.file.write_all(data).is_ok() {
            self.written += data.len() as u64;
        }
    }

    /// Keeps the log within its limit: the old content moves to `FILE.1` or is dropped.
    fn start_over(&mut self) {
        if self.rotate {
            let mut rotated = self.path.clone().into_os_string();
            rotated.push(".1");
            let _ = std::fs::rename(&self.path, rotated);
        }
        if let Ok(file) = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&self.path)
        {
            self.file = file;
            self.written = 0;
        }
    }
}
