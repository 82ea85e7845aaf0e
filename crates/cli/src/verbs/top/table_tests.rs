use rlxc_cgroup::IoBytes;

use super::*;
use crate::verbs::top::rows::tests::measured;
use crate::verbs::top::sample::NetBytes;

#[test]
fn sizes_are_short_binary_units() {
    assert_eq!(size(0), "0B");
    assert_eq!(size(999), "999B");
    assert_eq!(size(1000), "1.0K");
    assert_eq!(size(1536), "1.5K");
    assert_eq!(size(12_900_000), "12.3M");
    assert_eq!(size(256 << 20), "256M");
    assert_eq!(size(1000 << 10), "1.0M");
    assert_eq!(size(3 << 30), "3.0G");
    assert_eq!(size(u64::MAX), "16384P");
}

fn full_row() -> Row {
    let mut measured = measured("web", 0);
    measured.stats.memory_bytes = Some(12 << 20);
    measured.stats.memory_limit_bytes = Some(256 << 20);
    measured.stats.swap_bytes = Some(1 << 20);
    measured.stats.pids = Some(3);
    measured.stats.pids_max = Some(64);
    measured.stats.io = Some(IoBytes {
        read: 4096,
        written: 0,
    });
    measured.net = Some(NetBytes { rx: 2048, tx: 100 });
    Row {
        measured,
        cpu_percent: Some(99.84),
    }
}

#[test]
fn cells_pair_use_with_limit_and_say_max_for_none() {
    let row = full_row();
    let cells: Vec<String> = COLUMNS.iter().map(|c| c.cell(&row)).collect();
    assert_eq!(
        cells,
        [
            "web",
            "RUNNING",
            "99.8",
            "12.0M/256M",
            "1.0M",
            "-",
            "4.0K/0B",
            "3/64",
            "2.0K/100B"
        ]
    );
    let bare = Row {
        measured: measured("bare", 0),
        cpu_percent: None,
    };
    let cells: Vec<String> = COLUMNS.iter().map(|c| c.cell(&bare)).collect();
    assert_eq!(
        cells,
        ["bare", "RUNNING", "-", "-", "-", "-", "-", "-", "-"]
    );
    let mut unlimited = full_row();
    unlimited.measured.stats.memory_limit_bytes = None;
    unlimited.measured.stats.pids_max = None;
    assert_eq!(Column::Memory.cell(&unlimited), "12.0M/max");
    assert_eq!(Column::Pids.cell(&unlimited), "3/max");
}

#[test]
fn kernel_memory_shows_only_where_accounted() {
    let mut row = full_row();
    assert!(!useful_columns(&[row.clone()]).contains(&Column::KernelMemory));
    row.measured.stats.kernel_memory_bytes = Some(0);
    assert!(!useful_columns(&[row.clone()]).contains(&Column::KernelMemory));
    row.measured.stats.kernel_memory_bytes = Some(4096);
    assert_eq!(useful_columns(&[row.clone()]), COLUMNS);
    // Swap likewise: only where the host accounts it.
    row.measured.stats.swap_bytes = None;
    assert!(!useful_columns(&[row]).contains(&Column::Swap));
}

#[test]
fn lines_align_names_left_and_figures_right() {
    let mut other = full_row();
    other.measured.name = "a-longer-name".into();
    other.cpu_percent = Some(5.0);
    let columns = [Column::Name, Column::Cpu, Column::Pids];
    let lines = render(&[full_row(), other], &columns, None);
    assert_eq!(
        lines,
        [
            "NAME           CPU%  PIDS/MAX",
            "web            99.8      3/64",
            "a-longer-name   5.0      3/64",
        ]
    );
}

#[test]
fn narrow_terminals_drop_columns_then_cut_names() {
    let widths = [
        (Column::Name, 30),
        (Column::State, 7),
        (Column::Cpu, 5),
        (Column::Memory, 10),
        (Column::BlockIo, 13),
        (Column::Pids, 8),
        (Column::Network, 10),
    ];
    let shown = |width| -> Vec<(Column, usize)> { fit(&widths, width) };
    // Wide enough: all of it.
    assert_eq!(shown(200), widths);
    // Long names are cut to 20 before anything goes.
    let all_cut = 20 + 7 + 5 + 10 + 13 + 8 + 10 + 2 * 6;
    assert_eq!(shown(all_cut)[0], (Column::Name, 20));
    assert_eq!(shown(all_cut).len(), widths.len());
    // One short: state goes first (no kernel memory column here).
    let one_short: Vec<Column> = shown(all_cut - 1).iter().map(|(c, _)| *c).collect();
    assert_eq!(
        one_short,
        [
            Column::Name,
            Column::Cpu,
            Column::Memory,
            Column::BlockIo,
            Column::Pids,
            Column::Network
        ]
    );
    // Very narrow: name and CPU, the name cut but kept readable.
    assert_eq!(shown(20), [(Column::Name, 13), (Column::Cpu, 5)]);
    assert_eq!(shown(5), [(Column::Name, 4), (Column::Cpu, 5)]);
    // Whatever the width, the lines are no wider.
    let rows = [full_row()];
    for width in [30, 45, 60, 80] {
        for line in render(&rows, &COLUMNS, Some(width)) {
            assert!(line.chars().count() <= width, "{width}: {line:?}");
        }
    }
}

#[test]
fn cut_names_end_in_a_tilde() {
    let widths = [(Column::Name, 10), (Column::Cpu, 4)];
    let mut row = full_row();
    row.measured.name = "abcdefghij".into();
    let lines = render(&[row], &[Column::Name, Column::Cpu], Some(12));
    assert_eq!(fit(&widths, 12), [(Column::Name, 6), (Column::Cpu, 4)]);
    assert_eq!(lines[1], "abcde~  99.8");
}
