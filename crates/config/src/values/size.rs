//! Byte sizes (`1024M`, `1G`) and cgroup memory limits (`max`, `-1`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ValueError;

/// Binary multiples, largest first: Display picks the first that divides exactly.
const UNITS: [(char, u64); 4] = [
    ('T', 1 << 40),
    ('G', 1 << 30),
    ('M', 1 << 20),
    ('K', 1 << 10),
];

/// A number of bytes. Suffixes are binary multiples (K = 1024), as in the kernel's
/// `memparse` and LXC's size parser, so `1K`, `1KB` and `1KiB` all mean 1024 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ByteSize(pub u64);

impl FromStr for ByteSize {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ValueError::new(
                input,
                "expected a size such as 1024, 512K or 1G",
            ));
        }
        if s.starts_with('-') {
            return Err(ValueError::new(input, "a size cannot be negative"));
        }
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, suffix) = s.split_at(digits_end);
        if digits.is_empty() {
            return Err(ValueError::new(input, "a size must start with a number"));
        }
        if suffix.starts_with(['.', ',']) {
            return Err(ValueError::new(
                input,
                "fractions are not supported; use a smaller unit (e.g. 1536M instead of 1.5G)",
            ));
        }
        let number: u64 = digits
            .parse()
            .map_err(|_| ValueError::new(input, "number is too large"))?;
        let multiplier = suffix_multiplier(input, suffix.trim_start())?;
        number
            .checked_mul(multiplier)
            .map(ByteSize)
            .ok_or_else(|| ValueError::new(input, "size is too large (more than 16 EiB)"))
    }
}

/// `K`, `KB`, `KiB` (any case) and friends; an empty suffix or `B` means bytes.
fn suffix_multiplier(input: &str, suffix: &str) -> Result<u64, ValueError> {
    match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => Ok(1),
        "k" | "kb" | "kib" => Ok(1 << 10),
        "m" | "mb" | "mib" => Ok(1 << 20),
        "g" | "gb" | "gib" => Ok(1 << 30),
        "t" | "tb" | "tib" => Ok(1 << 40),
        _ => Err(ValueError::new(
            input,
            format!(
                "unknown size suffix '{}' (use K, M, G, T or a plain number of bytes)",
                crate::limits::shorten(suffix)
            ),
        )),
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 != 0 {
            for (letter, unit) in UNITS {
                // Units are powers of two, so a mask tests divisibility.
                if self.0 & (unit - 1) == 0 {
                    return write!(f, "{}{letter}", self.0 / unit);
                }
            }
        }
        write!(f, "{}", self.0)
    }
}

/// A cgroup limit in bytes, or no limit at all.
///
/// Accepts `-1` (cgroup v1 spelling), `max` (cgroup v2 spelling) and `unlimited` for no limit.
/// Displays `max`; the cgroup layer writes `-1` on v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CgroupLimit {
    Bytes(ByteSize),
    Unlimited,
}

impl FromStr for CgroupLimit {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if s == "-1" || s.eq_ignore_ascii_case("max") || s.eq_ignore_ascii_case("unlimited") {
            return Ok(CgroupLimit::Unlimited);
        }
        if s.starts_with('-') {
            return Err(ValueError::new(
                input,
                "a limit cannot be negative (use -1 or max for no limit)",
            ));
        }
        s.parse().map(CgroupLimit::Bytes)
    }
}

impl fmt::Display for CgroupLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CgroupLimit::Bytes(b) => b.fmt(f),
            CgroupLimit::Unlimited => f.write_str("max"),
        }
    }
}

serialize_display!(CgroupLimit);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn size(s: &str) -> Result<u64, ValueError> {
        s.parse::<ByteSize>().map(|b| b.0)
    }

    #[test]
    fn accepts_plain_and_suffixed_sizes() {
        assert_eq!(size("1024"), Ok(1024));
        assert_eq!(size("1024M"), Ok(1024 << 20));
        assert_eq!(size("1024m"), Ok(1024 << 20));
        assert_eq!(size("2048M"), Ok(2048 << 20));
        assert_eq!(size("1G"), Ok(1 << 30));
        assert_eq!(size("512k"), Ok(512 << 10));
        for one_k in ["1K", "1KB", "1kB", "1Kb", "1KiB", "1kib", "1 K"] {
            assert_eq!(size(one_k), Ok(1024), "{one_k}");
        }
        assert_eq!(size("1MB"), Ok(1 << 20));
        assert_eq!(size("1MiB"), Ok(1 << 20));
        assert_eq!(size("1GB"), Ok(1 << 30));
        assert_eq!(size("1T"), Ok(1 << 40));
        assert_eq!(size("10B"), Ok(10));
        assert_eq!(size(" 0 "), Ok(0));
    }

    #[test]
    fn rejects_with_reasons() {
        let e = size("1024Q").unwrap_err();
        assert_eq!(
            e.0,
            "\"1024Q\": unknown size suffix 'Q' (use K, M, G, T or a plain number of bytes)"
        );
        assert!(size("").is_err());
        assert!(size("M").unwrap_err().0.contains("start with a number"));
        assert!(size("-5").unwrap_err().0.contains("negative"));
        assert!(size("1.5G").unwrap_err().0.contains("fractions"));
        assert!(size("16777216T").unwrap_err().0.contains("too large"));
        assert!(size("99999999999999999999")
            .unwrap_err()
            .0
            .contains("too large"));
        assert!(size("1GG").is_err());
    }

    #[test]
    fn displays_largest_exact_unit() {
        assert_eq!(ByteSize(1073741824).to_string(), "1G");
        assert_eq!(ByteSize(1536 << 20).to_string(), "1536M");
        assert_eq!(ByteSize(1000).to_string(), "1000");
        assert_eq!(ByteSize(0).to_string(), "0");
        assert_eq!(ByteSize(1 << 40).to_string(), "1T");
    }

    #[test]
    fn cgroup_limits() {
        for unl in ["-1", "max", "MAX", "unlimited"] {
            assert_eq!(unl.parse::<CgroupLimit>(), Ok(CgroupLimit::Unlimited));
        }
        assert_eq!(
            "1024M".parse::<CgroupLimit>(),
            Ok(CgroupLimit::Bytes(ByteSize(1 << 30)))
        );
        assert_eq!(CgroupLimit::Unlimited.to_string(), "max");
        assert!("-2".parse::<CgroupLimit>().is_err());
    }

    proptest! {
        #[test]
        fn size_round_trips(v in any::<u64>()) {
            let b = ByteSize(v);
            prop_assert_eq!(b.to_string().parse::<ByteSize>(), Ok(b));
        }

        #[test]
        fn limit_round_trips(v in proptest::option::of(any::<u64>())) {
            let l = v.map_or(CgroupLimit::Unlimited, |v| CgroupLimit::Bytes(ByteSize(v)));
            prop_assert_eq!(l.to_string().parse::<CgroupLimit>(), Ok(l));
        }

        #[test]
        fn never_panics(s in "\\PC{0,12}") {
            let _ = s.parse::<ByteSize>();
            let _ = s.parse::<CgroupLimit>();
        }
    }
}
