//! The rows as text: one column per figure, sizes in binary units, and as many columns as
//! the terminal has room for (the least important go first).

use super::rows::Row;

/// The columns, in the order they are shown. Headers are single words, so `awk` can count
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    State,
    Cpu,
    Memory,
    Swap,
    KernelMemory,
    BlockIo,
    Pids,
    Network,
}

/// Every column, in display order.
pub const COLUMNS: [Column; 9] = [
    Column::Name,
    Column::State,
    Column::Cpu,
    Column::Memory,
    Column::Swap,
    Column::KernelMemory,
    Column::BlockIo,
    Column::Pids,
    Column::Network,
];

/// Which columns go first when the terminal is too narrow (name and CPU stay).
const DROP_ORDER: [Column; 7] = [
    Column::Swap,
    Column::KernelMemory,
    Column::State,
    Column::Network,
    Column::BlockIo,
    Column::Pids,
    Column::Memory,
];

/// A name is cut to this many characters before any column is dropped, and never below
/// [`NAME_MIN`].
const NAME_CUT: usize = 20;
const NAME_MIN: usize = 4;
const GAP: &str = "  ";

impl Column {
    pub fn header(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::State => "STATE",
            Column::Cpu => "CPU%",
            Column::Memory => "MEM/LIMIT",
            Column::Swap => "SWAP",
            Column::KernelMemory => "KMEM",
            Column::BlockIo => "BLKIO(R/W)",
            Column::Pids => "PIDS/MAX",
            Column::Network => "NET(RX/TX)",
        }
    }

    pub fn cell(self, row: &Row) -> String {
        let stats = &row.measured.stats;
        match self {
            Column::Name => row.measured.name.clone(),
            Column::State => row.measured.state.name().to_string(),
            Column::Cpu => row
                .cpu_percent
                .map_or_else(|| "-".into(), |cpu| format!("{cpu:.1}")),
            Column::Memory => pair(
                stats.memory_bytes.map(size),
                Some(stats.memory_limit_bytes.map_or_else(|| "max".into(), size)),
            ),
            Column::Swap => stats.swap_bytes.map_or_else(|| "-".into(), size),
            Column::KernelMemory => stats.kernel_memory_bytes.map_or_else(|| "-".into(), size),
            Column::BlockIo => pair(
                stats.io.map(|io| size(io.read)),
                stats.io.map(|io| size(io.written)),
            ),
            Column::Pids => pair(
                stats.pids.map(|n| n.to_string()),
                Some(
                    stats
                        .pids_max
                        .map_or_else(|| "max".into(), |n| n.to_string()),
                ),
            ),
            Column::Network => pair(
                row.measured.net.map(|net| size(net.rx)),
                row.measured.net.map(|net| size(net.tx)),
            ),
        }
    }
}

/// `USE/LIMIT`, `READ/WRITE`; just `-` when the host has no such figure.
fn pair(first: Option<String>, second: Option<String>) -> String {
    match (first, second) {
        (Some(first), Some(second)) => format!("{first}/{second}"),
        _ => "-".into(),
    }
}

/// A size in binary units, short: `512B`, `12.3K`, `256M`, `1.5G` (K = KiB, ...); never
/// more than three digits, so 1000 KiB is already `1.0M`.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 999.5 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes}B"),
        _ if value >= 99.95 => format!("{value:.0}{}", UNITS[unit]),
        _ => format!("{value:.1}{}", UNITS[unit]),
    }
}

/// The columns worth showing for these rows: kernel memory only where some container has
/// it accounted (as lxc-top), swap only where the host accounts it.
pub fn useful_columns(rows: &[Row]) -> Vec<Column> {
    let swap = rows
        .iter()
        .any(|row| row.measured.stats.swap_bytes.is_some());
    let kmem = rows.iter().any(|row| {
        row.measured
            .stats
            .kernel_memory_bytes
            .is_some_and(|n| n > 0)
    });
    COLUMNS
        .into_iter()
        .filter(|column| *column != Column::KernelMemory || kmem)
        .filter(|column| *column != Column::Swap || swap)
        .collect()
}

/// The header and the rows as lines, fitted to `width` characters when given.
pub fn render(rows: &[Row], columns: &[Column], width: Option<usize>) -> Vec<String> {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|column| column.cell(row)).collect())
        .collect();
    let widths: Vec<(Column, usize)> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let widest = cells.iter().map(|row| row[i].chars().count()).max();
            (*column, widest.unwrap_or(0).max(column.header().len()))
        })
        .collect();
    let fitted = match width {
        Some(width) => fit(&widths, width),
        None => widths.clone(),
    };
    let line = |texts: &dyn Fn(usize) -> String| {
        let parts: Vec<String> = fitted
            .iter()
            .map(|(column, width)| {
                let i = columns.iter().position(|c| c == column).unwrap_or(0);
                align(*column, &texts(i), *width)
            })
            .collect();
        parts.join(GAP).trim_end().to_string()
    };
    let mut lines = vec![line(&|i| columns[i].header().to_string())];
    lines.extend(cells.iter().map(|row| line(&|i| row[i].clone())));
    lines
}

/// Names to the left (cut to the width), figures to the right.
fn align(column: Column, text: &str, width: usize) -> String {
    if column == Column::Name {
        let cut: String = if text.chars().count() > width {
            text.chars()
                .take(width.saturating_sub(1))
                .chain(['~'])
                .collect()
        } else {
            text.to_string()
        };
        format!("{cut:<width$}")
    } else {
        format!("{text:>width$}")
    }
}

/// The columns (with their widths) that fit in `width`: first long names are cut to
/// [`NAME_CUT`], then columns are dropped in [`DROP_ORDER`], then names are cut further
/// (never below [`NAME_MIN`]).
pub fn fit(columns: &[(Column, usize)], width: usize) -> Vec<(Column, usize)> {
    let total = |columns: &[(Column, usize)]| {
        columns.iter().map(|(_, w)| w).sum::<usize>() + GAP.len() * columns.len().saturating_sub(1)
    };
    let mut kept = columns.to_vec();
    let cut_name = |kept: &mut Vec<(Column, usize)>, floor: usize| {
        let over = total(kept).saturating_sub(width);
        if let Some((_, name)) = kept.iter_mut().find(|(c, _)| *c == Column::Name) {
            *name = name.saturating_sub(over).max(floor.min(*name));
        }
    };
    cut_name(&mut kept, NAME_CUT);
    for dropped in DROP_ORDER {
        if total(&kept) <= width {
            break;
        }
        kept.retain(|(column, _)| *column != dropped);
    }
    cut_name(&mut kept, NAME_MIN);
    kept
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
