//! Early checks for `lxc.cgroup.<file>` and `lxc.cgroup2.<file>` values.
//!
//! Only well-known controller files are checked, so a typo in a limit is reported when the
//! config is read instead of as a write error at start. Files not in the table pass through
//! unchanged: the kernel remains the judge of those.

use std::str::FromStr;

use super::{CgroupLimit, CpuList, DeviceRule, ValueError};
use crate::limits::quote;

/// Which `lxc.cgroup*` prefix a rule belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hierarchy {
    V1,
    V2,
    Both,
}

/// How a value is checked.
enum Check {
    /// A parser from this module, or a small function below.
    Parse(fn(&str) -> Result<(), ValueError>),
    /// A whole number in this inclusive range.
    Range(i64, i64),
    /// Never settable from the config; the text says why.
    Refuse(&'static str),
}

use Check::{Parse, Range, Refuse};
use Hierarchy::{Both, V1, V2};

/// One row per controller file.
const RULES: &[(Hierarchy, &str, Check)] = &[
    (V1, "memory.limit_in_bytes", Parse(parses::<CgroupLimit>)),
    (
        V1,
        "memory.soft_limit_in_bytes",
        Parse(parses::<CgroupLimit>),
    ),
    (
        V1,
        "memory.memsw.limit_in_bytes",
        Parse(parses::<CgroupLimit>),
    ),
    // The kernel clamps shares to 2..=262144.
    (V1, "cpu.shares", Range(2, 262_144)),
    (V1, "cpu.cfs_quota_us", Parse(cfs_quota)),
    (V1, "cpu.cfs_period_us", Range(1_000, 1_000_000)),
    (V1, "blkio.weight", Range(10, 1_000)),
    (V1, "devices.allow", Parse(parses::<DeviceRule>)),
    (V1, "devices.deny", Parse(parses::<DeviceRule>)),
    (
        V1,
        "freezer.state",
        Refuse("the freezer is driven by rlxc freeze and unfreeze, not set from the config"),
    ),
    (V2, "memory.max", Parse(parses::<CgroupLimit>)),
    (V2, "memory.high", Parse(parses::<CgroupLimit>)),
    (V2, "memory.low", Parse(parses::<CgroupLimit>)),
    (V2, "memory.min", Parse(parses::<CgroupLimit>)),
    (V2, "memory.swap.max", Parse(parses::<CgroupLimit>)),
    (V2, "cpu.weight", Range(1, 10_000)),
    (V2, "cpu.max", Parse(cpu_max)),
    (V2, "io.weight", Parse(io_weight)),
    (V2, "devices.allow", Parse(device_rule_or_path)),
    (V2, "devices.deny", Parse(device_rule_or_path)),
    (Both, "pids.max", Parse(pids_max)),
    (Both, "cpuset.cpus", Parse(parses::<CpuList>)),
    (Both, "cpuset.mems", Parse(parses::<CpuList>)),
];

/// Checks `value` for controller file `key` (e.g. `memory.max`) on cgroup v2 (`v2`) or v1.
/// Unknown files are accepted as they are.
pub fn validate_cgroup_value(v2: bool, key: &str, value: &str) -> Result<(), ValueError> {
    let wanted = if v2 { V2 } else { V1 };
    let rule = RULES
        .iter()
        .find(|(h, k, _)| *k == key && (*h == wanted || *h == Both));
    match rule {
        None => Ok(()),
        Some((_, _, Parse(check))) => check(value.trim()).map_err(|e| requote(value, e)),
        Some((_, _, Range(lo, hi))) => in_range(value, *lo, *hi),
        Some((_, _, Refuse(why))) => Err(ValueError::new(value, why)),
    }
}

/// Errors quote the value exactly as the user wrote it, not the trimmed copy.
fn requote(value: &str, e: ValueError) -> ValueError {
    let trimmed = format!("{}: ", quote(value.trim()));
    match e.0.strip_prefix(&trimmed) {
        Some(rest) => ValueError::new(value, rest),
        None => e,
    }
}

fn parses<T: FromStr<Err = ValueError>>(v: &str) -> Result<(), ValueError> {
    v.parse::<T>().map(drop)
}

fn whole(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

fn in_range(value: &str, lo: i64, hi: i64) -> Result<(), ValueError> {
    match whole(value.trim()) {
        Some(n) if (lo..=hi).contains(&n) => Ok(()),
        _ => Err(ValueError::new(
            value,
            format!("must be a whole number from {lo} to {hi}"),
        )),
    }
}

/// `-1` (no limit) or at least 1000 µs, the kernel's smallest quota.
fn cfs_quota(v: &str) -> Result<(), ValueError> {
    match whole(v) {
        Some(-1) => Ok(()),
        Some(n) if n >= 1_000 => Ok(()),
        _ => Err(ValueError::new(
            v,
            "must be -1 (no limit) or a quota of at least 1000 microseconds",
        )),
    }
}

/// `max` or a non-negative count of processes.
fn pids_max(v: &str) -> Result<(), ValueError> {
    match whole(v) {
        _ if v == "max" => Ok(()),
        Some(n) if n >= 0 => Ok(()),
        _ => Err(ValueError::new(
            v,
            "must be max or a whole number of processes",
        )),
    }
}

/// `$QUOTA [$PERIOD]`: quota `max` or ≥ 1000 µs, period 1000..=1000000 µs.
fn cpu_max(v: &str) -> Result<(), ValueError> {
    let mut words = v.split_whitespace();
    let quota_ok = match words.next() {
        Some("max") => true,
        Some(q) => whole(q).is_some_and(|n| n >= 1_000),
        None => false,
    };
    let period_ok = match words.next() {
        None => true,
        Some(p) => whole(p).is_some_and(|n| (1_000..=1_000_000).contains(&n)),
    };
    if quota_ok && period_ok && words.next().is_none() {
        Ok(())
    } else {
        Err(ValueError::new(
            v,
            "expected 'max' or a quota of at least 1000 microseconds, optionally followed by a period from 1000 to 1000000, e.g. '50000 100000'",
        ))
    }
}

/// `N`, `default N` or `MAJ:MIN N`, with N from 1 to 10000.
fn io_weight(v: &str) -> Result<(), ValueError> {
    let words: Vec<&str> = v.split_whitespace().collect();
    let weight = match words[..] {
        [w] => w,
        ["default", w] => w,
        [dev, w] if is_dev_number(dev) => w,
        _ => {
            return Err(ValueError::new(
                v,
                "expected 'N', 'default N' or 'MAJOR:MINOR N'",
            ))
        }
    };
    match whole(weight) {
        Some(n) if (1..=10_000).contains(&n) => Ok(()),
        _ => Err(ValueError::new(
            v,
            "the weight must be a whole number from 1 to 10000",
        )),
    }
}

fn is_dev_number(s: &str) -> bool {
    s.split_once(':').is_some_and(|(a, b)| {
        [a, b]
            .iter()
            .all(|x| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit()))
    })
}

/// On cgroup v2 LXC also takes a device path (`/dev/null`) instead of `c 1:3 rwm`.
fn device_rule_or_path(v: &str) -> Result<(), ValueError> {
    if v.starts_with('/') {
        return Ok(());
    }
    parses::<DeviceRule>(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(v2: bool, key: &str, value: &str) {
        if let Err(e) = validate_cgroup_value(v2, key, value) {
            panic!("{key} = {value}: {e}");
        }
    }

    fn why(v2: bool, key: &str, value: &str) -> String {
        match validate_cgroup_value(v2, key, value) {
            Err(e) => e.0,
            Ok(()) => panic!("{key} = {value} was accepted"),
        }
    }

    #[test]
    fn seed_v1_values() {
        ok(false, "devices.deny", "a");
        ok(false, "devices.allow", "c *:* m");
        ok(false, "devices.allow", "c 136:* rwm");
        ok(false, "cpu.shares", "1024");
        ok(false, "cpuset.cpus", "0");
        ok(false, "memory.limit_in_bytes", "1024M");
        ok(false, "memory.memsw.limit_in_bytes", "2048M");
        ok(false, "blkio.weight", "500");
    }

    #[test]
    fn v1_rejections() {
        assert!(why(false, "cpu.shares", "1").contains("from 2 to 262144"));
        assert!(why(false, "blkio.weight", "5").contains("from 10 to 1000"));
        assert!(why(false, "cpu.cfs_period_us", "999").contains("1000 to 1000000"));
        assert!(why(false, "memory.limit_in_bytes", "1024Q").contains("unknown size suffix"));
        assert!(why(false, "devices.allow", "c 1:3 rwx").contains("access letter"));
        assert!(why(false, "freezer.state", "FROZEN").contains("rlxc freeze"));
        assert!(why(false, "devices.allow", "/dev/null").contains("device type"));
        ok(false, "cpu.cfs_quota_us", "-1");
        ok(false, "cpu.cfs_quota_us", "50000");
        assert!(why(false, "cpu.cfs_quota_us", "0").contains("-1 (no limit)"));
        ok(false, "pids.max", "max");
        assert!(why(false, "pids.max", "-5").contains("max or"));
        // v2-only files are not checked on v1 and the other way round.
        ok(false, "cpu.weight", "0");
        ok(true, "cpu.shares", "1");
    }

    #[test]
    fn v2_values() {
        ok(true, "memory.max", "max");
        ok(true, "memory.high", "1G");
        ok(true, "memory.swap.max", "1024M");
        ok(true, "cpu.weight", "100");
        assert!(why(true, "cpu.weight", "0").contains("1 to 10000"));
        ok(true, "cpu.max", "max");
        ok(true, "cpu.max", "50000 100000");
        ok(true, "cpu.max", "max 100000");
        assert!(why(true, "cpu.max", "50000 10").contains("period"));
        assert!(validate_cgroup_value(true, "cpu.max", "50000 100000 1").is_err());
        assert!(validate_cgroup_value(true, "cpu.max", "").is_err());
        ok(true, "io.weight", "100");
        ok(true, "io.weight", "default 100");
        ok(true, "io.weight", "8:16 200");
        assert!(why(true, "io.weight", "default 0").contains("1 to 10000"));
        assert!(validate_cgroup_value(true, "io.weight", "sda 100").is_err());
        ok(true, "pids.max", "100");
        ok(true, "cpuset.mems", "0-1");
        assert!(why(true, "cpuset.cpus", "3-1").contains("backwards"));
        ok(true, "devices.allow", "/dev/null");
        ok(true, "devices.deny", "a");
        ok(true, "freezer.state", "whatever");
        ok(true, "hugetlb.2MB.max", "anything goes");
    }

    #[test]
    fn errors_quote_the_value_as_written() {
        assert_eq!(
            why(false, "memory.limit_in_bytes", " 1024Q "),
            "\" 1024Q \": unknown size suffix 'Q' (use K, M, G, T or a plain number of bytes)"
        );
    }

    proptest! {
        #[test]
        fn never_panics(v2 in any::<bool>(), i in 0..RULES.len(), value in "\\PC{0,20}") {
            let _ = validate_cgroup_value(v2, RULES[i].1, &value);
        }
    }
}
