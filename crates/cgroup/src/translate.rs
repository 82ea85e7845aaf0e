//! cgroup v1 ↔ v2 key translation, for a setting whose controller lives in the other
//! version on this host. Pure text in, text out; [`crate::limits`] decides when to use it.
//!
//! Conversions are the kernel's and the other runtimes' (crun, runc):
//! `cpu.weight = 1 + (shares − 2) · 9999 / 262142`, `io.weight = 1 + (blkio − 10) · 9999 /
//! 990`, `memory.swap.max = memsw − memory limit`. A key with no equivalent is an error
//! that names it: a limit silently dropped is the trap this exists to avoid.

use crate::devices::DeviceRule;
use crate::Error;

/// What one setting becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// Files to write, all of them, in order.
    Write(Vec<(String, String)>),
    /// A block I/O weight: the first of these files the host has is written; with none
    /// of them (no CFQ/BFQ, no iocost) the weight is not applied, with a notice.
    Weight(Vec<(String, String)>),
    /// A device rule: v2 has no file for it (it becomes part of the eBPF program).
    Device(DeviceRule),
    /// Folded into another setting's write (`cpu.cfs_period_us` into `cpu.max`).
    Folded,
}

fn one(key: &str, value: impl Into<String>) -> Translation {
    Translation::Write(vec![(key.to_owned(), value.into())])
}

fn lookup<'a>(all: &'a [(String, String)], key: &str) -> Option<&'a str> {
    all.iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.trim())
}

/// A v1 setting on a host where its controller is only on cgroup2. `all` is every v1
/// setting of the container (memsw and the cfs pair need their partners).
pub fn v1_to_v2(key: &str, value: &str, all: &[(String, String)]) -> Result<Translation, Error> {
    let value = value.trim();
    let fail = |reason: String| Error::NoEquivalent {
        key: format!("lxc.cgroup.{key}"),
        reason,
    };
    Ok(match key {
        "memory.limit_in_bytes" => one("memory.max", limit_text(key, value)?),
        "memory.soft_limit_in_bytes" => one("memory.low", limit_text(key, value)?),
        "memory.memsw.limit_in_bytes" => {
            let memory = lookup(all, "memory.limit_in_bytes").ok_or_else(|| {
                fail("memory.swap.max is memsw minus the memory limit, and no lxc.cgroup.memory.limit_in_bytes is set".into())
            })?;
            let swap = match (
                parse_limit(key, value)?,
                parse_limit("memory.limit_in_bytes", memory)?,
            ) {
                (None, _) => "max".to_owned(),
                (Some(_), None) => return Err(fail("memsw is limited but memory is not".into())),
                (Some(memsw), Some(memory)) if memsw < memory => {
                    return Err(fail(format!(
                        "memsw ({memsw}) is below the memory limit ({memory})"
                    )))
                }
                (Some(memsw), Some(memory)) => (memsw - memory).to_string(),
            };
            one("memory.swap.max", swap)
        }
        "cpu.shares" => {
            let shares = whole(key, value)?.clamp(2, 262_144);
            one(
                "cpu.weight",
                (1 + (shares - 2) * 9999 / 262_142).to_string(),
            )
        }
        "cpu.cfs_quota_us" => {
            let period = lookup(all, "cpu.cfs_period_us").unwrap_or("100000");
            let quota = if whole(key, value)? < 0 { "max" } else { value };
            one("cpu.max", format!("{quota} {period}"))
        }
        "cpu.cfs_period_us" if lookup(all, "cpu.cfs_quota_us").is_some() => Translation::Folded,
        "cpu.cfs_period_us" => one("cpu.max", format!("max {value}")),
        "blkio.weight" => {
            let weight = whole(key, value)?;
            Translation::Weight(vec![
                ("io.bfq.weight".into(), weight.to_string()),
                ("io.weight".into(), blkio_to_io(weight).to_string()),
            ])
        }
        "blkio.weight_device" => {
            let (device, weight) = device_value(key, value)?;
            let weight = whole(key, weight)?;
            Translation::Weight(vec![
                ("io.bfq.weight".into(), format!("{device} {weight}")),
                (
                    "io.weight".into(),
                    format!("{device} {}", blkio_to_io(weight)),
                ),
            ])
        }
        "blkio.throttle.read_bps_device" => throttle(key, value, "rbps")?,
        "blkio.throttle.write_bps_device" => throttle(key, value, "wbps")?,
        "blkio.throttle.read_iops_device" => throttle(key, value, "riops")?,
        "blkio.throttle.write_iops_device" => throttle(key, value, "wiops")?,
        "pids.max" | "cpuset.cpus" | "cpuset.mems" => one(key, value),
        "devices.allow" => Translation::Device(DeviceRule::parse(true, value)?),
        "devices.deny" => Translation::Device(DeviceRule::parse(false, value)?),
        _ => match hugetlb_size(key, ".limit_in_bytes") {
            Some(size) => one(&format!("hugetlb.{size}.max"), limit_text(key, value)?),
            None => return Err(fail("cgroup v2 has no equivalent file".into())),
        },
    })
}

/// A v2 setting on a host where its controller is only on a v1 hierarchy. `all` is every
/// v2 setting of the container.
pub fn v2_to_v1(key: &str, value: &str, all: &[(String, String)]) -> Result<Translation, Error> {
    let value = value.trim();
    let fail = |reason: String| Error::NoEquivalent {
        key: format!("lxc.cgroup2.{key}"),
        reason,
    };
    let v1_limit = |text: &str| {
        if text == "max" {
            "-1".to_owned()
        } else {
            text.to_owned()
        }
    };
    Ok(match key {
        "memory.max" => one("memory.limit_in_bytes", v1_limit(value)),
        "memory.low" => one("memory.soft_limit_in_bytes", v1_limit(value)),
        "memory.swap.max" => {
            let memory = lookup(all, "memory.max").ok_or_else(|| {
                fail(
                    "memsw is the memory limit plus swap, and no lxc.cgroup2.memory.max is set"
                        .into(),
                )
            })?;
            let memsw = match (parse_limit(key, value)?, parse_limit("memory.max", memory)?) {
                (None, _) | (_, None) => "-1".to_owned(),
                (Some(swap), Some(memory)) => (swap + memory).to_string(),
            };
            one("memory.memsw.limit_in_bytes", memsw)
        }
        "cpu.weight" => {
            let weight = whole(key, value)?.clamp(1, 10_000);
            one(
                "cpu.shares",
                (2 + (weight - 1) * 262_142 / 9999).to_string(),
            )
        }
        "cpu.max" => {
            let mut words = value.split_whitespace();
            let quota = match words.next() {
                Some("max") | None => "-1",
                Some(quota) => quota,
            };
            let mut writes = Vec::new();
            if let Some(period) = words.next() {
                writes.push(("cpu.cfs_period_us".to_owned(), period.to_owned()));
            }
            writes.push(("cpu.cfs_quota_us".to_owned(), quota.to_owned()));
            Translation::Write(writes)
        }
        "io.weight" | "io.bfq.weight" => {
            let words: Vec<&str> = value.split_whitespace().collect();
            let (device, weight) = match words[..] {
                [weight] | ["default", weight] => (None, weight),
                [device, weight] => (Some(device), weight),
                _ => return Err(fail(format!("cannot read the weight {value:?}"))),
            };
            let weight = whole(key, weight)?;
            let weight = if key == "io.weight" {
                io_to_blkio(weight)
            } else {
                weight.clamp(10, 1000)
            };
            let (files, text) = match device {
                None => (["blkio.bfq.weight", "blkio.weight"], weight.to_string()),
                Some(device) => (
                    ["blkio.bfq.weight_device", "blkio.weight_device"],
                    format!("{device} {weight}"),
                ),
            };
            Translation::Weight(
                files
                    .iter()
                    .map(|f| ((*f).to_owned(), text.clone()))
                    .collect(),
            )
        }
        "io.max" => {
            let mut words = value.split_whitespace();
            let device = words.next().unwrap_or_default();
            let mut writes = Vec::new();
            for word in words {
                let (name, amount) = word
                    .split_once('=')
                    .ok_or_else(|| fail(format!("cannot read {word:?}")))?;
                let file = match name {
                    "rbps" => "blkio.throttle.read_bps_device",
                    "wbps" => "blkio.throttle.write_bps_device",
                    "riops" => "blkio.throttle.read_iops_device",
                    "wiops" => "blkio.throttle.write_iops_device",
                    _ => return Err(fail(format!("v1 has no throttle for {name}"))),
                };
                let amount = if amount == "max" { "0" } else { amount };
                writes.push((file.to_owned(), format!("{device} {amount}")));
            }
            Translation::Write(writes)
        }
        "pids.max" | "cpuset.cpus" | "cpuset.mems" => one(key, value),
        "devices.allow" | "devices.deny" => {
            let (file, rule) = DeviceRule::parse(key == "devices.allow", value)?.to_v1();
            one(file, rule)
        }
        _ => match hugetlb_size(key, ".max") {
            Some(size) => one(&format!("hugetlb.{size}.limit_in_bytes"), v1_limit(value)),
            None => return Err(fail("cgroup v1 has no equivalent file".into())),
        },
    })
}

/// `1 + (w − 10) · 9999 / 990`: 10..=1000 onto 1..=10000.
fn blkio_to_io(weight: i64) -> i64 {
    1 + (weight.clamp(10, 1000) - 10) * 9999 / 990
}

fn io_to_blkio(weight: i64) -> i64 {
    10 + (weight.clamp(1, 10_000) - 1) * 990 / 9999
}

fn throttle(key: &str, value: &str, name: &str) -> Result<Translation, Error> {
    let (device, amount) = device_value(key, value)?;
    let amount = if whole(key, amount)? == 0 {
        "max"
    } else {
        amount
    };
    Ok(one("io.max", format!("{device} {name}={amount}")))
}

fn device_value<'a>(key: &str, value: &'a str) -> Result<(&'a str, &'a str), Error> {
    value
        .split_once(char::is_whitespace)
        .map(|(d, v)| (d, v.trim()))
        .ok_or_else(|| Error::NoEquivalent {
            key: key.to_owned(),
            reason: format!("expected MAJOR:MINOR VALUE, got {value:?}"),
        })
}

/// `hugetlb.2MB.limit_in_bytes` → `2MB`.
fn hugetlb_size<'a>(key: &'a str, suffix: &str) -> Option<&'a str> {
    key.strip_prefix("hugetlb.")?.strip_suffix(suffix)
}

fn whole(key: &str, value: &str) -> Result<i64, Error> {
    value.parse().map_err(|_| Error::NoEquivalent {
        key: key.to_owned(),
        reason: format!("{value:?} is not a whole number"),
    })
}

/// A memory size in bytes (`1024M`, `1G`, `65536`); `None` for no limit (`-1`, `max`).
pub fn parse_limit(key: &str, value: &str) -> Result<Option<u64>, Error> {
    let value = value.trim();
    if value == "-1" || value == "max" {
        return Ok(None);
    }
    let (digits, shift) = match value.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => {
            let shift = match unit.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => 64,
            };
            (&value[..at], shift)
        }
        _ => (value, 0),
    };
    let number: Option<u64> = digits.parse().ok();
    number
        .filter(|_| shift < 64)
        .and_then(|n| n.checked_mul(1u64 << shift))
        .map(Some)
        .ok_or_else(|| Error::NoEquivalent {
            key: key.to_owned(),
            reason: format!("{value:?} is not a size (bytes, or a number with K, M, G or T)"),
        })
}

/// v1 takes `-1` for no memory limit where v2 takes `max`; sizes pass as bytes.
fn limit_text(key: &str, value: &str) -> Result<String, Error> {
    Ok(match parse_limit(key, value)? {
        None => "max".to_owned(),
        Some(bytes) => bytes.to_string(),
    })
}

#[cfg(test)]
#[path = "translate_tests.rs"]
mod tests;
