//! Resource limits (`lxc.prlimit.nofile = 1024:4096`).

use std::fmt;
use std::str::FromStr;

use super::ValueError;

keyword_enum! {
    /// An rlimit, named as `RLIMIT_*` in lower case without the prefix.
    pub enum Resource {
        As = "as",
        Core = "core",
        Cpu = "cpu",
        Data = "data",
        Fsize = "fsize",
        Locks = "locks",
        Memlock = "memlock",
        Msgqueue = "msgqueue",
        Nice = "nice",
        Nofile = "nofile",
        Nproc = "nproc",
        Rss = "rss",
        Rtprio = "rtprio",
        Rttime = "rttime",
        Sigpending = "sigpending",
        Stack = "stack",
    }
}
keyword_from_str!(Resource, "resource limit");

impl Resource {
    /// The `RLIMIT_*` number for `prlimit(2)`.
    // glibc types these as an unsigned enum and musl as int; the values are all small.
    #[allow(clippy::unnecessary_cast)]
    pub fn raw(&self) -> i32 {
        (match self {
            Resource::As => libc::RLIMIT_AS,
            Resource::Core => libc::RLIMIT_CORE,
            Resource::Cpu => libc::RLIMIT_CPU,
            Resource::Data => libc::RLIMIT_DATA,
            Resource::Fsize => libc::RLIMIT_FSIZE,
            Resource::Locks => libc::RLIMIT_LOCKS,
            Resource::Memlock => libc::RLIMIT_MEMLOCK,
            Resource::Msgqueue => libc::RLIMIT_MSGQUEUE,
            Resource::Nice => libc::RLIMIT_NICE,
            Resource::Nofile => libc::RLIMIT_NOFILE,
            Resource::Nproc => libc::RLIMIT_NPROC,
            Resource::Rss => libc::RLIMIT_RSS,
            Resource::Rtprio => libc::RLIMIT_RTPRIO,
            Resource::Rttime => libc::RLIMIT_RTTIME,
            Resource::Sigpending => libc::RLIMIT_SIGPENDING,
            Resource::Stack => libc::RLIMIT_STACK,
        }) as i32
    }
}

/// One side of a limit. `Unlimited` sorts above every number, as `RLIM_INFINITY` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Limit {
    Value(u64),
    Unlimited,
}

impl FromStr for Limit {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if s.eq_ignore_ascii_case("unlimited") {
            return Ok(Limit::Unlimited);
        }
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new(
                input,
                "a limit is a whole number or the word unlimited",
            ));
        }
        match s.parse::<u64>() {
            // u64::MAX is RLIM_INFINITY itself; as a number it would read back as unlimited.
            Ok(v) if v != u64::MAX => Ok(Limit::Value(v)),
            _ => Err(ValueError::new(
                input,
                "number is too large (write unlimited)",
            )),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Value(v) => write!(f, "{v}"),
            Limit::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// `soft[:hard]`; a single value sets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrLimit {
    pub soft: Limit,
    pub hard: Limit,
}

impl FromStr for PrLimit {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let side = |s: &str, which: &str| {
            s.parse::<Limit>().map_err(|_| {
                ValueError::new(
                    input,
                    format!("{which} must be a whole number below 2^64, or unlimited"),
                )
            })
        };
        let (soft, hard) = match input.split_once(':') {
            Some((s, h)) => (side(s, "the soft limit")?, side(h, "the hard limit")?),
            None => {
                let v = side(input, "the limit")?;
                (v, v)
            }
        };
        if soft > hard {
            return Err(ValueError::new(
                input,
                format!("the soft limit ({soft}) is above the hard limit ({hard})"),
            ));
        }
        Ok(PrLimit { soft, hard })
    }
}

impl fmt::Display for PrLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.soft == self.hard {
            write!(f, "{}", self.soft)
        } else {
            write!(f, "{}:{}", self.soft, self.hard)
        }
    }
}

serialize_display!(Limit, PrLimit);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn resources() {
        assert_eq!(Resource::ALL.len(), 16);
        assert_eq!("nofile".parse(), Ok(Resource::Nofile));
        assert_eq!(Resource::Nofile.raw(), 7);
        assert_eq!(Resource::Rttime.raw(), 15);
        assert!("nofiles"
            .parse::<Resource>()
            .unwrap_err()
            .0
            .contains("did you mean 'nofile'"));
    }

    #[test]
    fn limits() {
        let l = |s: &str| s.parse::<PrLimit>();
        assert_eq!(
            l("1024"),
            Ok(PrLimit {
                soft: Limit::Value(1024),
                hard: Limit::Value(1024)
            })
        );
        assert_eq!(
            l("1024:4096"),
            Ok(PrLimit {
                soft: Limit::Value(1024),
                hard: Limit::Value(4096)
            })
        );
        assert_eq!(
            l("unlimited"),
            Ok(PrLimit {
                soft: Limit::Unlimited,
                hard: Limit::Unlimited
            })
        );
        assert_eq!(
            l("1024:unlimited").map(|p| p.to_string()),
            Ok("1024:unlimited".to_string())
        );
        assert!(l("4096:1024")
            .unwrap_err()
            .0
            .contains("above the hard limit"));
        assert!(l("unlimited:5").is_err());
        assert!(l("-1").is_err());
        assert!(l("1:2:3").is_err());
        assert!(l("").is_err());
        assert!(l("18446744073709551615").is_err());
    }

    fn arb_limit() -> impl Strategy<Value = Limit> {
        prop_oneof![Just(Limit::Unlimited), (0..u64::MAX).prop_map(Limit::Value)]
    }

    proptest! {
        #[test]
        fn round_trips(a in arb_limit(), b in arb_limit()) {
            let p = PrLimit { soft: a.min(b), hard: a.max(b) };
            prop_assert_eq!(p.to_string().parse::<PrLimit>(), Ok(p));
        }

        #[test]
        fn resource_round_trips(r in proptest::sample::select(Resource::ALL)) {
            prop_assert_eq!(r.to_string().parse::<Resource>(), Ok(r));
        }
    }
}
