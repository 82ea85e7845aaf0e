//! Resource use of a container for `rlxc info -S`, from whichever version holds each
//! controller: v1 `cpuacct.usage`, `memory.usage_in_bytes`, `blkio.throttle.io_service_bytes`;
//! cgroup2 `cpu.stat`, `memory.current`, `io.stat`; `pids.current` in both.

use crate::ContainerCgroups;

/// What could be read; `None` where the host has no such accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub cpu_nanoseconds: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub kernel_memory_bytes: Option<u64>,
    pub io_bytes: Option<u64>,
    pub pids: Option<u64>,
}

impl ContainerCgroups {
    pub fn stats(&self) -> Stats {
        let number = |key: &str| {
            self.get(key)
                .ok()
                .and_then(|text| text.trim().parse::<u64>().ok())
        };
        let cpu_nanoseconds = number("cpuacct.usage").or_else(|| {
            let stat = self.get("cpu.stat").ok()?;
            field(&stat, "usage_usec").map(|usec| usec * 1000)
        });
        let memory_bytes = number("memory.usage_in_bytes").or_else(|| number("memory.current"));
        let kernel_memory_bytes = number("memory.kmem.usage_in_bytes").or_else(|| {
            let stat = self.get("memory.stat").ok()?;
            field(&stat, "kernel")
        });
        let io_bytes = self
            .get("blkio.throttle.io_service_bytes_recursive")
            .ok()
            .map(|text| v1_io_total(&text))
            .or_else(|| self.get("io.stat").ok().map(|text| v2_io_total(&text)));
        Stats {
            cpu_nanoseconds,
            memory_bytes,
            kernel_memory_bytes,
            io_bytes,
            pids: number("pids.current"),
        }
    }
}

/// `name value` lines (`cpu.stat`, `memory.stat`).
fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok()).flatten()
    })
}

/// The sum of the per-device `Read` and `Write` lines (the `Total` line is their sum too).
fn v1_io_total(text: &str) -> u64 {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (_, op, bytes) = (words.next()?, words.next()?, words.next()?);
            matches!(op, "Read" | "Write")
                .then(|| bytes.parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

/// `MAJ:MIN rbytes=N wbytes=N rios=N ...` per device.
fn v2_io_total(text: &str) -> u64 {
    text.split_whitespace()
        .filter_map(|word| {
            let (key, value) = word.split_once('=')?;
            matches!(key, "rbytes" | "wbytes")
                .then(|| value.parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_totals_add_reads_and_writes() {
        let v1 = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 1\n8:0 Total 12288\nTotal 12288\n";
        assert_eq!(v1_io_total(v1), 12288);
        let v2 = "8:0 rbytes=100 wbytes=20 rios=1 wios=1\n254:0 rbytes=3 wbytes=0 rios=1\n";
        assert_eq!(v2_io_total(v2), 123);
        assert_eq!(
            field("usage_usec 42\nuser_usec 40\n", "usage_usec"),
            Some(42)
        );
    }
}
