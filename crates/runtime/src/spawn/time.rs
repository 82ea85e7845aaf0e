//! The container's time namespace: its CLOCK_BOOTTIME (what /proc/uptime and `uptime` show)
//! and CLOCK_MONOTONIC start at zero when it starts, or at `lxc.time.offset.*` from the
//! host's clocks when the config says so.
//!
//! A time namespace's offsets can only be written before any process is in it, so clone3
//! cannot make it for the child: the monitor unshares it for its future children, writes the
//! offsets to `/proc/self/timens_offsets`, and the child created next is its first member.

use std::io::Write;

use crate::sys::clock_now;

/// The running kernel has time namespaces (Linux 5.6 or later, built with CONFIG_TIME_NS).
pub(crate) fn kernel_has_time_namespaces() -> bool {
    std::path::Path::new("/proc/self/ns/time").exists()
}

/// Prepares a new time namespace for this process's next children. Offsets that are not
/// configured put the clock at zero now.
pub(crate) fn prepare(
    boot_offset: Option<i64>,
    monotonic_offset: Option<i64>,
) -> std::io::Result<()> {
    super::sys::unshare_time_namespace()?;
    let now = |clock| {
        let ts = clock_now(clock);
        ts.tv_sec * 1_000_000_000 + ts.tv_nsec
    };
    let boot = boot_offset.unwrap_or_else(|| -now(libc::CLOCK_BOOTTIME));
    let monotonic = monotonic_offset.unwrap_or_else(|| -now(libc::CLOCK_MONOTONIC));
    let mut offsets = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/self/timens_offsets")?;
    for (clock, nanos) in [("monotonic", monotonic), ("boottime", boot)] {
        // One line per write: the kernel parses each write as a whole.
        let line = format!(
            "{clock} {} {}\n",
            nanos.div_euclid(1_000_000_000),
            nanos.rem_euclid(1_000_000_000)
        );
        offsets.write_all(line.as_bytes())?;
    }
    Ok(())
}
