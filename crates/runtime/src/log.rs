//! The log of rlxc's processes, LXC's way: lines at or above a threshold (`-l`,
//! `lxc.log.level`; ERROR by default) appended to a file (`-o`, `lxc.log.file`), copied to
//! stderr, and to syslog (`lxc.log.syslog`). One writer for the CLI and the monitor (a fork
//! of the CLI, which installs its own [`Logger`] over the CLI's).
//!
//! A few lines of our own rather than a `tracing` subscriber: the subscriber's registry cost
//! every command a 32 KiB zeroed allocation, which each monitor then kept for the
//! container's whole life, besides the binary's size. A line is formatted only when some
//! output takes it, and written with one `write(2)`, so the lines of the CLI and of its
//! monitor appending to one file do not interleave.

use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

pub use rlxc_config::values::{LogLevel, SyslogFacility};

use crate::utc::UtcTime;

/// Where syslog(3) sends its lines.
pub const SYSLOG_SOCKET: &str = "/dev/log";

/// The process's logger; replaced, not stacked, by [`Logger::install`]. A mutex is sound
/// across the forks: rlxc forks only from a single-threaded process.
static LOG: Mutex<Option<Logger>> = Mutex::new(None);

/// Where one process's log lines go.
#[derive(Debug)]
pub struct Logger {
    threshold: LogLevel,
    /// `rlxc start`, `lxc-stop`, `rlxc-monitor`: who wrote a line.
    program: String,
    /// The container the lines are about, when there is one.
    name: Option<String>,
    /// Appended, like LXC's log file, so a restart keeps the previous run's story.
    file: Option<File>,
    stderr: Option<StderrCopy>,
    syslog: Option<Syslog>,
    /// The monitor's: records a failed write to `file`, for `rlxc info`.
    recorder: Option<crate::unwritten::Recorder>,
}

/// Lines for a terminal: no timestamps (it has its own clock), colour where it is one.
#[derive(Debug)]
struct StderrCopy {
    /// The least a line must be to be copied here, on top of the threshold.
    from: LogLevel,
    colour: bool,
}

/// A datagram socket connected to syslog's, and the facility the lines carry.
#[derive(Debug)]
pub struct Syslog {
    socket: UnixDatagram,
    facility: SyslogFacility,
}

impl Syslog {
    /// Connects to [`SYSLOG_SOCKET`]; fails where no syslog daemon listens.
    pub fn connect(facility: SyslogFacility) -> std::io::Result<Syslog> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(SYSLOG_SOCKET)?;
        Ok(Syslog { socket, facility })
    }
}

/// Opens `path` to append log lines to, creating it (mode 0640, as LXC's own are private
/// to the host's admins) where it is missing.
pub fn open_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

impl Logger {
    pub fn new(threshold: LogLevel, program: impl Into<String>, name: Option<String>) -> Logger {
        Logger {
            threshold,
            program: program.into(),
            name,
            file: None,
            stderr: None,
            syslog: None,
            recorder: None,
        }
    }

    pub fn with_file(mut self, file: File) -> Logger {
        self.file = Some(file);
        self
    }

    /// Also (or only) stderr, for lines at `from` or worse.
    pub fn with_stderr(mut self, from: LogLevel) -> Logger {
        self.stderr = Some(StderrCopy {
            from,
            colour: std::io::stderr().is_terminal(),
        });
        self
    }

    pub fn with_syslog(mut self, syslog: Syslog) -> Logger {
        self.syslog = Some(syslog);
        self
    }

    /// Records a write to the file that fails (see [`crate::unwritten`]).
    pub fn with_recorder(mut self, recorder: crate::unwritten::Recorder) -> Logger {
        self.recorder = Some(recorder);
        self
    }

    /// Makes this the process's logger, in place of any before (whose file is closed).
    pub fn install(self) {
        *LOG.lock().unwrap_or_else(PoisonError::into_inner) = Some(self);
    }

    fn write(&mut self, level: LogLevel, message: fmt::Arguments<'_>) {
        if level < self.threshold {
            return;
        }
        let to_stderr = self.stderr.as_ref().filter(|copy| level >= copy.from);
        if self.file.is_none() && self.syslog.is_none() && to_stderr.is_none() {
            return;
        }
        let message = message.to_string();
        // A failed write is recorded where a recorder is (the monitor's log, for `info`);
        // there is nowhere else left to report it.
        if let Some(mut file) = self.file.as_ref() {
            let written =
                file.write_all(self.file_line(UtcTime::now(), level, &message).as_bytes());
            if let Some(recorder) = &mut self.recorder {
                recorder.wrote(&written);
            }
        }
        if let Some(syslog) = &self.syslog {
            let _ = syslog
                .socket
                .send(self.syslog_line(syslog, level, &message).as_bytes());
        }
        if let Some(copy) = to_stderr {
            let _ =
                std::io::stderr().write_all(stderr_line(copy.colour, level, &message).as_bytes());
        }
    }

    /// `2026-12-07T08:04:01.470123Z  ERROR rlxc-monitor web: MESSAGE`
    fn file_line(&self, time: UtcTime, level: LogLevel, message: &str) -> String {
        let mut line = format!("{} {:>6} {}", time.rfc3339(), level.name(), self.program);
        if let Some(name) = &self.name {
            let _ = write!(line, " {name}");
        }
        let _ = writeln!(line, ": {message}");
        line
    }

    /// RFC 3164 without the timestamp, which the syslog daemon adds (ours is UTC, the
    /// header's is local time): `<PRI>TAG[PID]: NAME: MESSAGE`.
    fn syslog_line(&self, syslog: &Syslog, level: LogLevel, message: &str) -> String {
        let priority = syslog.facility.raw() | severity(level);
        // A tag is one word: `rlxc start` becomes `rlxc-start`.
        let tag = self.program.replace(' ', "-");
        let mut line = format!("<{priority}>{tag}[{}]: ", std::process::id());
        if let Some(name) = &self.name {
            let _ = write!(line, "{name}: ");
        }
        line.push_str(message);
        line
    }
}

fn stderr_line(colour: bool, level: LogLevel, message: &str) -> String {
    let name = level.name();
    if !colour {
        return format!("{name:>6} {message}\n");
    }
    let colour = match level {
        LogLevel::Trace | LogLevel::Debug => "34",
        LogLevel::Info | LogLevel::Notice => "32",
        LogLevel::Warn => "33",
        _ => "31",
    };
    format!("\x1b[{colour}m{name:>6}\x1b[0m {message}\n")
}

/// syslog(3)'s severity for an LXC level, as LXC's syslog appender maps them.
fn severity(level: LogLevel) -> i32 {
    match level {
        LogLevel::Trace | LogLevel::Debug => libc::LOG_DEBUG,
        LogLevel::Info => libc::LOG_INFO,
        LogLevel::Notice => libc::LOG_NOTICE,
        LogLevel::Warn => libc::LOG_WARNING,
        LogLevel::Error => libc::LOG_ERR,
        LogLevel::Crit => libc::LOG_CRIT,
        LogLevel::Alert => libc::LOG_ALERT,
        LogLevel::Fatal => libc::LOG_EMERG,
    }
}

/// Writes one line at `level` where the process's logger takes it; the message is only
/// formatted then. Use through [`log_error!`](crate::log_error) and its siblings.
pub fn write(level: LogLevel, message: fmt::Arguments<'_>) {
    let mut log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(logger) = log.as_mut() {
        logger.write(level, message);
    }
}

#[macro_export]
macro_rules! log_error {
    ($($arg:tt)*) => {
        $crate::log::write($crate::log::LogLevel::Error, format_args!($($arg)*))
    };
}

#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)*) => {
        $crate::log::write($crate::log::LogLevel::Warn, format_args!($($arg)*))
    };
}

#[macro_export]
macro_rules! log_info {
    ($($arg:tt)*) => {
        $crate::log::write($crate::log::LogLevel::Info, format_args!($($arg)*))
    };
}

#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)*) => {
        $crate::log::write($crate::log::LogLevel::Debug, format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn at(seconds: u64) -> UtcTime {
        UtcTime::of(UNIX_EPOCH + Duration::from_secs(seconds))
    }

    #[test]
    fn file_lines_carry_the_time_level_program_and_container() {
        let logger = Logger::new(LogLevel::Info, "rlxc-monitor", Some("web".into()));
        assert_eq!(
            logger.file_line(at(951_782_400), LogLevel::Error, "lxc.hook.stop failed"),
            "2000-02-29T00:00:00.000000Z  ERROR rlxc-monitor web: lxc.hook.stop failed\n"
        );
        let cli = Logger::new(LogLevel::Info, "rlxc ls", None);
        assert_eq!(
            cli.file_line(at(0), LogLevel::Warn, "odd"),
            "1970-01-01T00:00:00.000000Z   WARN rlxc ls: odd\n"
        );
    }

    #[test]
    fn syslog_lines_are_rfc3164_with_facility_and_severity() {
        let (socket, _peer) = UnixDatagram::pair().expect("socketpair");
        let syslog = Syslog {
            socket,
            facility: SyslogFacility::Local3,
        };
        let logger = Logger::new(LogLevel::Info, "rlxc start", Some("web".into()));
        // local3 is 19 << 3 = 152; ERROR is LOG_ERR (3), FATAL is LOG_EMERG (0).
        assert_eq!(
            logger.syslog_line(&syslog, LogLevel::Error, "boom"),
            format!("<155>rlxc-start[{}]: web: boom", std::process::id())
        );
        assert!(logger
            .syslog_line(&syslog, LogLevel::Fatal, "x")
            .starts_with("<152>"));
        assert!(logger
            .syslog_line(&syslog, LogLevel::Trace, "x")
            .starts_with("<159>"));
    }

    #[test]
    fn lines_below_the_threshold_go_nowhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let (socket, peer) = UnixDatagram::pair().expect("socketpair");
        peer.set_nonblocking(true).expect("nonblocking");
        let mut logger = Logger::new(LogLevel::Warn, "rlxc-monitor", Some("web".into()))
            .with_file(open_file(&path).expect("open"))
            .with_syslog(Syslog {
                socket,
                facility: SyslogFacility::Daemon,
            });
        logger.write(LogLevel::Info, format_args!("quiet"));
        logger.write(LogLevel::Warn, format_args!("loud"));
        let text = std::fs::read_to_string(&path).expect("log");
        assert!(!text.contains("quiet") && text.ends_with("WARN rlxc-monitor web: loud\n"));
        let mut buffer = [0u8; 256];
        let got = peer.recv(&mut buffer).expect("a datagram");
        assert!(String::from_utf8_lossy(&buffer[..got]).ends_with("web: loud"));
        assert!(
            peer.recv(&mut buffer).is_err(),
            "only one line reached syslog"
        );
    }
}
