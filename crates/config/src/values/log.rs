//! Logging settings: `lxc.log.level` and `lxc.log.syslog`.

use std::str::FromStr;

use super::ValueError;

keyword_enum! {
    /// Log priority, most verbose first; the number LXC accepts is the position (0..=8).
    pub enum LogLevel {
        Trace = "TRACE",
        Debug = "DEBUG",
        Info = "INFO",
        Notice = "NOTICE",
        Warn = "WARN" | "WARNING",
        Error = "ERROR",
        Crit = "CRIT",
        Alert = "ALERT",
        Fatal = "FATAL",
    }
}

impl LogLevel {
    /// LXC's number for this level (TRACE = 0 … FATAL = 8).
    pub fn number(&self) -> u8 {
        *self as u8
    }
}

impl FromStr for LogLevel {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<usize>()
                .ok()
                .and_then(|n| LogLevel::ALL.get(n).copied())
                .ok_or_else(|| {
                    ValueError::new(input, "log level numbers run from 0 (TRACE) to 8 (FATAL)")
                });
        }
        LogLevel::from_word(s)
            .ok_or_else(|| super::unknown_word(input, "log level", LogLevel::WORDS))
    }
}

keyword_enum! {
    /// The syslog facilities LXC accepts for `lxc.log.syslog` (its man page lists no others).
    pub enum SyslogFacility {
        Daemon = "daemon",
        Local0 = "local0",
        Local1 = "local1",
        Local2 = "local2",
        Local3 = "local3",
        Local4 = "local4",
        Local5 = "local5",
        Local6 = "local6",
        Local7 = "local7",
    }
}
keyword_from_str!(SyslogFacility, "syslog facility");

impl SyslogFacility {
    /// The `LOG_*` facility value for `openlog(3)`.
    pub fn raw(&self) -> i32 {
        match self {
            SyslogFacility::Daemon => libc::LOG_DAEMON,
            SyslogFacility::Local0 => libc::LOG_LOCAL0,
            SyslogFacility::Local1 => libc::LOG_LOCAL1,
            SyslogFacility::Local2 => libc::LOG_LOCAL2,
            SyslogFacility::Local3 => libc::LOG_LOCAL3,
            SyslogFacility::Local4 => libc::LOG_LOCAL4,
            SyslogFacility::Local5 => libc::LOG_LOCAL5,
            SyslogFacility::Local6 => libc::LOG_LOCAL6,
            SyslogFacility::Local7 => libc::LOG_LOCAL7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn levels() {
        assert_eq!("warn".parse(), Ok(LogLevel::Warn));
        assert_eq!("WARNING".parse(), Ok(LogLevel::Warn));
        assert_eq!("0".parse(), Ok(LogLevel::Trace));
        assert_eq!("8".parse(), Ok(LogLevel::Fatal));
        assert_eq!(LogLevel::Error.number(), 5);
        assert!("9"
            .parse::<LogLevel>()
            .unwrap_err()
            .0
            .contains("0 (TRACE) to 8"));
        assert!("DEBUGG"
            .parse::<LogLevel>()
            .unwrap_err()
            .0
            .contains("did you mean 'DEBUG'"));
    }

    #[test]
    fn facilities() {
        assert_eq!("local3".parse(), Ok(SyslogFacility::Local3));
        assert_eq!(SyslogFacility::Daemon.raw(), 3 << 3);
        assert!("user".parse::<SyslogFacility>().is_err());
        assert!("locl0"
            .parse::<SyslogFacility>()
            .unwrap_err()
            .0
            .contains("did you mean 'local0'"));
    }

    proptest! {
        #[test]
        fn round_trips(l in proptest::sample::select(LogLevel::ALL), f in proptest::sample::select(SyslogFacility::ALL)) {
            prop_assert_eq!(l.to_string().parse::<LogLevel>(), Ok(l));
            prop_assert_eq!(l.number().to_string().parse::<LogLevel>(), Ok(l));
            prop_assert_eq!(f.to_string().parse::<SyslogFacility>(), Ok(f));
        }
    }
}
