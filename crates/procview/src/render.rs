//! The view's files, rendered from numbers: pure functions of what `sources` read, so each
//! format is tested here against what `free`, `top`, `nproc` and `uptime` parse. Lines the
//! container has no own number for are the host's, unchanged, so every file stays complete.

use std::fmt::Write;

/// Clock ticks per second in `/proc/stat` (`USER_HZ`, 100 on every Linux ABI).
pub const USER_HZ: u64 = 100;

/// The container's memory, in bytes; `None` where the cgroup sets no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    pub limit: Option<u64>,
    pub usage: u64,
    pub file: u64,
    pub anon: u64,
    pub shmem: u64,
    pub active_anon: u64,
    pub inactive_anon: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    pub unevictable: u64,
    pub mapped: u64,
    pub dirty: u64,
    pub writeback: u64,
    pub slab_reclaimable: u64,
    pub slab_unreclaimable: u64,
    /// Swap alone (not memory + swap), and how much of it is used.
    pub swap_limit: Option<u64>,
    pub swap_usage: u64,
}

/// The container's memory and swap totals in KiB, as both `/proc/meminfo` and sysinfo(2)
/// report them: the limit (never more than the host has) or the host's total where there
/// is none, and what of it is free.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryTotals {
    pub total: u64,
    pub used: u64,
    pub free: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

pub fn memory_totals(host_meminfo: &str, memory: &Memory) -> MemoryTotals {
    let host_kb = |key: &str| host_value_kb(host_meminfo, key).unwrap_or(0);
    let total = memory
        .limit
        .map_or(host_kb("MemTotal"), |l| (l / 1024).min(host_kb("MemTotal")));
    let used = (memory.usage / 1024).min(total);
    let swap_total = memory.swap_limit.map_or(host_kb("SwapTotal"), |l| {
        (l / 1024).min(host_kb("SwapTotal"))
    });
    let swap_free = match memory.swap_limit {
        Some(_) => swap_total.saturating_sub(memory.swap_usage / 1024),
        None => host_kb("SwapFree"),
    };
    MemoryTotals {
        total,
        used,
        free: total - used,
        swap_total,
        swap_free,
    }
}

/// `/proc/meminfo`: the host's file with the container's numbers in place of the host's.
pub fn meminfo(host: &str, memory: &Memory) -> String {
    let MemoryTotals {
        total,
        used,
        free,
        swap_total,
        swap_free,
    } = memory_totals(host, memory);
    let reclaimable = (memory.active_file + memory.inactive_file + memory.slab_reclaimable) / 1024;
    let kb = |bytes: u64| bytes / 1024;
    let ours = |key: &str| -> Option<u64> {
        Some(match key {
            "MemTotal" => total,
            "MemFree" => free,
            "MemAvailable" => (free + reclaimable).min(total),
            "Buffers" | "SwapCached" => 0,
            "Cached" => kb(memory.file).min(used),
            "Active" => kb(memory.active_anon + memory.active_file),
            "Inactive" => kb(memory.inactive_anon + memory.inactive_file),
            "Active(anon)" => kb(memory.active_anon),
            "Inactive(anon)" => kb(memory.inactive_anon),
            "Active(file)" => kb(memory.active_file),
            "Inactive(file)" => kb(memory.inactive_file),
            "Unevictable" => kb(memory.unevictable),
            "Dirty" => kb(memory.dirty),
            "Writeback" => kb(memory.writeback),
            "AnonPages" => kb(memory.anon),
            "Mapped" => kb(memory.mapped),
            "Shmem" => kb(memory.shmem),
            "Slab" => kb(memory.slab_reclaimable + memory.slab_unreclaimable),
            "SReclaimable" => kb(memory.slab_reclaimable),
            "SUnreclaim" => kb(memory.slab_unreclaimable),
            "SwapTotal" => swap_total,
            "SwapFree" => swap_free,
            _ => return None,
        })
    };
    let mut out = String::with_capacity(host.len());
    for line in host.lines() {
        let key = line.split(':').next().unwrap_or("");
        match ours(key).filter(|_| line.ends_with(" kB")) {
            Some(value) => {
                let _ = writeln!(out, "{:<16}{value:>8} kB", format!("{key}:"));
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

fn host_value_kb(meminfo: &str, key: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let (name, rest) = line.split_once(':')?;
        (name == key).then(|| rest.split_whitespace().next()?.parse().ok())?
    })
}

/// `/proc/swaps`: the container's swap as one virtual device, or only the header.
pub fn swaps(memory_meminfo: &str) -> String {
    let mut out = String::from("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
    let total = host_value_kb(memory_meminfo, "SwapTotal").unwrap_or(0);
    let free = host_value_kb(memory_meminfo, "SwapFree").unwrap_or(0);
    if total > 0 {
        let used = total.saturating_sub(free);
        let _ = writeln!(out, "{:<40}virtual\t\t{total}\t\t{used}\t\t-1", "none");
    }
    out
}

/// Which CPUs the container sees: the host's numbers of its cpuset, at most `ceil(quota /
/// period)` of them.
pub fn visible_cpus(cpuset: &[u32], quota: Option<(u64, u64)>) -> Vec<u32> {
    let mut cpus = cpuset.to_vec();
    if let Some((quota, period)) = quota.filter(|(_, period)| *period > 0) {
        cpus.truncate(quota.div_ceil(period).max(1) as usize);
    }
    cpus
}

/// `/sys/devices/system/cpu/online`: the visible CPUs, renumbered from 0.
pub fn cpu_online(count: usize) -> String {
    match count {
        0 | 1 => "0\n".to_string(),
        n => format!("0-{}\n", n - 1),
    }
}

/// `/proc/cpuinfo`: the host's blocks of the visible CPUs, renumbered from 0.
pub fn cpuinfo(host: &str, cpus: &[u32]) -> String {
    let mut out = String::with_capacity(host.len());
    let mut shown = 0;
    for block in host.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let number = block.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "processor").then(|| value.trim().parse::<u32>().ok())?
        });
        match number {
            Some(n) if cpus.contains(&n) => {
                for line in block.lines() {
                    match line.split_once(':') {
                        Some((key, _)) if key.trim() == "processor" => {
                            let _ = writeln!(out, "{key}: {shown}");
                        }
                        _ => {
                            out.push_str(line);
                            out.push('\n');
                        }
                    }
                }
                out.push('\n');
                shown += 1;
            }
            Some(_) => {}
            // Architectures with a common header block (s390, arm's old format): keep it.
            None => {
                out.push_str(block.trim_start_matches('\n'));
                out.push_str("\n\n");
            }
        }
    }
    out
}

/// CPU time of one visible CPU, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    pub user: u64,
    pub system: u64,
}

/// What `/proc/stat` needs beyond the host's file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatInput {
    /// Per visible CPU, in order.
    pub cpus: Vec<CpuTime>,
    /// The container's lifetime so far, in nanoseconds (idle = lifetime - busy, per CPU).
    pub lifetime_ns: u64,
    pub running: u64,
    pub blocked: u64,
    /// The container's boot time in seconds since the epoch.
    pub btime: Option<u64>,
}

/// `/proc/stat`: the container's own cpu lines; the other counters are the host's.
pub fn stat(host: &str, input: &StatInput) -> String {
    let ticks = |ns: u64| ns / (1_000_000_000 / USER_HZ);
    let line = |name: &str, user: u64, system: u64, idle: u64| {
        format!("{name} {user} 0 {system} {idle} 0 0 0 0 0 0\n")
    };
    let mut cpu_lines = String::new();
    let (mut user_sum, mut system_sum, mut idle_sum) = (0, 0, 0);
    for (i, cpu) in input.cpus.iter().enumerate() {
        let (user, system) = (ticks(cpu.user), ticks(cpu.system));
        let idle = ticks(input.lifetime_ns).saturating_sub(user + system);
        user_sum += user;
        system_sum += system;
        idle_sum += idle;
        cpu_lines.push_str(&line(&format!("cpu{i}"), user, system, idle));
    }
    let mut out = line("cpu ", user_sum, system_sum, idle_sum);
    out.push_str(&cpu_lines);
    for host_line in host.lines() {
        let key = host_line.split_whitespace().next().unwrap_or("");
        match key {
            k if k.starts_with("cpu") => {}
            "procs_running" => {
                let _ = writeln!(out, "procs_running {}", input.running.max(1));
            }
            "procs_blocked" => {
                let _ = writeln!(out, "procs_blocked {}", input.blocked);
            }
            "btime" if input.btime.is_some() => {
                let _ = writeln!(out, "btime {}", input.btime.unwrap_or(0));
            }
            _ => {
                out.push_str(host_line);
                out.push('\n');
            }
        }
    }
    out
}

/// `/proc/uptime`: the container's uptime (its time namespace's CLOCK_BOOTTIME, or its
/// lifetime without one), and its idle time summed over its CPUs, as the kernel's file sums
/// the host's.
pub fn uptime(uptime_ns: u64, busy_ns: u64, cpus: usize) -> String {
    let up = uptime_ns / 10_000_000;
    let idle = (uptime_ns.saturating_mul(cpus as u64)).saturating_sub(busy_ns) / 10_000_000;
    format!(
        "{}.{:02} {}.{:02}\n",
        up / 100,
        up % 100,
        idle / 100,
        idle % 100
    )
}

/// The container's I/O on one block device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceIo {
    pub major: u32,
    pub minor: u32,
    pub read_ios: u64,
    pub read_bytes: u64,
    pub write_ios: u64,
    pub write_bytes: u64,
}

/// `/proc/diskstats`: one line per device the container did I/O on, named as on the host.
pub fn diskstats(host: &str, devices: &[DeviceIo]) -> String {
    let mut out = String::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        let (Some(major), Some(minor), Some(name)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse::<u32>(), minor.parse::<u32>()) else {
            continue;
        };
        let Some(io) = devices
            .iter()
            .find(|d| d.major == major && d.minor == minor)
        else {
            continue;
        };
        let _ = writeln!(
            out,
            "{major:>4} {minor:>7} {name} {} 0 {} 0 {} 0 {} 0 0 0 0 0 0 0 0 0 0",
            io.read_ios,
            io.read_bytes / 512,
            io.write_ios,
            io.write_bytes / 512
        );
    }
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
