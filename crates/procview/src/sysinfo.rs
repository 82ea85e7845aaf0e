//! sysinfo(2) answered from the container's own numbers. busybox `free` and `uptime` (and
//! anything reading `sysinfo`) ask the kernel, not /proc, so the view's files alone leave
//! them showing the host. The container's first process installs a one-rule seccomp filter
//! that hands native sysinfo calls to a listener (`seccomp::sysinfo_notify_program`); the
//! view's server holds the listener and answers each call with the same numbers its
//! `/proc/meminfo` and `/proc/loadavg` show, written straight into the caller's buffer.
//! `rlxc attach` installs the same filter in its confiner; the monitor hands that listener
//! to the server too, which answers all of them in its one loop.
//!
//! Whatever goes wrong on our side, the kernel answers instead (`CONTINUE`): the container
//! never hangs or fails because of the view. If every holder of the listener is gone (the
//! monitor died, and with it the server), the kernel fails the call with ENOSYS; init dies
//! with the monitor (its parent-death signal), so that lasts only as long as the container.

use std::os::fd::BorrowedFd;

use super::load::{LoadAverage, FIXED_1};
use super::render::MemoryTotals;
use super::sys::{self, Notification, Reply};

/// `struct sysinfo` on x86_64 and aarch64 (the same LP64 layout): 112 bytes.
pub const SYSINFO_LEN: usize = 112;
/// sysinfo's loads are fixed-point with 16 bits of fraction, the load average's with 11.
const SI_LOAD_SHIFT: u32 = 16;

/// What sysinfo reports, in the units of `struct sysinfo` with `mem_unit = 1` (bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answer {
    pub uptime: i64,
    pub loads: [u64; 3],
    pub totalram: u64,
    pub freeram: u64,
    pub sharedram: u64,
    pub bufferram: u64,
    pub totalswap: u64,
    pub freeswap: u64,
    pub procs: u16,
}

impl Answer {
    /// From the container's numbers: its CLOCK_BOOTTIME, the view's load average, its memory
    /// totals (KiB, as `/proc/meminfo` shows them), its shared memory (bytes) and its tasks.
    pub fn new(
        boottime_ns: u64,
        load: LoadAverage,
        totals: &MemoryTotals,
        shmem: u64,
        tasks: u64,
    ) -> Answer {
        let seconds = boottime_ns / 1_000_000_000;
        // As the kernel rounds: a started second counts.
        let uptime = seconds + u64::from(!boottime_ns.is_multiple_of(1_000_000_000));
        let shift = SI_LOAD_SHIFT - FIXED_1.trailing_zeros();
        Answer {
            uptime: i64::try_from(uptime).unwrap_or(i64::MAX),
            loads: load.0.map(|l| l << shift),
            totalram: totals.total * 1024,
            freeram: totals.free * 1024,
            sharedram: shmem.min(totals.total * 1024),
            // The view's meminfo says Buffers 0 too: cgroups count no buffers of their own.
            bufferram: 0,
            totalswap: totals.swap_total * 1024,
            freeswap: totals.swap_free * 1024,
            procs: u16::try_from(tasks).unwrap_or(u16::MAX),
        }
    }

    /// The bytes of `struct sysinfo` (native byte order, LP64 layout), `mem_unit` 1.
    pub fn to_bytes(self) -> [u8; SYSINFO_LEN] {
        let mut bytes = [0u8; SYSINFO_LEN];
        let mut put = |offset: usize, value: &[u8]| {
            bytes[offset..offset + value.len()].copy_from_slice(value);
        };
        put(0, &self.uptime.to_ne_bytes());
        for (i, load) in self.loads.iter().enumerate() {
            put(8 + i * 8, &load.to_ne_bytes());
        }
        put(32, &self.totalram.to_ne_bytes());
        put(40, &self.freeram.to_ne_bytes());
        put(48, &self.sharedram.to_ne_bytes());
        put(56, &self.bufferram.to_ne_bytes());
        put(64, &self.totalswap.to_ne_bytes());
        put(72, &self.freeswap.to_ne_bytes());
        put(80, &self.procs.to_ne_bytes());
        // totalhigh and freehigh (88, 96) stay 0: no high memory on 64-bit.
        put(104, &1u32.to_ne_bytes());
        bytes
    }
}

/// How one notification was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Answered(Reply),
    /// The caller went away (killed, or interrupted by a signal): no answer is owed.
    CallerGone,
}

/// Answers one notification: sysinfo from `answer` written into the caller's buffer, checked
/// valid before and after the write (the pid could have been reused in between); anything
/// else (another call, or the call of an arch other than `arch`), or anything failing, is
/// left to the kernel.
pub fn handle(
    listener: BorrowedFd<'_>,
    notification: &Notification,
    arch: u32,
    answer: impl FnOnce(u32) -> Option<Answer>,
) -> Outcome {
    let is_sysinfo = notification.arch == arch && i64::from(notification.nr) == libc::SYS_sysinfo;
    let reply = if !is_sysinfo {
        Reply::Continue
    } else if !sys::still_waiting(listener, notification.id) {
        return Outcome::CallerGone;
    } else {
        match answer(notification.pid) {
            None => Reply::Continue,
            Some(answer) => {
                let written = sys::write_to_process(
                    notification.pid,
                    notification.args[0],
                    &answer.to_bytes(),
                );
                if !sys::still_waiting(listener, notification.id) {
                    return Outcome::CallerGone;
                }
                match written {
                    Ok(()) => Reply::Value(0),
                    // The kernel's own sysinfo fails so for a buffer it cannot write.
                    Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Reply::Errno(libc::EFAULT),
                    Err(_) => Reply::Continue,
                }
            }
        }
    };
    match sys::reply(listener, notification.id, reply) {
        Ok(()) => Outcome::Answered(reply),
        Err(_) => Outcome::CallerGone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals() -> MemoryTotals {
        MemoryTotals {
            total: 256 * 1024,
            used: 6 * 1024,
            free: 250 * 1024,
            swap_total: 64 * 1024,
            swap_free: 60 * 1024,
        }
    }

    #[test]
    fn the_answer_is_the_containers_numbers_in_bytes() {
        let load = LoadAverage([FIXED_1, FIXED_1 / 2, 0]);
        let answer = Answer::new(3_500_000_000, load, &totals(), 4096, 7);
        assert_eq!(answer.uptime, 4, "a started second counts");
        assert_eq!(answer.loads, [1 << 16, 1 << 15, 0]);
        assert_eq!(answer.totalram, 256 << 20);
        assert_eq!(answer.freeram, 250 << 20);
        assert_eq!(answer.sharedram, 4096);
        assert_eq!(answer.bufferram, 0);
        assert_eq!(answer.totalswap, 64 << 20);
        assert_eq!(answer.freeswap, 60 << 20);
        assert_eq!(answer.procs, 7);
        assert_eq!(Answer::new(2_000_000_000, load, &totals(), 0, 0).uptime, 2);
        assert_eq!(
            Answer::new(0, load, &totals(), 0, 1 << 20).procs,
            u16::MAX,
            "a count past u16 saturates"
        );
    }

    #[test]
    fn the_bytes_have_libcs_layout() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<libc::sysinfo>(), SYSINFO_LEN);
        let answer = Answer::new(61_000_000_000, LoadAverage([3, 2, 1]), &totals(), 8, 9);
        let bytes = answer.to_bytes();
        let word =
            |offset: usize| u64::from_ne_bytes(bytes[offset..offset + 8].try_into().unwrap());
        assert_eq!(word(offset_of!(libc::sysinfo, uptime)), 61);
        assert_eq!(word(offset_of!(libc::sysinfo, loads)), 3 << 5);
        assert_eq!(word(offset_of!(libc::sysinfo, loads) + 16), 1 << 5);
        assert_eq!(word(offset_of!(libc::sysinfo, totalram)), 256 << 20);
        assert_eq!(word(offset_of!(libc::sysinfo, freeram)), 250 << 20);
        assert_eq!(word(offset_of!(libc::sysinfo, sharedram)), 8);
        assert_eq!(word(offset_of!(libc::sysinfo, bufferram)), 0);
        assert_eq!(word(offset_of!(libc::sysinfo, totalswap)), 64 << 20);
        assert_eq!(word(offset_of!(libc::sysinfo, freeswap)), 60 << 20);
        let procs = offset_of!(libc::sysinfo, procs);
        assert_eq!(u16::from_ne_bytes([bytes[procs], bytes[procs + 1]]), 9);
        assert_eq!(word(offset_of!(libc::sysinfo, totalhigh)), 0);
        let unit = offset_of!(libc::sysinfo, mem_unit);
        assert_eq!(
            u32::from_ne_bytes(bytes[unit..unit + 4].try_into().unwrap()),
            1
        );
    }
}
