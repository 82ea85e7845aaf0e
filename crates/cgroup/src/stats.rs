//! Resource use of a container for `rlxc info -S` and `rlxc top`, from whichever version
//! holds each controller: v1 `cpuacct.usage`, `memory.usage_in_bytes`,
//! `blkio.throttle.io_service_bytes_recursive`; cgroup2 `cpu.stat`, `memory.current`,
//! `io.stat`; `pids.current` in both; swap from v1 `memory.memsw.usage_in_bytes` or cgroup2
//! `memory.swap.current`. Limits: v1 `memory.limit_in_bytes`, cgroup2
//! `memory.max`, `pids.max` in both.

use crate::ContainerCgroups;

/// What could be read; `None` where the host has no such accounting (or, for a limit, where
/// there is none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub cpu_nanoseconds: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub memory_limit_bytes: Option<u64>,
    pub kernel_memory_bytes: Option<u64>,
    /// Swap in use: v1 `memory.memsw.usage_in_bytes` less `memory.usage_in_bytes` (as LXC
    /// shows it), cgroup2 `memory.swap.current`.
    pub swap_bytes: Option<u64>,
    /// Bytes read plus bytes written.
    pub io_bytes: Option<u64>,
    pub io: Option<IoBytes>,
    pub pids: Option<u64>,
    pub pids_max: Option<u64>,
}

/// Block I/O of the container, summed over its devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoBytes {
    pub read: u64,
    pub written: u64,
}

/// v1 writes "no memory limit" as the largest page-aligned `i64`
/// (`9223372036854771712` on 4 KiB pages); anything this large is no limit.
const V1_UNLIMITED: u64 = 1 << 62;

impl ContainerCgroups {
    pub fn stats(&self) -> Stats {
        let number = |key: &str| self.get(key).ok().and_then(|text| parse_number(&text));
        let limit = |key: &str| self.get(key).ok().and_then(|text| parse_limit(&text));
        let cpu_nanoseconds = number("cpuacct.usage").or_else(|| {
            let stat = self.get("cpu.stat").ok()?;
            field(&stat, "usage_usec").map(|usec| usec * 1000)
        });
        let memory_bytes = number("memory.usage_in_bytes").or_else(|| number("memory.current"));
        let memory_limit_bytes = if self.has("memory.limit_in_bytes") {
            limit("memory.limit_in_bytes")
        } else {
            limit("memory.max")
        };
        let kernel_memory_bytes = number("memory.kmem.usage_in_bytes").or_else(|| {
            let stat = self.get("memory.stat").ok()?;
            field(&stat, "kernel")
        });
        let swap_bytes = match (number("memory.memsw.usage_in_bytes"), memory_bytes) {
            (Some(both), Some(memory)) => Some(both.saturating_sub(memory)),
            _ => number("memory.swap.current"),
        };
        let io = self
            .get("blkio.throttle.io_service_bytes_recursive")
            .ok()
            .map(|text| v1_io(&text))
            .or_else(|| self.get("io.stat").ok().map(|text| v2_io(&text)));
        Stats {
            cpu_nanoseconds,
            memory_bytes,
            memory_limit_bytes,
            kernel_memory_bytes,
            swap_bytes,
            io_bytes: io.map(|io| io.read + io.written),
            io,
            pids: number("pids.current"),
            pids_max: limit("pids.max"),
        }
    }
}

fn parse_number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// A limit file: a number, or `max` (or v1's huge number) for none.
fn parse_limit(text: &str) -> Option<u64> {
    parse_number(text).filter(|&n| n < V1_UNLIMITED)
}

/// `name value` lines (`cpu.stat`, `memory.stat`).
fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok()).flatten()
    })
}

/// The per-device `Read` and `Write` lines (the `Total` lines are their sums).
fn v1_io(text: &str) -> IoBytes {
    let pairs = text.lines().filter_map(|line| {
        let mut words = line.split_whitespace().skip(1);
        Some((words.next()?, words.next()?))
    });
    sum_io(pairs, "Read", "Write")
}

/// `MAJ:MIN rbytes=N wbytes=N rios=N ...` per device.
fn v2_io(text: &str) -> IoBytes {
    sum_io(
        text.split_whitespace()
            .filter_map(|word| word.split_once('=')),
        "rbytes",
        "wbytes",
    )
}

/// Adds up the `(name, bytes)` pairs named `read` and `written`.
fn sum_io<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    read: &str,
    written: &str,
) -> IoBytes {
    let mut io = IoBytes::default();
    for (name, bytes) in pairs {
        let Ok(bytes) = bytes.parse::<u64>() else {
            continue;
        };
        if name == read {
            io.read += bytes;
        } else if name == written {
            io.written += bytes;
        }
    }
    io
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_adds_reads_and_writes_per_device() {
        let v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:0 Total 12288\nTotal 12288\n";
        assert_eq!(
            v1_io(v1),
            IoBytes {
                read: 4096,
                written: 8192
            }
        );
        let v2 = "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n254:0 rbytes=3 wbytes=0 rios=1\n";
        assert_eq!(
            v2_io(v2),
            IoBytes {
                read: 103,
                written: 20
            }
        );
        assert_eq!(
            field("usage_usec 42\nuser_usec 40\n", "usage_usec"),
            Some(42)
        );
    }

    #[test]
    fn limits_of_none_read_as_none() {
        assert_eq!(parse_limit("max\n"), None);
        assert_eq!(parse_limit("9223372036854771712\n"), None);
        assert_eq!(parse_limit("268435456\n"), Some(268_435_456));
        assert_eq!(parse_limit("64\n"), Some(64));
    }
}
