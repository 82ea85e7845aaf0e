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
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;

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
            Ok(mut file) => writeln!(file, "{} {name:>6} {message}", utc_now()),
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

/// Now as an RFC 3339 UTC timestamp with microseconds.
fn utc_now() -> String {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339_utc(since_epoch.as_secs(), since_epoch.subsec_micros())
}

/// `seconds` since the epoch as `YYYY-MM-DDThh:mm:ss.uuuuuuZ`: the civil date from the day
/// count by the usual era arithmetic (400-year eras of 146097 days, years from March).
fn rfc3339_utc(seconds: u64, micros: u32) -> String {
    let days = seconds / 86_400;
    let of_day = seconds % 86_400;
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::rfc3339_utc;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(rfc3339_utc(0, 0), "1970-01-01T00:00:00.000000Z");
        // A leap day, its last second, the day after, and the turn of a century that is a leap year.
        assert_eq!(rfc3339_utc(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(
            rfc3339_utc(951_868_799, 999_999),
            "2000-02-29T23:59:59.999999Z"
        );
        assert_eq!(rfc3339_utc(951_868_800, 0), "2000-03-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339_utc(1_795_957_512, 123_456),
            "2026-11-29T13:05:12.123456Z"
        );
        // 2100 is not a leap year.
        assert_eq!(rfc3339_utc(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
    }
}
