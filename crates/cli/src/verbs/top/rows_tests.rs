use std::time::{Duration, Instant};

use rlxc_cgroup::Stats;
use rlxc_runtime::state::{ProcessId, State};

use super::*;
use crate::verbs::top::sample::NetBytes;

pub(crate) fn measured(name: &str, cpu_ns: u64) -> Measured {
    Measured {
        name: name.into(),
        state: State::Running,
        init: ProcessId {
            pid: 100,
            start_time: 1,
        },
        stats: Stats {
            cpu_nanoseconds: Some(cpu_ns),
            ..Stats::default()
        },
        net: None,
    }
}

fn names(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|r| r.measured.name.as_str()).collect()
}

#[test]
fn cpu_percent_is_cpu_time_over_wall_time() {
    let second = Duration::from_secs(1);
    assert_eq!(cpu_percent(0, 1_000_000_000, second), Some(100.0));
    assert_eq!(cpu_percent(0, 250_000_000, second), Some(25.0));
    // Two CPUs busy for two seconds.
    assert_eq!(
        cpu_percent(5, 4_000_000_005, Duration::from_secs(2)),
        Some(200.0)
    );
    assert_eq!(cpu_percent(10, 10, second), Some(0.0));
    // A counter that went back is a new cgroup; no time passed is no measurement.
    assert_eq!(cpu_percent(10, 5, second), None);
    assert_eq!(cpu_percent(0, 5, Duration::ZERO), None);
}

#[test]
fn rows_pair_the_same_run_of_each_container() {
    let start = Instant::now();
    let before = Sample {
        taken: start,
        containers: vec![
            measured("busy", 0),
            measured("idle", 0),
            measured("gone", 0),
        ],
    };
    let mut restarted = measured("idle", 10);
    restarted.init.start_time = 2;
    let now = Sample {
        taken: start + Duration::from_secs(2),
        containers: vec![
            measured("busy", 1_000_000_000),
            restarted,
            measured("new", 7),
        ],
    };
    let rows = rows(Some(&before), &now);
    assert_eq!(names(&rows), ["busy", "idle", "new"]);
    assert_eq!(rows[0].cpu_percent, Some(50.0));
    assert_eq!(
        rows[1].cpu_percent, None,
        "a restarted container has no earlier sample"
    );
    assert_eq!(rows[2].cpu_percent, None);
    assert!(super::rows(None, &now)
        .iter()
        .all(|r| r.cpu_percent.is_none()));
}

fn row(name: &str, cpu: Option<f64>, memory: Option<u64>) -> Row {
    let mut measured = measured(name, 0);
    measured.stats.memory_bytes = memory;
    Row {
        measured,
        cpu_percent: cpu,
    }
}

#[test]
fn figures_sort_largest_first_names_a_to_z_and_reverse_turns_both() {
    let mut rows = vec![
        row("b", Some(5.0), Some(10)),
        row("a", None, Some(30)),
        row("c", Some(99.5), None),
        row("d", Some(5.0), Some(20)),
    ];
    sort(&mut rows, SortKey::Cpu, false);
    assert_eq!(names(&rows), ["c", "b", "d", "a"]);
    sort(&mut rows, SortKey::Cpu, true);
    assert_eq!(names(&rows), ["a", "d", "b", "c"]);
    sort(&mut rows, SortKey::Memory, false);
    assert_eq!(names(&rows), ["a", "d", "b", "c"]);
    sort(&mut rows, SortKey::Name, false);
    assert_eq!(names(&rows), ["a", "b", "c", "d"]);
    sort(&mut rows, SortKey::Name, true);
    assert_eq!(names(&rows), ["d", "c", "b", "a"]);
}

#[test]
fn network_sorts_by_bytes_both_ways() {
    let mut quiet = row("quiet", None, None);
    quiet.measured.net = Some(NetBytes { rx: 10, tx: 10 });
    let mut chatty = row("chatty", None, None);
    chatty.measured.net = Some(NetBytes { rx: 1, tx: 100 });
    let mut rows = vec![row("none", None, None), quiet, chatty];
    sort(&mut rows, SortKey::Network, false);
    assert_eq!(names(&rows), ["chatty", "quiet", "none"]);
}

#[test]
fn every_key_has_its_own_letter() {
    for key in SortKey::ALL {
        assert_eq!(SortKey::from_letter(key.letter()), Some(key));
    }
    assert_eq!(SortKey::from_letter('x'), None);
    assert_eq!(SortKey::from_letter('n'), Some(SortKey::Name));
    assert_eq!(SortKey::from_letter('N'), Some(SortKey::Network));
}
