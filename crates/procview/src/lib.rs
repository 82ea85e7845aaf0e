//! rlxc-procview: the container's own view of /proc: `meminfo`, `cpuinfo`, `stat`,
//! `loadavg`, `diskstats`, `swaps`, `uptime`, `/sys/devices/system/cpu/online`, served
//! from its cgroups by a small FUSE server the monitor forks. The same server answers the
//! container's sysinfo(2) calls (module `sysinfo`).
//!
//! ```text
//! monitor                                   container's first process
//!   open /dev/fuse (the host's) ── Go + fd ─►  fsopen/fsmount("fuse", fd=N): detached mount
//!                        ◄── ProcViewMounted
//!   fork the server on the fd                  rootfs ... pivot_root
//!   ProcViewServed ──────────────────────────►  open_tree(file) + move_mount over /proc/...
//! ```
//! The server starts while the child sets its rootfs up, so the lookups of the binds find it
//! running; its first load sample is taken one interval later, not before the first answer.
//! Robustness: a FUSE connection lives while any fd on it is open, and the monitor keeps
//! one, so a server that dies only delays readers (their requests queue in the kernel) until
//! the monitor, woken by its pidfd, forks the next one on the same fd. What a dead server had
//! read but not answered is in memory shared with its successor (see `server`), so no request
//! is lost and no reader ever sees ENOTCONN.
//!
//! The server is forked, not exec'd: it costs no start time and its pages are the monitor's
//! until written. A server after an upgrade of the binary is still the old code, as the
//! monitor itself is.

mod files;
mod fuse;
mod heap;
mod load;
pub mod mount;
mod render;
mod server;
mod sources;
mod sys;
mod sysinfo;

use std::fs::OpenOptions;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use rustix::process::{Signal, WaitId, WaitIdOptions};
use serde::{Deserialize, Serialize};

use rlxc_process::channel::Channel;
use rlxc_process::fork::{exit_child, fork};

pub use heap::{use_own_heap, ServerHeap};
pub use server::{boottime_ns, ServerConfig};
pub use sources::Sources;

/// The device rlxc opens; a test may name a missing one to force the fallback.
const DEVICE_ENV: &str = "RLXC_FUSE_DEVICE";

/// What the monitor asks of the child with `Go` (the /dev/fuse fd comes along).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewRequest {
    /// `lxc.procview = 1`: a failed mount fails the start.
    pub required: bool,
    /// Hand sysinfo(2) to the server too (the default seccomp policy is in force; a profile
    /// file replaces it, and with it this).
    pub sysinfo: bool,
}

/// Why the view cannot be had on this host.
#[derive(Debug, thiserror::Error)]
#[error("lxc.procview: {path}: {reason}")]
pub struct Unavailable {
    pub path: String,
    pub reason: String,
}

/// `lxc.procview` unset or 1: opens the FUSE device. `Ok(None)` when the key is 0.
pub fn open_device(setting: Option<bool>) -> Result<Option<OwnedFd>, Unavailable> {
    if setting == Some(false) {
        return Ok(None);
    }
    let path = std::env::var(DEVICE_ENV).unwrap_or_else(|_| "/dev/fuse".into());
    let device = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| Unavailable {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("fuse"))
    {
        return Err(Unavailable {
            path: "/proc/filesystems".into(),
            reason: "the kernel has no fuse filesystem".into(),
        });
    }
    Ok(Some(device.into()))
}

/// The running server of one container, and what it takes to start the next one.
pub struct Server {
    fuse: OwnedFd,
    /// The seccomp listener of the container's sysinfo calls. The monitor keeps it too, so a
    /// killed server's successor gets it (were it closed, the calls would fail with ENOSYS).
    sysinfo: Option<OwnedFd>,
    /// The listeners of attached processes (`rlxc attach`), kept for the same reason until
    /// their processes are gone.
    attached: Vec<OwnedFd>,
    /// Our end of the running server's feed, for listeners that come while it runs.
    feed: Channel,
    shared: sys::SharedPages,
    config: ServerConfig,
    pid: i32,
    pidfd: OwnedFd,
    name: String,
}

impl Server {
    /// Forks the first server, with the container's sysinfo listener where it has one. The
    /// monitor must be single-threaded (it is).
    pub fn start(
        fuse: OwnedFd,
        sysinfo: Option<OwnedFd>,
        config: ServerConfig,
        name: &str,
    ) -> io::Result<Server> {
        let mut shared = sys::SharedPages::new(server::SHARED_LEN)?;
        let listeners: Vec<_> = sysinfo.iter().map(AsFd::as_fd).collect();
        // The free pages of the heap the server will share go first, so neither keeps them.
        rlxc_process::sys::release_free_heap();
        let (pid, pidfd, feed) = fork_server(fuse.as_fd(), &listeners, &mut shared, &config, name)?;
        // Writes to the heap the server shares would copy its pages (see `heap`). Without
        // (no mapping to be had) the monitor still works, at that cost. Once only: at a
        // reboot's next server the monitor keeps the heap it has (a new one each time would
        // leave the last one's blocks behind).
        if !heap::own_heap_in_use() {
            let _ = heap::use_own_heap();
        }
        Ok(Server {
            fuse,
            sysinfo,
            attached: Vec::new(),
            feed,
            shared,
            config,
            pid,
            pidfd,
            name: name.to_string(),
        })
    }

    /// It answers the container's sysinfo calls (and must stay while the container runs,
    /// even when the view's files could not be bound).
    pub fn answers_sysinfo(&self) -> bool {
        self.sysinfo.is_some()
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Readable when the server exits.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Called when the pidfd is readable: reaps the server and forks a new one on the same
    /// connection if a signal killed it. One that exited left on its own: the connection is
    /// gone, or it could not set itself up (and a new one would not either).
    pub fn restart_if_dead(&mut self) -> io::Result<ServerEvent> {
        let status = rustix::process::waitid(
            WaitId::PidFd(self.pidfd.as_fd()),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
        )?;
        match status {
            None => Ok(ServerEvent::Running),
            Some(s) if s.exit_status().is_some() => Ok(ServerEvent::Ended),
            Some(_) => {
                let listeners: Vec<_> = self
                    .sysinfo
                    .iter()
                    .chain(&self.attached)
                    .map(AsFd::as_fd)
                    .collect();
                let (pid, pidfd, feed) = fork_server(
                    self.fuse.as_fd(),
                    &listeners,
                    &mut self.shared,
                    &self.config,
                    &self.name,
                )?;
                self.pid = pid;
                // The old pidfd closes here, which also takes it out of any epoll set.
                self.pidfd = pidfd;
                self.feed = feed;
                Ok(ServerEvent::Restarted)
            }
        }
    }

    /// Takes the sysinfo listener of an attached process: kept here (for a restarted
    /// server) and sent to the running one. A server that is dead right now gets it when it
    /// is restarted, so a failed send is no failure.
    pub fn add_listener(&mut self, listener: OwnedFd) {
        let _ = self
            .feed
            .send(&server::Feed::Listeners, &[listener.as_fd()]);
        self.attached.push(listener);
    }

    /// Closes our copy of an attached process's listener, once its processes are gone (the
    /// server closes its own on the same POLLHUP).
    pub fn drop_listener(&mut self, fd: RawFd) {
        self.attached.retain(|kept| kept.as_raw_fd() != fd);
    }

    /// An attached process's listener we keep, by its fd number.
    pub fn attached_listener(&self, fd: RawFd) -> Option<BorrowedFd<'_>> {
        let kept = self.attached.iter().find(|kept| kept.as_raw_fd() == fd);
        kept.map(AsFd::as_fd)
    }
}

/// What became of a server whose pidfd was readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent {
    Running,
    Restarted,
    /// It left on its own: the container's mount is gone, or it could not start.
    Ended,
}

impl Drop for Server {
    /// The server goes with the container: killed and reaped, so the monitor's cgroup can
    /// be removed.
    fn drop(&mut self) {
        rlxc_process::pidfd::kill_and_reap(&self.pidfd);
    }
}

/// Forks a server on the FUSE connection and the sysinfo listeners; returns its pid, its
/// pidfd and our end of its feed (a fresh pair each time: a message queued for a dead server
/// dies with it, and its successor gets that listener with the others at the start).
fn fork_server(
    fuse: BorrowedFd<'_>,
    listeners: &[BorrowedFd<'_>],
    shared: &mut sys::SharedPages,
    config: &ServerConfig,
    name: &str,
) -> io::Result<(i32, OwnedFd, Channel)> {
    let (ours, servers) = Channel::pair().map_err(io::Error::other)?;
    match fork()? {
        0 => {
            server_main(fuse, listeners, &servers, shared, config, name);
            exit_child(0)
        }
        pid => {
            drop(servers);
            match rlxc_process::pidfd::open(pid) {
                Ok(pidfd) => Ok((pid, pidfd, ours)),
                Err(e) => {
                    // Without a pidfd it could be neither watched nor restarted: not kept.
                    if let Some(child) = rustix::process::Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(child, Signal::KILL);
                    }
                    rlxc_process::fork::reap(pid);
                    Err(e)
                }
            }
        }
    }
}

/// The forked server: leaves everything of the monitor's behind, then serves.
fn server_main(
    fuse: BorrowedFd<'_>,
    listeners: &[BorrowedFd<'_>],
    feed: &Channel,
    shared: &mut sys::SharedPages,
    config: &ServerConfig,
    name: &str,
) {
    // First, before it allocates: its writes must not copy the heap pages it shares with the
    // monitor (see `heap`). Without (no mapping to be had) it still works, at that cost.
    let _ = heap::use_own_heap();
    // It dies with the monitor: the next start of the container starts a new one.
    let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
    rlxc_process::signals::unblock_all_signals();
    // 15 bytes (what the kernel keeps), cut between characters: a half character left in
    // the process name makes /proc/PID/stat and status unreadable as UTF-8.
    let mut title = format!("rlxc-view {name}");
    let mut end = title.len().min(15);
    while !title.is_char_boundary(end) {
        end -= 1;
    }
    title.truncate(end);
    if let Ok(title) = std::ffi::CString::new(title) {
        let _ = rustix::thread::set_name(&title);
    }
    let mut fds = vec![fuse, feed.as_fd()];
    fds.extend_from_slice(listeners);
    let Ok(mut kept) = sys::keep_only(&fds) else {
        exit_child(1)
    };
    let listeners = kept.split_off(2);
    let feed = kept.pop().map(Channel::from);
    let Some(fuse) = kept.pop() else {
        exit_child(1)
    };
    server::serve(fuse, listeners, feed, shared, config);
}

/// The container's CLOCK_BOOTTIME offset from `/proc/PID/timens_offsets` of its init.
pub fn boot_offset_of(init_pid: i32) -> Option<i64> {
    boot_offset_in(&init_pid.to_string())
}

/// The CLOCK_BOOTTIME offset of `/proc/PROCESS` (a pid, or `self`).
fn boot_offset_in(process: &str) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/{process}/timens_offsets")).ok()?;
    let line = text.lines().find(|l| l.starts_with("boottime"))?;
    let mut words = line.split_whitespace().skip(1);
    let seconds: i64 = words.next()?.parse().ok()?;
    let nanos: i64 = words.next()?.parse().ok()?;
    Some(seconds * 1_000_000_000 + nanos)
}
