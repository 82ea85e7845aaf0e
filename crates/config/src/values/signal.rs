//! Signals by name or number (`SIGPWR`, `pwr`, `30`, `SIGRTMIN+3`).

use std::fmt;
use std::str::FromStr;

use super::ValueError;

/// The first real-time signal as glibc (and so LXC) counts it: the kernel's 32 and 33 are
/// taken by the C library's threading, which is why `SIGRTMIN+3` is 37 (what systemd wants).
pub(crate) const SIGRTMIN: i32 = 34;
/// The last signal on Linux.
pub(crate) const SIGRTMAX: i32 = 64;

/// Standard signals on Linux x86_64 (and most architectures), number → name without `SIG`.
const NAMES: [(i32, &str); 31] = [
    (1, "HUP"),
    (2, "INT"),
    (3, "QUIT"),
    (4, "ILL"),
    (5, "TRAP"),
    (6, "ABRT"),
    (7, "BUS"),
    (8, "FPE"),
    (9, "KILL"),
    (10, "USR1"),
    (11, "SEGV"),
    (12, "USR2"),
    (13, "PIPE"),
    (14, "ALRM"),
    (15, "TERM"),
    (16, "STKFLT"),
    (17, "CHLD"),
    (18, "CONT"),
    (19, "STOP"),
    (20, "TSTP"),
    (21, "TTIN"),
    (22, "TTOU"),
    (23, "URG"),
    (24, "XCPU"),
    (25, "XFSZ"),
    (26, "VTALRM"),
    (27, "PROF"),
    (28, "WINCH"),
    (29, "IO"),
    (30, "PWR"),
    (31, "SYS"),
];

/// Old names that still appear in scripts.
const ALIASES: [(&str, i32); 4] = [("IOT", 6), ("CLD", 17), ("POLL", 29), ("UNUSED", 31)];

/// A signal number in 1..=64. Display gives the name (`SIGPWR`, `SIGRTMIN+3`), or the bare
/// number for 32 and 33, which have no name outside the C library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(pub i32);

impl Signal {
    pub const SIGKILL: Signal = Signal(9);
    pub const SIGINT: Signal = Signal(2);
    pub const SIGPWR: Signal = Signal(30);
}

impl FromStr for Signal {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return match s.parse::<i32>() {
                Ok(0) => Err(ValueError::new(
                    input,
                    "signal 0 is not a signal (it only checks that a process exists)",
                )),
                Ok(n) if n <= SIGRTMAX => Ok(Signal(n)),
                _ => Err(ValueError::new(
                    input,
                    format!("signal numbers run from 1 to {SIGRTMAX}"),
                )),
            };
        }
        let upper = s.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        if let Some(rest) = bare.strip_prefix("RTMIN") {
            return realtime(input, rest, '+', SIGRTMIN, 1).map(Signal);
        }
        if let Some(rest) = bare.strip_prefix("RTMAX") {
            return realtime(input, rest, '-', SIGRTMAX, -1).map(Signal);
        }
        NAMES
            .iter()
            .map(|&(n, name)| (name, n))
            .chain(ALIASES)
            .find(|(name, _)| *name == bare)
            .map(|(_, n)| Signal(n))
            .ok_or_else(|| unknown(input, bare))
    }
}

/// `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`: `rest` is what follows the base name.
fn realtime(input: &str, rest: &str, sign: char, base: i32, step: i32) -> Result<i32, ValueError> {
    if rest.is_empty() {
        return Ok(base);
    }
    let offset = rest
        .strip_prefix(sign)
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<i32>().ok())
        .ok_or_else(|| {
            ValueError::new(input, "write real-time signals as SIGRTMIN+n or SIGRTMAX-n")
        })?;
    let n = base.saturating_add(offset.saturating_mul(step));
    if (SIGRTMIN..=SIGRTMAX).contains(&n) {
        Ok(n)
    } else {
        Err(ValueError::new(
            input,
            format!("real-time signals run from SIGRTMIN ({SIGRTMIN}) to SIGRTMAX ({SIGRTMAX}), so the offset can be at most {}", SIGRTMAX - SIGRTMIN),
        ))
    }
}

fn unknown(input: &str, bare: &str) -> ValueError {
    let names: Vec<String> = NAMES.iter().map(|(_, n)| format!("SIG{n}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    match super::suggest(&format!("SIG{bare}"), &refs) {
        Some(s) => ValueError::new(input, format!("unknown signal; did you mean '{s}'?")),
        None => ValueError::new(
            input,
            "unknown signal (use a name such as SIGPWR, SIGRTMIN+3, or a number 1-64)",
        ),
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if let Some((_, name)) = NAMES.iter().find(|(num, _)| *num == n) {
            return write!(f, "SIG{name}");
        }
        // Name each real-time signal from its nearer end, as glibc's strsignal does.
        match n {
            SIGRTMIN => f.write_str("SIGRTMIN"),
            SIGRTMAX => f.write_str("SIGRTMAX"),
            _ if (SIGRTMIN..=49).contains(&n) => write!(f, "SIGRTMIN+{}", n - SIGRTMIN),
            _ if (50..SIGRTMAX).contains(&n) => write!(f, "SIGRTMAX-{}", SIGRTMAX - n),
            _ => write!(f, "{n}"),
        }
    }
}

serialize_display!(Signal);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sig(s: &str) -> Result<i32, ValueError> {
        s.parse::<Signal>().map(|s| s.0)
    }

    #[test]
    fn accepts_names_and_numbers() {
        for s in ["SIGPWR", "PWR", "pwr", "sigpwr", "30"] {
            assert_eq!(sig(s), Ok(30), "{s}");
        }
        assert_eq!(sig("SIGRTMIN+3"), Ok(37));
        assert_eq!(sig("RTMIN+3"), Ok(37));
        assert_eq!(sig("SIGRTMIN"), Ok(34));
        assert_eq!(sig("SIGRTMAX"), Ok(64));
        assert_eq!(sig("SIGRTMAX-2"), Ok(62));
        assert_eq!(sig("SIGKILL"), Ok(9));
        assert_eq!(sig("SIGCLD"), Ok(17));
        assert_eq!(sig("64"), Ok(64));
        assert_eq!(sig("32"), Ok(32));
    }

    #[test]
    fn rejects_with_reasons() {
        assert!(sig("0").unwrap_err().0.contains("not a signal"));
        assert!(sig("65").unwrap_err().0.contains("1 to 64"));
        assert!(sig("SIGRTMIN+31").unwrap_err().0.contains("at most 30"));
        assert!(sig("SIGRTMIN-1").is_err());
        assert!(sig("SIGRTMAX+1").is_err());
        assert!(sig("SIGRTMIN+").is_err());
        assert!(sig("-9").is_err());
        let e = sig("SIGPRW").unwrap_err();
        assert!(e.0.contains("did you mean 'SIGPWR'"), "{e}");
        assert!(sig("").is_err());
    }

    #[test]
    fn displays_names() {
        assert_eq!(Signal(30).to_string(), "SIGPWR");
        assert_eq!(Signal(37).to_string(), "SIGRTMIN+3");
        assert_eq!(Signal(34).to_string(), "SIGRTMIN");
        assert_eq!(Signal(62).to_string(), "SIGRTMAX-2");
        assert_eq!(Signal(33).to_string(), "33");
    }

    proptest! {
        #[test]
        fn round_trips(n in 1i32..=64) {
            prop_assert_eq!(Signal(n).to_string().parse::<Signal>(), Ok(Signal(n)));
        }

        #[test]
        fn never_panics(s in "(SIG)?(RTMIN|RTMAX|[A-Z]{0,4})[+-]?[0-9]{0,12}") {
            let _ = s.parse::<Signal>();
        }
    }
}
