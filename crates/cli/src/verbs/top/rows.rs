//! From two samples to the rows `rlxc top` shows: CPU % from the difference of CPU time over
//! the time between the samples, and the order the user asked for.

use std::cmp::Ordering;
use std::time::Duration;

use super::sample::{Measured, Sample};

/// One container as shown: its numbers and its CPU use since the previous sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub measured: Measured,
    /// 100 is one CPU busy all the time; `None` without an earlier sample of the same run.
    pub cpu_percent: Option<f64>,
}

/// The rows of `now`, with CPU % against `previous` where it has the same container (same
/// name, same init).
pub fn rows(previous: Option<&Sample>, now: &Sample) -> Vec<Row> {
    now.containers
        .iter()
        .map(|measured| {
            let cpu_percent = previous.and_then(|previous| {
                let before = previous
                    .containers
                    .iter()
                    .find(|m| m.name == measured.name && m.init == measured.init)?;
                cpu_percent(
                    before.stats.cpu_nanoseconds?,
                    measured.stats.cpu_nanoseconds?,
                    now.taken.saturating_duration_since(previous.taken),
                )
            });
            Row {
                measured: measured.clone(),
                cpu_percent,
            }
        })
        .collect()
}

/// CPU time used between two readings as a share of the wall time between them, in percent
/// of one CPU. `None` when no time passed or the counter went backwards (a new cgroup).
pub fn cpu_percent(before_ns: u64, after_ns: u64, elapsed: Duration) -> Option<f64> {
    let used = after_ns.checked_sub(before_ns)?;
    let elapsed = elapsed.as_nanos();
    (elapsed > 0).then(|| used as f64 * 100.0 / elapsed as f64)
}

/// What the rows are ordered by: LXC's lxc-top letters (`n c b m s k`) and rlxc's `p`
/// (pids) and `N` (network bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Cpu,
    BlockIo,
    Memory,
    MemorySwap,
    KernelMemory,
    Pids,
    Network,
}

impl SortKey {
    pub const ALL: [SortKey; 8] = [
        SortKey::Name,
        SortKey::Cpu,
        SortKey::BlockIo,
        SortKey::Memory,
        SortKey::MemorySwap,
        SortKey::KernelMemory,
        SortKey::Pids,
        SortKey::Network,
    ];

    pub fn letter(self) -> char {
        match self {
            SortKey::Name => 'n',
            SortKey::Cpu => 'c',
            SortKey::BlockIo => 'b',
            SortKey::Memory => 'm',
            SortKey::MemorySwap => 's',
            SortKey::KernelMemory => 'k',
            SortKey::Pids => 'p',
            SortKey::Network => 'N',
        }
    }

    pub fn from_letter(letter: char) -> Option<SortKey> {
        Self::ALL.into_iter().find(|key| key.letter() == letter)
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Cpu => "cpu",
            SortKey::BlockIo => "block i/o",
            SortKey::Memory => "memory",
            SortKey::MemorySwap => "memory + swap",
            SortKey::KernelMemory => "kernel memory",
            SortKey::Pids => "pids",
            SortKey::Network => "network",
        }
    }

    /// The number a row is sorted by (`None` for name, and where the host has no figure).
    fn value(self, row: &Row) -> Option<f64> {
        let stats = &row.measured.stats;
        let bytes = |n: Option<u64>| n.map(|n| n as f64);
        match self {
            SortKey::Name => None,
            SortKey::Cpu => row.cpu_percent,
            SortKey::BlockIo => bytes(stats.io_bytes),
            SortKey::Memory => bytes(stats.memory_bytes),
            SortKey::MemorySwap => bytes(
                stats
                    .memory_bytes
                    .map(|memory| memory + stats.swap_bytes.unwrap_or(0)),
            ),
            SortKey::KernelMemory => bytes(stats.kernel_memory_bytes),
            SortKey::Pids => bytes(stats.pids),
            SortKey::Network => bytes(row.measured.net.map(|net| net.rx + net.tx)),
        }
    }
}

/// As lxc-top: names A to Z, figures largest first (a missing figure last); `reverse` turns
/// either round. Ties go by name.
pub fn sort(rows: &mut [Row], key: SortKey, reverse: bool) {
    rows.sort_by(|a, b| {
        let by_name = a.measured.name.cmp(&b.measured.name);
        let order = match key {
            SortKey::Name => by_name,
            _ => compare_figures(key.value(b), key.value(a)).then(by_name),
        };
        if reverse {
            order.reverse()
        } else {
            order
        }
    });
}

/// `None` below every number.
fn compare_figures(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (a, b) => a.is_some().cmp(&b.is_some()),
    }
}

#[cfg(test)]
#[path = "rows_tests.rs"]
pub(crate) mod tests;
