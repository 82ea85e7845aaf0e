//! Log set-up from the common options, as LXC does it: ERROR and worse to stderr by default,
//! `-l LEVEL` to change the level, `-o FILE` to log to a file instead, `-q` to keep stderr quiet.
//!
//! A few lines of our own rather than a `tracing` subscriber: the CLI logs a handful of
//! warnings and one debug line, and the subscriber's registry cost every command a 32 KiB
//! zeroed allocation, which each monitor (a fork of the CLI) then kept for the container's
//! whole life, besides the binary's size.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};

use anyhow::Context;
use rlxc_runtime::utc::UtcTime;

use crate::common::{CommonOpts, LogPriority};

static LOG: OnceLock<Log> = OnceLock::new();

struct Log {
    threshold: LogPriority,
    output: Output,
}

enum Output {
    /// A terminal already has its own clock: no timestamps; colour where it is a terminal.
    Stderr { colour: bool },
    /// Appended, like LXC's log file, so a restart keeps the previous run's story.
    File(Mutex<File>),
}

pub fn init(common: &CommonOpts) -> anyhow::Result<()> {
    let output = match &common.logfile {
        Some(path) => Output::File(Mutex::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?,
        )),
        None if common.quiet => return Ok(()),
        None => Output::Stderr {
            colour: std::io::stderr().is_terminal(),
        },
    };
    // Set once per process: a second call keeps the first set-up.
    let _ = LOG.set(Log {
        threshold: common.logpriority,
        output,
    });
    Ok(())
}

/// Writes one line at `priority` if the set-up asks for it; the message is only formatted
/// then. Use through [`log_warn!`] and [`log_debug!`].
pub fn write(priority: LogPriority, message: fmt::Arguments<'_>) {
    let Some(log) = LOG.get().filter(|log| priority >= log.threshold) else {
        return;
    };
    let name = priority.lxc_name();
    // Errors writing the log are dropped: there is nowhere left to report them.
    let _ = match &log.output {
        Output::Stderr { colour: true } => {
            let colour = match priority {
                LogPriority::Trace | LogPriority::Debug => "34",
                LogPriority::Info | LogPriority::Notice => "32",
                LogPriority::Warn => "33",
                _ => "31",
            };
            writeln!(
                std::io::stderr(),
                "\x1b[{colour}m{name:>6}\x1b[0m {message}"
            )
        }
        Output::Stderr { colour: false } => writeln!(std::io::stderr(), "{name:>6} {message}"),
        Output::File(file) => match file.lock() {
            Ok(mut file) => writeln!(file, "{} {name:>6} {message}", UtcTime::now().rfc3339()),
            Err(_) => Ok(()),
        },
    };
}

macro_rules! log_warn {
    ($($arg:tt)*) => {
        $crate::logging::write($crate::common::LogPriority::Warn, format_args!($($arg)*))
    };
}

macro_rules! log_debug {
    ($($arg:tt)*) => {
        $crate::logging::write($crate::common::LogPriority::Debug, format_args!($($arg)*))
    };
}

pub(crate) use {log_debug, log_warn};
