use super::*;

const HOST_MEMINFO: &str = "MemTotal:       16000000 kB\nMemFree:        8000000 kB\nMemAvailable:   12000000 kB\nBuffers:          100000 kB\nCached:          3000000 kB\nSwapCached:            0 kB\nActive:          2000000 kB\nInactive:        1000000 kB\nSwapTotal:       1000000 kB\nSwapFree:         900000 kB\nShmem:             10000 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n";

fn field(text: &str, key: &str) -> u64 {
    host_value_kb(text, key).unwrap_or_else(|| panic!("{key} missing in\n{text}"))
}

#[test]
fn meminfo_total_is_the_limit_and_free_is_what_the_cgroup_does_not_use() {
    let memory = Memory {
        limit: Some(256 << 20),
        usage: 56 << 20,
        file: 16 << 20,
        inactive_file: 16 << 20,
        ..Memory::default()
    };
    let text = meminfo(HOST_MEMINFO, &memory);
    assert_eq!(field(&text, "MemTotal"), 262144);
    assert_eq!(field(&text, "MemFree"), 262144 - 57344);
    assert_eq!(field(&text, "MemAvailable"), 262144 - 57344 + 16384);
    assert_eq!(field(&text, "Cached"), 16384);
    assert_eq!(field(&text, "Buffers"), 0);
    // No swap limit: the host's swap; lines we do not know stay the host's.
    assert_eq!(field(&text, "SwapTotal"), 1000000);
    assert!(text.contains("HugePages_Total:       0\n"));
    assert!(text.contains("MemTotal:         262144 kB\n"), "{text}");
}

#[test]
fn meminfo_without_a_limit_shows_the_host_total_and_a_swap_limit_caps_swap() {
    let memory = Memory {
        usage: 1 << 30,
        swap_limit: Some(100 << 20),
        swap_usage: 10 << 20,
        ..Memory::default()
    };
    let text = meminfo(HOST_MEMINFO, &memory);
    assert_eq!(field(&text, "MemTotal"), 16000000);
    assert_eq!(field(&text, "MemFree"), 16000000 - 1048576);
    assert_eq!(field(&text, "SwapTotal"), 102400);
    assert_eq!(field(&text, "SwapFree"), 92160);
    let swaps_text = swaps(&text);
    assert!(swaps_text.starts_with("Filename\t"));
    assert!(
        swaps_text.contains("virtual\t\t102400\t\t10240\t\t-1"),
        "{swaps_text}"
    );
}

#[test]
fn swaps_has_only_the_header_without_swap() {
    assert_eq!(
        swaps("SwapTotal: 0 kB\nSwapFree: 0 kB\n").lines().count(),
        1
    );
}

#[test]
fn a_quota_rounds_up_and_never_adds_cpus() {
    assert_eq!(
        visible_cpus(&[0, 1, 2, 3], Some((150_000, 100_000))),
        vec![0, 1]
    );
    assert_eq!(
        visible_cpus(&[2, 3], Some((1_000_000, 100_000))),
        vec![2, 3]
    );
    assert_eq!(visible_cpus(&[1], None), vec![1]);
    assert_eq!(cpu_online(1), "0\n");
    assert_eq!(cpu_online(3), "0-2\n");
}

#[test]
fn cpuinfo_keeps_the_visible_blocks_renumbered() {
    let host = "processor\t: 0\nmodel name\t: A\n\nprocessor\t: 1\nmodel name\t: B\n\n";
    let text = cpuinfo(host, &[1]);
    assert_eq!(text, "processor\t: 0\nmodel name\t: B\n\n");
}

#[test]
fn stat_has_the_containers_cpus_and_the_hosts_other_lines() {
    let host = "cpu  1 2 3 4 5 6 7 0 0 0\ncpu0 1 2 3 4 5 6 7 0 0 0\ncpu1 1 2 3 4 5 6 7 0 0 0\nintr 5\nctxt 9\nbtime 1000\nprocesses 3\nprocs_running 7\nprocs_blocked 2\n";
    let input = StatInput {
        cpus: vec![CpuTime {
            user: 2_000_000_000,
            system: 500_000_000,
        }],
        lifetime_ns: 10_000_000_000,
        running: 1,
        blocked: 0,
        btime: Some(5000),
    };
    let text = stat(host, &input);
    assert_eq!(
        text,
        "cpu  200 0 50 750 0 0 0 0 0 0\ncpu0 200 0 50 750 0 0 0 0 0 0\nintr 5\nctxt 9\nbtime 5000\nprocesses 3\nprocs_running 1\nprocs_blocked 0\n"
    );
}

#[test]
fn uptime_is_lifetime_and_idle_over_all_cpus() {
    assert_eq!(uptime(12_345_000_000, 4_000_000_000, 2), "12.34 20.69\n");
}

#[test]
fn diskstats_names_the_containers_devices_as_the_host_does() {
    let host = "   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n   8       1 sda1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n";
    let io = DeviceIo {
        major: 8,
        minor: 0,
        read_ios: 3,
        read_bytes: 4096,
        write_ios: 2,
        write_bytes: 1024,
    };
    let text = diskstats(host, &[io]);
    assert_eq!(text, "   8       0 sda 3 0 8 0 2 0 2 0 0 0 0 0 0 0 0 0 0\n");
    assert_eq!(text.split_whitespace().count(), 20);
}
