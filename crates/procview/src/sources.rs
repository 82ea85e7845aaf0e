//! The numbers behind the view, read from the container's cgroups (v1 or cgroup2, whichever
//! holds each controller) and the host's own /proc and /sys. A file that cannot be read
//! gives the host's number or zero: the view must always answer.

use std::fs;
use std::path::{Path, PathBuf};

use rlxc_cgroup::{ContainerCgroups, LeafRecord};

use super::render::{CpuTime, DeviceIo, Memory};

/// Where the server reads from; the roots are parameters so tests can point them elsewhere.
#[derive(Debug, Clone)]
pub struct Sources {
    pub cgroup_paths: Vec<PathBuf>,
    /// The leaves with their controllers (see `ContainerCgroups::reopen`): each render finds
    /// a key's file in its hierarchy at once.
    pub cgroup_leaves: Vec<LeafRecord>,
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
}

impl Sources {
    pub fn new(cgroup_paths: Vec<PathBuf>, cgroup_leaves: Vec<LeafRecord>) -> Sources {
        Sources {
            cgroup_paths,
            cgroup_leaves,
            proc_root: PathBuf::from("/proc"),
            sys_root: PathBuf::from("/sys"),
        }
    }

    pub fn cgroups(&self) -> ContainerCgroups {
        ContainerCgroups::reopen(self.cgroup_paths.clone(), &self.cgroup_leaves)
    }

    pub fn host_file(&self, relative: &str) -> String {
        fs::read_to_string(self.proc_root.join(relative)).unwrap_or_default()
    }

    /// The host CPUs the container may run on (its cpuset, else every online CPU).
    pub fn cpuset(&self, cgroups: &ContainerCgroups) -> Vec<u32> {
        let text = ["cpuset.effective_cpus", "cpuset.cpus.effective"]
            .iter()
            .find_map(|key| cgroups.get(key).ok().filter(|t| !t.trim().is_empty()))
            .or_else(|| fs::read_to_string(self.sys_root.join("devices/system/cpu/online")).ok())
            .unwrap_or_default();
        let cpus = parse_cpu_list(&text);
        if cpus.is_empty() {
            vec![0]
        } else {
            cpus
        }
    }
}

/// `0-2,5` → `[0, 1, 2, 5]`.
pub fn parse_cpu_list(text: &str) -> Vec<u32> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(first), Ok(last)) = (first.trim().parse::<u32>(), last.trim().parse::<u32>()) {
            cpus.extend(first..=last.min(first.saturating_add(4096)));
        }
    }
    cpus
}

/// The CPU quota as `(quota, period)`, if one is set (v1 `cpu.cfs_*`, cgroup2 `cpu.max`).
pub fn cpu_quota(cgroups: &ContainerCgroups) -> Option<(u64, u64)> {
    let number = |key: &str| cgroups.get(key).ok()?.trim().parse::<i64>().ok();
    if let (Some(quota), Some(period)) = (number("cpu.cfs_quota_us"), number("cpu.cfs_period_us")) {
        return (quota > 0 && period > 0).then_some((quota as u64, period as u64));
    }
    parse_cpu_max(&cgroups.get("cpu.max").ok()?)
}

/// `max 100000` (no quota) or `150000 100000`.
pub fn parse_cpu_max(text: &str) -> Option<(u64, u64)> {
    let mut words = text.split_whitespace();
    let quota = words.next()?.parse().ok()?;
    let period = words.next().unwrap_or("100000").parse().ok()?;
    Some((quota, period))
}

/// CPU time per visible CPU: v1 `cpuacct.usage_all` has it per CPU; cgroup2 has only totals,
/// spread evenly over the visible CPUs.
pub fn cpu_times(cgroups: &ContainerCgroups, visible: &[u32]) -> Vec<CpuTime> {
    if let Ok(text) = cgroups.get("cpuacct.usage_all") {
        let split = parse_usage_all(&text);
        // usage_all's user/system are sampled at ticks; usage_percpu is the scheduler's exact
        // runtime (what `cpuacct.usage` sums): its total, split as the ticks split it.
        let exact = cgroups
            .get("cpuacct.usage_percpu")
            .map(|t| {
                t.split_whitespace()
                    .filter_map(|w| w.parse().ok())
                    .collect()
            })
            .unwrap_or_else(|_| Vec::new());
        return visible
            .iter()
            .map(|cpu| {
                let ticks = split.get(*cpu as usize).copied().unwrap_or_default();
                match exact.get(*cpu as usize) {
                    Some(total) => split_like(*total, ticks),
                    None => ticks,
                }
            })
            .collect();
    }
    let stat = cgroups.get("cpu.stat").unwrap_or_default();
    let usec = |key| field(&stat, key).unwrap_or(0) * 1000;
    let n = visible.len().max(1) as u64;
    let share = CpuTime {
        user: usec("user_usec") / n,
        system: usec("system_usec") / n,
    };
    vec![share; visible.len()]
}

/// `total` nanoseconds, divided between user and system in the proportion of `like`.
pub fn split_like(total: u64, like: CpuTime) -> CpuTime {
    let sampled = u128::from(like.user) + u128::from(like.system);
    let user = match sampled {
        0 => total,
        _ => (u128::from(total) * u128::from(like.user) / sampled) as u64,
    };
    CpuTime {
        user,
        system: total - user,
    }
}

/// `cpu user system` then one line per host CPU, in nanoseconds.
pub fn parse_usage_all(text: &str) -> Vec<CpuTime> {
    let mut times = Vec::new();
    for line in text.lines().skip(1) {
        let numbers: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        if let [cpu, user, system] = numbers[..] {
            let cpu = cpu as usize;
            if times.len() <= cpu {
                times.resize(cpu + 1, CpuTime::default());
            }
            times[cpu] = CpuTime { user, system };
        }
    }
    times
}

/// The container's memory and swap from `memory.*` (v1) or `memory.*`/`memory.swap.*` (v2).
pub fn memory(cgroups: &ContainerCgroups) -> Memory {
    let number = |key: &str| -> Option<u64> { cgroups.get(key).ok()?.trim().parse().ok() };
    let stat = cgroups.get("memory.stat").unwrap_or_default();
    let v1 = cgroups.has("memory.limit_in_bytes");
    let stat_of =
        |v1_key: &str, v2_key: &str| field(&stat, if v1 { v1_key } else { v2_key }).unwrap_or(0);
    // v1 says "no limit" with a huge number (PAGE_COUNTER_MAX pages), cgroup2 with "max".
    let real_limit = |limit: Option<u64>| limit.filter(|l| *l < (1 << 60));
    let (limit, usage, swap_limit, swap_usage) = if v1 {
        let limit = real_limit(number("memory.limit_in_bytes"));
        let usage = number("memory.usage_in_bytes").unwrap_or(0);
        let memsw_limit = real_limit(number("memory.memsw.limit_in_bytes"));
        let memsw_usage = number("memory.memsw.usage_in_bytes").unwrap_or(usage);
        let swap_limit = match (memsw_limit, limit) {
            (Some(both), Some(memory)) => Some(both.saturating_sub(memory)),
            _ => None,
        };
        (limit, usage, swap_limit, memsw_usage.saturating_sub(usage))
    } else {
        (
            real_limit(number("memory.max")),
            number("memory.current").unwrap_or(0),
            real_limit(number("memory.swap.max")),
            number("memory.swap.current").unwrap_or(0),
        )
    };
    Memory {
        limit,
        usage,
        file: stat_of("total_cache", "file"),
        anon: stat_of("total_rss", "anon"),
        shmem: stat_of("total_shmem", "shmem"),
        active_anon: stat_of("total_active_anon", "active_anon"),
        inactive_anon: stat_of("total_inactive_anon", "inactive_anon"),
        active_file: stat_of("total_active_file", "active_file"),
        inactive_file: stat_of("total_inactive_file", "inactive_file"),
        unevictable: stat_of("total_unevictable", "unevictable"),
        mapped: stat_of("total_mapped_file", "file_mapped"),
        dirty: stat_of("total_dirty", "file_dirty"),
        writeback: stat_of("total_writeback", "file_writeback"),
        slab_reclaimable: stat_of("-", "slab_reclaimable"),
        slab_unreclaimable: stat_of("-", "slab_unreclaimable"),
        swap_limit,
        swap_usage,
    }
}

/// Block I/O per device: v1 `blkio.throttle.io_serviced_recursive` and
/// `io_service_bytes_recursive`, cgroup2 `io.stat`.
pub fn block_io(cgroups: &ContainerCgroups) -> Vec<DeviceIo> {
    match (
        cgroups.get("blkio.throttle.io_serviced_recursive"),
        cgroups.get("blkio.throttle.io_service_bytes_recursive"),
    ) {
        (Ok(ios), Ok(bytes)) => parse_v1_io(&ios, &bytes),
        _ => parse_io_stat(&cgroups.get("io.stat").unwrap_or_default()),
    }
}

fn device_entry(devices: &mut Vec<DeviceIo>, device: &str) -> Option<usize> {
    let (major, minor) = device.split_once(':')?;
    let (major, minor) = (major.parse().ok()?, minor.parse().ok()?);
    Some(
        match devices
            .iter()
            .position(|d| d.major == major && d.minor == minor)
        {
            Some(i) => i,
            None => {
                devices.push(DeviceIo {
                    major,
                    minor,
                    ..DeviceIo::default()
                });
                devices.len() - 1
            }
        },
    )
}

/// `8:0 Read 12` lines of both v1 files.
pub fn parse_v1_io(ios: &str, bytes: &str) -> Vec<DeviceIo> {
    let mut devices = Vec::new();
    for (text, is_bytes) in [(ios, false), (bytes, true)] {
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let [device, op, value] = words[..] else {
                continue;
            };
            let (Some(i), Ok(value)) = (device_entry(&mut devices, device), value.parse::<u64>())
            else {
                continue;
            };
            let entry = &mut devices[i];
            match (op, is_bytes) {
                ("Read", false) => entry.read_ios = value,
                ("Write", false) => entry.write_ios = value,
                ("Read", true) => entry.read_bytes = value,
                ("Write", true) => entry.write_bytes = value,
                _ => {}
            }
        }
    }
    devices
}

/// `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per line.
pub fn parse_io_stat(text: &str) -> Vec<DeviceIo> {
    let mut devices = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let Some(i) = words.next().and_then(|d| device_entry(&mut devices, d)) else {
            continue;
        };
        for word in words {
            let Some((key, value)) = word.split_once('=') else {
                continue;
            };
            let value = value.parse().unwrap_or(0);
            let entry = &mut devices[i];
            match key {
                "rbytes" => entry.read_bytes = value,
                "wbytes" => entry.write_bytes = value,
                "rios" => entry.read_ios = value,
                "wios" => entry.write_ios = value,
                _ => {}
            }
        }
    }
    devices
}

/// The container's tasks right now: how many run, how many wait on I/O, how many there are,
/// and the newest pid as the container numbers it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tasks {
    pub running: u64,
    pub blocked: u64,
    pub total: u64,
    pub newest_pid: u64,
}

/// Walks one hierarchy of the container's cgroups (nested ones too) and reads each thread's
/// state from `/proc/TID/stat`, as the kernel counts `nr_running + nr_uninterruptible`.
pub fn tasks(sources: &Sources, cgroups: &ContainerCgroups) -> Tasks {
    let mut tids = Vec::new();
    if let Some(leaf) = cgroups.leaves().next() {
        collect_tids(leaf, &mut tids, 0);
    }
    let mut tasks = Tasks::default();
    let mut newest_host_pid = 0;
    for tid in tids {
        let Ok(stat) = fs::read_to_string(sources.proc_root.join(format!("{tid}/stat"))) else {
            continue;
        };
        tasks.total += 1;
        match stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
        {
            Some('R') => tasks.running += 1,
            Some('D') => tasks.blocked += 1,
            _ => {}
        }
        newest_host_pid = newest_host_pid.max(tid);
    }
    tasks.newest_pid =
        fs::read_to_string(sources.proc_root.join(format!("{newest_host_pid}/status")))
            .ok()
            .and_then(|status| innermost_pid(&status))
            .unwrap_or(0);
    tasks
}

fn collect_tids(dir: &Path, tids: &mut Vec<u64>, depth: usize) {
    let listing = fs::read_to_string(dir.join("cgroup.threads"))
        .or_else(|_| fs::read_to_string(dir.join("tasks")))
        .unwrap_or_default();
    tids.extend(listing.lines().filter_map(|l| l.trim().parse::<u64>().ok()));
    if depth >= 16 {
        return;
    }
    for child in subdirectories(dir) {
        collect_tids(&dir.join(child), tids, depth + 1);
    }
}

/// The directories in `dir`. Through rustix, whose buffer is the caller's allocator's, not
/// std's `read_dir`: glibc's opendir takes its buffer from glibc's heap, whose pages the view's
/// server shares with its monitor (see `heap`).
fn subdirectories(dir: &Path) -> Vec<std::ffi::OsString> {
    use rustix::fs::{Dir, FileType, Mode, OFlags};
    use std::os::unix::ffi::OsStrExt;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(mut entries) = rustix::fs::open(dir, flags, Mode::empty()).and_then(Dir::new) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    while let Some(Ok(entry)) = entries.read() {
        let name = entry.file_name().to_bytes();
        if entry.file_type() == FileType::Directory && name != b"." && name != b".." {
            found.push(std::ffi::OsStr::from_bytes(name).to_os_string());
        }
    }
    found
}

/// The last number of `NSpid:` in `/proc/PID/status`: the pid in the innermost namespace.
pub fn innermost_pid(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .and_then(|pids| pids.split_whitespace().last()?.parse().ok())
}

/// `name value` lines (`cpu.stat`, `memory.stat`).
fn field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_and_quotas_parse() {
        assert_eq!(parse_cpu_list("0-2,5\n"), vec![0, 1, 2, 5]);
        assert_eq!(parse_cpu_list("1"), vec![1]);
        assert_eq!(parse_cpu_list(""), Vec::<u32>::new());
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("150000 100000\n"), Some((150000, 100000)));
    }

    #[test]
    fn usage_all_is_per_cpu() {
        let times = parse_usage_all("cpu user system\n0 10 20\n1 30 40\n");
        assert_eq!(
            times[1],
            CpuTime {
                user: 30,
                system: 40
            }
        );
    }

    #[test]
    fn the_exact_total_is_split_as_the_ticks_split_it() {
        let ticks = CpuTime {
            user: 300,
            system: 100,
        };
        assert_eq!(
            split_like(1000, ticks),
            CpuTime {
                user: 750,
                system: 250
            }
        );
        assert_eq!(
            split_like(10, CpuTime::default()),
            CpuTime {
                user: 10,
                system: 0
            }
        );
    }

    #[test]
    fn io_parses_on_both_versions() {
        let v1 = parse_v1_io(
            "8:0 Read 3\n8:0 Write 2\n8:0 Total 5\nTotal 5\n",
            "8:0 Read 4096\n8:0 Write 1024\n",
        );
        let v2 = parse_io_stat("8:0 rbytes=4096 wbytes=1024 rios=3 wios=2 dbytes=0 dios=0\n");
        assert_eq!(v1, v2);
        assert_eq!(v1[0].read_ios, 3);
        assert_eq!(v1[0].write_bytes, 1024);
    }

    #[test]
    fn the_innermost_pid_is_the_last() {
        assert_eq!(innermost_pid("Name:\tsh\nNSpid:\t4242\t17\n"), Some(17));
    }
}
