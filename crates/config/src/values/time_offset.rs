//! Time namespace offsets (`lxc.time.offset.boot = 5h`).

use std::fmt;
use std::str::FromStr;

use super::ValueError;

/// Units, largest first, with their length in nanoseconds. `ms` must be tried before `m`.
const UNITS: [(&str, i64); 6] = [
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// A clock offset in nanoseconds. Input needs a unit (`h m s ms us ns`); negative offsets
/// such as `-5h` are accepted (LXC 5 refuses `-5h` but takes `-5s`, which is a slip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeOffset(pub i64);

impl FromStr for TimeOffset {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let digits_end = body
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(body.len());
        let (digits, unit) = body.split_at(digits_end);
        if digits.is_empty() {
            return Err(ValueError::new(
                input,
                "expected a number with a unit, e.g. 5h or -30s",
            ));
        }
        let unit = unit.trim_start().to_ascii_lowercase();
        if unit.is_empty() {
            return Err(ValueError::new(
                input,
                "a unit is required: h, m, s, ms, us or ns (e.g. 5s)",
            ));
        }
        let scale = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, n)| *n)
            .ok_or_else(|| {
                ValueError::new(
                    input,
                    format!(
                        "unknown unit '{}' (use h, m, s, ms, us or ns)",
                        crate::limits::shorten(&unit)
                    ),
                )
            })?;
        // i128 so that the full i64 range, including its most negative value, fits.
        let magnitude: i128 = digits
            .parse::<i128>()
            .map_err(|_| ValueError::new(input, "the offset is too large"))?;
        magnitude
            .checked_mul(i128::from(scale))
            .map(|n| if negative { -n } else { n })
            .and_then(|n| i64::try_from(n).ok())
            .map(TimeOffset)
            .ok_or_else(|| {
                ValueError::new(input, "the offset is too large (about 292 years at most)")
            })
    }
}

impl fmt::Display for TimeOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        // Falls through to ns, which divides everything.
        let (unit, scale) = UNITS
            .iter()
            .filter(|(_, n)| self.0 % n == 0)
            .max_by_key(|(_, n)| *n)
            .copied()
            .unwrap_or(("ns", 1));
        write!(f, "{}{unit}", self.0 / scale)
    }
}

serialize_display!(TimeOffset);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn off(s: &str) -> Result<i64, ValueError> {
        s.parse::<TimeOffset>().map(|t| t.0)
    }

    #[test]
    fn units() {
        assert_eq!(off("5h"), Ok(5 * 3600 * 1_000_000_000));
        assert_eq!(off("-5h"), Ok(-5 * 3600 * 1_000_000_000));
        assert_eq!(off("10m"), Ok(600 * 1_000_000_000));
        assert_eq!(off("3s"), Ok(3_000_000_000));
        assert_eq!(off("100ms"), Ok(100_000_000));
        assert_eq!(off("5us"), Ok(5_000));
        assert_eq!(off("7ns"), Ok(7));
        assert_eq!(off("-9223372036854775808ns"), Ok(i64::MIN));
    }

    #[test]
    fn rejects() {
        assert!(off("5").unwrap_err().0.contains("unit is required"));
        assert!(off("5d").unwrap_err().0.contains("unknown unit 'd'"));
        assert!(off("h").is_err());
        assert!(off("").is_err());
        assert!(off("99999999999h").unwrap_err().0.contains("too large"));
        assert!(off("--5s").is_err());
    }

    #[test]
    fn displays_largest_exact_unit() {
        assert_eq!(TimeOffset(18_000_000_000_000).to_string(), "5h");
        assert_eq!(TimeOffset(-90_000_000_000).to_string(), "-90s");
        assert_eq!(TimeOffset(1_500_000).to_string(), "1500us");
        assert_eq!(TimeOffset(0).to_string(), "0s");
    }

    proptest! {
        #[test]
        fn round_trips(n in any::<i64>()) {
            prop_assert_eq!(TimeOffset(n).to_string().parse::<TimeOffset>(), Ok(TimeOffset(n)));
        }
    }
}
