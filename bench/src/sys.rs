//! The few kernel calls and /proc reads the harness needs.

use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C and SIGTERM end the run at the next step, through the normal cleanup.
pub fn catch_interrupts() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_signal as *const () as libc::sighandler_t);
        }
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A pidfd for `pid` (Linux 5.3).
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Block until the process behind `pidfd` has exited (or `timeout_ms` passed: false).
pub fn wait_pidfd(pidfd: &OwnedFd, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, its count is 1.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if n > 0 {
            return true;
        }
        if n == 0 {
            return false;
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) || interrupted() {
            return false;
        }
    }
}

/// Enter the mount namespace behind `fd` (in a child, before exec).
pub fn setns_mnt(fd: RawFd) -> io::Result<()> {
    // SAFETY: setns takes an fd and a namespace type; it touches no memory of ours.
    if unsafe { libc::setns(fd, libc::CLONE_NEWNS) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// umount2(`path`, `flags`).
pub fn umount(path: &std::path::Path, flags: libc::c_int) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated path and flags; umount2 keeps no pointer.
    if unsafe { libc::umount2(c.as_ptr(), flags) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the process behind `pidfd` has exited (a poll that does not wait).
pub fn exited(pidfd: &OwnedFd) -> bool {
    wait_pidfd(pidfd, 0)
}

/// A stream socket connected to the unix socket at `path` by a process in the pid namespace
/// `pid_ns` (a forked child of a forked child that entered it), for a server that wants to
/// see its peer's pid: systemd's private bus refuses a peer whose pid it cannot see. The
/// children only make syscalls (setns, fork, connect, waitpid, _exit) and exec nothing; the
/// connection is the parent's, through the socket they share.
pub fn connect_from_pid_ns(
    pid_ns: &fs::File,
    path: &std::path::Path,
) -> io::Result<std::os::unix::net::UnixStream> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: an all-zero sockaddr_un is valid; the path is copied in below, NUL-terminated.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: socket takes no pointers; the fd returned is owned below.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this fd and nothing else owns it.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let ns = pid_ns.as_raw_fd();
    // SAFETY: between fork and _exit the children make only async-signal-safe syscalls on
    // memory prepared before the fork (the address, the two fds).
    let status = unsafe {
        let child = libc::fork();
        if child == 0 {
            if libc::setns(ns, libc::CLONE_NEWPID) != 0 {
                libc::_exit(10);
            }
            let grandchild = libc::fork();
            if grandchild == 0 {
                let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
                let ok = libc::connect(fd, &addr as *const _ as *const libc::sockaddr, len) == 0;
                libc::_exit(if ok {
                    0
                } else {
                    *libc::__errno_location() & 0x7f
                });
            }
            let mut status = 0;
            if grandchild < 0 || libc::waitpid(grandchild, &mut status, 0) != grandchild {
                libc::_exit(11);
            }
            libc::_exit(libc::WEXITSTATUS(status));
        }
        if child < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut status = 0;
        if libc::waitpid(child, &mut status, 0) != child {
            return Err(io::Error::last_os_error());
        }
        status
    };
    match libc::WEXITSTATUS(status) {
        0 => Ok(std::os::unix::net::UnixStream::from(sock)),
        10 => Err(io::Error::other("setns into the pid namespace failed")),
        11 => Err(io::Error::other("fork in the pid namespace failed")),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// The parent pid of `pid`, from /proc/PID/stat.
pub fn ppid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may hold spaces and parentheses: the fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The processes whose parent is `pid`.
pub fn children(pid: i32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|child| ppid(*child) == Some(pid))
        .collect()
}

/// PSS of `pid` in KiB, from /proc/PID/smaps_rollup.
pub fn pss_kib(pid: i32) -> Option<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Pss:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// KiB of memory mapped by the processes `pids` and by no other process: what the kernel
/// frees when they all exit. Summing each one's USS would miss the pages they share only
/// with each other (a forked helper shares its parent's heap and relocated data until either
/// writes), and their PSS counts a share of pages others map too.
///
/// From each process's page map (physical frame numbers: root only) and the kernel's map
/// count of each frame (`/proc/kpagecount`): a frame counts once if all its mappings are
/// the group's own. Swapped-out pages are not counted (none are on the bench's hosts).
pub fn unique_kib(pids: &[i32]) -> Option<f64> {
    use std::collections::HashMap;
    use std::os::unix::fs::FileExt;
    const PRESENT: u64 = 1 << 63;
    const FRAME: u64 = (1 << 55) - 1;
    let page = 4096u64;
    let mut mapped_by_group: HashMap<u64, u64> = HashMap::new();
    for pid in pids {
        let maps = fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
        let pagemap = fs::File::open(format!("/proc/{pid}/pagemap")).ok()?;
        for line in maps.lines() {
            let Some((start, end)) = line
                .split_whitespace()
                .next()
                .and_then(|range| range.split_once('-'))
                .and_then(|(a, b)| {
                    Some((
                        u64::from_str_radix(a, 16).ok()?,
                        u64::from_str_radix(b, 16).ok()?,
                    ))
                })
            else {
                continue;
            };
            if line.ends_with("[vsyscall]") {
                continue;
            }
            let pages = ((end - start) / page) as usize;
            let mut entries = vec![0u8; pages * 8];
            if pagemap
                .read_exact_at(&mut entries, start / page * 8)
                .is_err()
            {
                continue;
            }
            for entry in entries.chunks_exact(8) {
                let entry = u64::from_ne_bytes(entry.try_into().ok()?);
                if entry & PRESENT != 0 && entry & FRAME != 0 {
                    *mapped_by_group.entry(entry & FRAME).or_default() += 1;
                }
            }
        }
    }
    let counts = fs::File::open("/proc/kpagecount").ok()?;
    let mut unique_pages = 0u64;
    let mut count = [0u8; 8];
    for (frame, mappings) in mapped_by_group {
        if counts.read_exact_at(&mut count, frame * 8).is_ok()
            && u64::from_ne_bytes(count) <= mappings
        {
            unique_pages += 1;
        }
    }
    Some((unique_pages * page) as f64 / 1024.0)
}

/// MemTotal - MemAvailable, in KiB.
/// The CPUs' busy and total time so far (jiffies, the first line of `/proc/stat`).
fn cpu_times() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// Waits until the machine is quiet: a window of `SETTLE_WINDOW` in which the CPUs were at
/// least 90 % idle, for at most `SETTLE_MAX`. What a tool leaves running after it returned
/// (a network namespace's clean-up in a kernel worker, a daemonised helper's exit) then falls
/// on nobody's next measurement.
pub fn settle() {
    const SETTLE_WINDOW: std::time::Duration = std::time::Duration::from_millis(30);
    const SETTLE_MAX: std::time::Duration = std::time::Duration::from_secs(1);
    let deadline = std::time::Instant::now() + SETTLE_MAX;
    while std::time::Instant::now() < deadline {
        let Some((busy0, total0)) = cpu_times() else {
            return;
        };
        std::thread::sleep(SETTLE_WINDOW);
        let Some((busy1, total1)) = cpu_times() else {
            return;
        };
        let (busy, total) = (busy1.saturating_sub(busy0), total1.saturating_sub(total0));
        if total > 0 && busy * 10 <= total {
            return;
        }
    }
}

pub fn host_mem_used_kib() -> f64 {
    let text = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    field("MemTotal:") - field("MemAvailable:")
}

/// The 1-minute load average, for the report.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Seconds since the epoch, for a seed and the report's date.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
