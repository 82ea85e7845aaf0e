//! The view's server: one thread, one loop. It reads a request from /dev/fuse straight into
//! the pages it shares with the monitor, answers it, and marks it answered; a request that a
//! killed server had read but not answered is found there by the next server and answered
//! then, so no reader in the container waits forever. Between requests it samples the
//! container's runnable tasks every 5 s for its load average (kept in the same pages).
//! With a seccomp listener it also answers the container's sysinfo(2) calls (see
//! `sysinfo`), from the same numbers; that goes on after the view's mount is gone, for as
//! long as the container runs.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rlxc_process::sys::clock_now;
use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::files::{ViewFile, FILES};
use super::fuse::{self, Attr, Op, Validity};
use super::load::{LoadAverage, SAMPLE_INTERVAL};
use super::render;
use super::sources::{self, Sources};
use super::sys::{Reply, SharedPages};
use super::sysinfo;
use rlxc_process::channel::Channel;

/// The layout of the shared pages: a page of state, then the request buffer.
const STATE_LEN: usize = 4096;
/// Large enough for any request the kernel may send (it refuses reads below 8 KiB plus
/// `max_write`); only the bytes of actual requests are ever touched.
const REQUEST_LEN: usize = 132 * 1024;
pub const SHARED_LEN: usize = STATE_LEN + REQUEST_LEN;

/// What a server needs to know; fixed for the container's run.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub sources: Sources,
    /// CLOCK_BOOTTIME of the host when the container started.
    pub started_boottime_ns: u64,
    /// The container's CLOCK_BOOTTIME minus the host's (its time namespace's offset), or
    /// `None` without a time namespace (its uptime is then its lifetime).
    pub boot_offset_ns: Option<i64>,
    /// The audit arch (`AUDIT_ARCH_*`) of the sysinfo calls handed over: that of the seccomp
    /// filter the runtime installed (its native ABI), which decides what reaches a listener.
    /// A notification of another arch is left to the kernel.
    pub sysinfo_arch: u32,
}

/// The server's loop; returns only when the connection is gone (the container stopped) and
/// no sysinfo listener is left. `feed` brings the listeners of attached processes (see
/// `Server::add_listener`); each listener is dropped once no process is left under its
/// filter (POLLHUP).
pub fn serve(
    fuse: OwnedFd,
    listeners: Vec<OwnedFd>,
    feed: Option<Channel>,
    shared: &mut SharedPages,
    config: &ServerConfig,
) {
    let mut state = State::load(shared.bytes());
    let mut snapshots = Snapshots::default();
    let mut fuse = Some(fuse);
    let mut feed = feed;
    let mut listeners = listeners;
    // A sysinfo call the previous server received but did not answer: the kernel answers it.
    // Ids are per filter (random starts), so it is tried on each listener.
    if state.pending_sysinfo != 0 {
        for listener in &listeners {
            let _ = super::sys::reply(listener.as_fd(), state.pending_sysinfo, Reply::Continue);
        }
        state.pending_sysinfo = 0;
        state.store(shared.bytes());
    }
    if let Some(fuse) = &fuse {
        replay_pending(fuse, shared, config, &mut state, &mut snapshots);
    }
    loop {
        if fuse.is_none() && listeners.is_empty() {
            return;
        }
        let now = boottime_ns();
        if now >= state.next_sample_ns {
            state.take_sample(config, now);
            state.store(shared.bytes());
        }
        let wait = Duration::from_nanos(state.next_sample_ns.saturating_sub(now));
        let timeout = Timespec::try_from(wait).ok();
        let ready = {
            let mut fds = Vec::with_capacity(2 + listeners.len());
            fds.extend(fuse.iter().map(|f| PollFd::new(f, PollFlags::IN)));
            fds.extend(feed.iter().map(|f| PollFd::new(f, PollFlags::IN)));
            fds.extend(listeners.iter().map(|l| PollFd::new(l, PollFlags::IN)));
            match poll(&mut fds, timeout.as_ref()) {
                Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                Ok(_) => {}
                Err(_) => return,
            }
            fds.iter().map(PollFd::revents).collect::<Vec<_>>()
        };
        let mut revents = ready.into_iter();
        if fuse.is_some() {
            let ready = revents.next().unwrap_or_else(PollFlags::empty);
            if !serve_fuse_request(fuse.as_ref(), ready, shared, config, &state, &mut snapshots) {
                fuse = None;
            }
        }
        let fed = match (&feed, feed.is_some().then(|| revents.next()).flatten()) {
            (Some(channel), Some(ready)) if !ready.is_empty() => Some(receive_listeners(channel)),
            _ => None,
        };
        // Answered before the new ones are added: `revents` follows the old list.
        let mut gone = Vec::new();
        for (index, ready) in revents.enumerate() {
            if !answer_sysinfo(&listeners[index], ready, shared, config, &mut state) {
                gone.push(index);
            }
        }
        for index in gone.into_iter().rev() {
            listeners.swap_remove(index);
        }
        match fed {
            Some(Some(new)) => listeners.extend(new),
            // The monitor is gone (and this server dies with it).
            Some(None) => feed = None,
            None => {}
        }
    }
}

/// The listeners the monitor sent; `None` once its end is closed.
fn receive_listeners(feed: &Channel) -> Option<Vec<OwnedFd>> {
    match feed.recv::<Feed>() {
        Ok((Feed::Listeners, fds)) => Some(fds),
        Err(rlxc_process::channel::ChannelError::Io(rustix::io::Errno::INTR)) => Some(Vec::new()),
        Err(_) => None,
    }
}

/// What the monitor sends a running server (with fds).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub enum Feed {
    /// Seccomp listeners of attached processes' sysinfo calls.
    Listeners,
}

/// One FUSE request, if one is ready; `false` once the connection is gone.
fn serve_fuse_request(
    fuse: Option<&OwnedFd>,
    revents: PollFlags,
    shared: &mut SharedPages,
    config: &ServerConfig,
    state: &State,
    snapshots: &mut Snapshots,
) -> bool {
    let Some(fuse) = fuse else { return false };
    if revents.contains(PollFlags::ERR) {
        return false;
    }
    // Only the listener woke the loop: a read now would block.
    if revents.is_empty() {
        return true;
    }
    // Cleared first: a length in the buffer means "read, not yet answered".
    shared.bytes()[STATE_LEN..STATE_LEN + 4].fill(0);
    match rustix::io::read(fuse, &mut shared.bytes()[STATE_LEN..]) {
        // EOF: only a socket does that (the tests' stand-in for /dev/fuse).
        Ok(0) => false,
        Ok(_) => {
            answer_pending(fuse, shared, config, state, snapshots);
            true
        }
        Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN | rustix::io::Errno::NOENT) => true,
        // ENODEV: unmounted, the container is gone.
        Err(_) => false,
    }
}

/// One sysinfo call, if one is waiting; `false` once no process is left under the filter.
/// The call's id is kept in the shared pages while it is answered, so a server killed
/// half-way leaves it to the next one (which lets the kernel answer it).
fn answer_sysinfo(
    listener: &OwnedFd,
    revents: PollFlags,
    shared: &mut SharedPages,
    config: &ServerConfig,
    state: &mut State,
) -> bool {
    if !revents.contains(PollFlags::IN) {
        return !revents.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL);
    }
    let notification = match super::sys::receive(listener.as_fd()) {
        Ok(notification) => notification,
        // ENOENT: the caller was interrupted before we got to it.
        Err(_) => return true,
    };
    state.pending_sysinfo = notification.id;
    state.store(shared.bytes());
    sysinfo::handle(
        listener.as_fd(),
        &notification,
        config.sysinfo_arch,
        |pid| Some(sysinfo_answer(config, state, pid)),
    );
    state.pending_sysinfo = 0;
    state.store(shared.bytes());
    true
}

/// sysinfo's numbers: the same as `/proc/meminfo`, `/proc/loadavg` and the uptime show.
fn sysinfo_answer(config: &ServerConfig, state: &State, pid: u32) -> sysinfo::Answer {
    let sources = &config.sources;
    let cgroups = sources.cgroups();
    let memory = sources::memory(&cgroups);
    let totals = render::memory_totals(&sources.host_file("meminfo"), &memory);
    // pids.current counts the same tasks (threads) and costs one read; without the pids
    // controller, each task's /proc entry is read.
    let tasks = cgroups
        .get("pids.current")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| sources::tasks(sources, &cgroups).total);
    sysinfo::Answer::new(
        container_boottime_ns(config, Some(pid)),
        state.load,
        &totals,
        memory.shmem,
        tasks,
    )
}

/// A request the previous server read but did not answer: answered now, unless it is the
/// one a previous replay died on too (then it gets EIO, so no request can crash every server
/// in turn).
fn replay_pending(
    fuse: &OwnedFd,
    shared: &mut SharedPages,
    config: &ServerConfig,
    state: &mut State,
    snapshots: &mut Snapshots,
) {
    if fuse::request_len(&shared.bytes()[STATE_LEN..]) >= fuse::IN_HEADER_LEN {
        let unique = fuse::parse(&shared.bytes()[STATE_LEN..]).map_or(0, |r| r.unique);
        if unique != 0 && unique == state.replayed_unique {
            let _ = rustix::io::write(fuse, &fuse::error(unique, libc::EIO));
            shared.bytes()[STATE_LEN..STATE_LEN + 4].fill(0);
        } else {
            state.replayed_unique = unique;
            state.store(shared.bytes());
            answer_pending(fuse, shared, config, state, snapshots);
        }
    }
}

fn answer_pending(
    fuse: &impl AsFd,
    shared: &mut SharedPages,
    config: &ServerConfig,
    state: &State,
    snapshots: &mut Snapshots,
) {
    let request = &shared.bytes()[STATE_LEN..];
    let len = fuse::request_len(request).min(REQUEST_LEN);
    let reply = fuse::parse(&request[..len]).and_then(|r| answer(&r, config, state, snapshots));
    if let Some(reply) = reply {
        // ENOENT: the reader was interrupted, or a replayed request had been answered.
        let _ = rustix::io::write(fuse, &reply);
    }
    shared.bytes()[STATE_LEN..STATE_LEN + 4].fill(0);
}

const ROOT: Attr = Attr {
    ino: fuse::ROOT_ID,
    mode: libc::S_IFDIR | 0o555,
    size: 0,
    mtime_ns: 0,
};

/// The content each file had when its size was last told to the kernel. A read from offset
/// 0 uses it once (so a `sendfile` that stops at that size gets all of it), then renders
/// afresh (a reader such as `top` rereads an open file from 0 without asking the size);
/// reads further in continue the same content.
#[derive(Default)]
struct Snapshots {
    files: [Option<(String, bool)>; FILES.len()],
}

impl Snapshots {
    /// A fresh rendering, remembered as not yet read.
    fn fresh(&mut self, index: usize, config: &ServerConfig, state: &State) -> &str {
        let content = render_file(&FILES[index], config, state);
        &self.files[index].insert((content, false)).0
    }

    /// The content a read at `offset` continues.
    fn for_read(
        &mut self,
        index: usize,
        offset: u64,
        config: &ServerConfig,
        state: &State,
    ) -> &str {
        let reusable = match &self.files[index] {
            Some((_, read)) => offset > 0 || !read,
            None => false,
        };
        if !reusable {
            self.fresh(index, config, state);
        }
        match &mut self.files[index] {
            Some((content, read)) => {
                *read = true;
                content
            }
            None => "",
        }
    }
}

fn file_attr(index: usize, content: &str) -> Attr {
    let now = clock_now(libc::CLOCK_REALTIME);
    Attr {
        ino: fuse::ROOT_ID + 1 + index as u64,
        mode: libc::S_IFREG | 0o444,
        size: content.len() as u64,
        mtime_ns: now.tv_sec.max(0) as u64 * 1_000_000_000 + now.tv_nsec.max(0) as u64,
    }
}

fn file_index(node: u64) -> Option<usize> {
    let index = node.checked_sub(fuse::ROOT_ID + 1)? as usize;
    (index < FILES.len()).then_some(index)
}

/// The reply to one request; `None` for the requests that take none.
fn answer(
    request: &fuse::Request<'_>,
    config: &ServerConfig,
    state: &State,
    snapshots: &mut Snapshots,
) -> Option<Vec<u8>> {
    let unique = request.unique;
    let file = file_index(request.node);
    Some(match (&request.op, file) {
        (Op::Init { max_readahead }, _) => fuse::ok(unique, &fuse::init_out(*max_readahead)),
        (Op::Lookup { name }, _) if request.node == fuse::ROOT_ID => {
            match FILES.iter().position(|f| f.name.as_bytes() == *name) {
                // Size 0 like the kernel's /proc files, without rendering the content (a
                // start looks every file up once to bind it, ~0.3 ms of cgroup reads each):
                // the attributes never stay valid, so a stat or a read asks again (GETATTR)
                // and gets the size of the content it will read.
                Some(i) => fuse::ok(unique, &fuse::entry_out(file_attr(i, ""))),
                None => fuse::error(unique, libc::ENOENT),
            }
        }
        (Op::Lookup { .. }, _) => fuse::error(unique, libc::ENOTDIR),
        (Op::GetAttr, _) if request.node == fuse::ROOT_ID => {
            fuse::ok(unique, &fuse::attr_out(ROOT, Validity::Lasting))
        }
        (Op::GetAttr, Some(i)) => {
            let attr = file_attr(i, snapshots.fresh(i, config, state));
            fuse::ok(unique, &fuse::attr_out(attr, Validity::None))
        }
        (Op::Open, Some(_)) => fuse::ok(unique, &fuse::open_out()),
        (Op::Read { offset, size }, Some(i)) => {
            let bytes = snapshots.for_read(i, *offset, config, state).as_bytes();
            let start = (*offset as usize).min(bytes.len());
            let end = start.saturating_add(*size as usize).min(bytes.len());
            fuse::ok(unique, &bytes[start..end])
        }
        (Op::GetAttr, None) => fuse::error(unique, libc::ENOENT),
        (Op::Open | Op::Read { .. }, None) => fuse::error(unique, libc::EISDIR),
        (Op::Release | Op::Flush, _) => fuse::ok(unique, &[]),
        (Op::StatFs, _) => fuse::ok(unique, &fuse::statfs_out()),
        (Op::NoReply, _) => return None,
        (Op::Other(_), _) => fuse::error(unique, libc::ENOSYS),
    })
}

/// One file's content, computed afresh from the cgroups on every read.
fn render_file(file: &ViewFile, config: &ServerConfig, state: &State) -> String {
    use super::files::Content;
    let sources = &config.sources;
    let cgroups = sources.cgroups();
    let cpus = || render::visible_cpus(&sources.cpuset(&cgroups), sources::cpu_quota(&cgroups));
    let lifetime_ns = boottime_ns().saturating_sub(config.started_boottime_ns);
    match file.content {
        Content::Meminfo => {
            render::meminfo(&sources.host_file("meminfo"), &sources::memory(&cgroups))
        }
        Content::Swaps => render::swaps(&render::meminfo(
            &sources.host_file("meminfo"),
            &sources::memory(&cgroups),
        )),
        Content::Cpuinfo => render::cpuinfo(&sources.host_file("cpuinfo"), &cpus()),
        Content::CpuOnline => render::cpu_online(cpus().len()),
        Content::Stat => {
            let cpus = cpus();
            let tasks = sources::tasks(sources, &cgroups);
            let input = render::StatInput {
                cpus: sources::cpu_times(&cgroups, &cpus),
                lifetime_ns,
                running: tasks.running,
                blocked: tasks.blocked,
                btime: Some(container_btime(config)),
            };
            render::stat(&sources.host_file("stat"), &input)
        }
        Content::Loadavg => {
            let tasks = sources::tasks(sources, &cgroups);
            format!(
                "{} {}/{} {}\n",
                state.load.render(),
                tasks.running,
                tasks.total,
                tasks.newest_pid
            )
        }
        Content::Diskstats => render::diskstats(
            &sources.host_file("diskstats"),
            &sources::block_io(&cgroups),
        ),
        // Bound with a time namespace too: the kernel's file would show the namespace's
        // uptime but the host's idle time.
        Content::Uptime => {
            let cpus = cpus();
            let busy: u64 = sources::cpu_times(&cgroups, &cpus)
                .iter()
                .map(|t| t.user + t.system)
                .sum();
            render::uptime(container_boottime_ns(config, None), busy, cpus.len())
        }
    }
}

/// The container's boot time (seconds since the epoch), as its own clocks put it.
fn container_btime(config: &ServerConfig) -> u64 {
    let now = clock_now(libc::CLOCK_REALTIME);
    (now.tv_sec.max(0) as u64).saturating_sub(container_boottime_ns(config, None) / 1_000_000_000)
}

/// The container's CLOCK_BOOTTIME: the host's plus its time namespace's offset (that of
/// `pid`'s namespace where given and readable), or its lifetime without a time namespace.
fn container_boottime_ns(config: &ServerConfig, pid: Option<u32>) -> u64 {
    match config.boot_offset_ns {
        Some(offset) => {
            let offset = pid
                .and_then(|pid| super::boot_offset_of(i32::try_from(pid).ok()?))
                .unwrap_or(offset);
            host_boottime_ns().saturating_add(offset).max(0) as u64
        }
        None => boottime_ns().saturating_sub(config.started_boottime_ns),
    }
}

/// The host's CLOCK_BOOTTIME. The server is forked after the monitor unshared the
/// container's time namespace for its children, so it may live in that namespace itself:
/// its own offset is taken off.
fn host_boottime_ns() -> i64 {
    let own_offset = super::boot_offset_in("self").unwrap_or(0);
    (boottime_ns() as i64).saturating_sub(own_offset)
}

pub fn boottime_ns() -> u64 {
    let now = clock_now(libc::CLOCK_BOOTTIME);
    (now.tv_sec.max(0) as u64) * 1_000_000_000 + now.tv_nsec.max(0) as u64
}

/// What outlives a server in the shared pages: the load average and when to sample next.
struct State {
    load: LoadAverage,
    next_sample_ns: u64,
    /// The request the last replay was of.
    replayed_unique: u64,
    /// The sysinfo call being answered (0: none).
    pending_sysinfo: u64,
}

impl State {
    fn load(bytes: &[u8]) -> State {
        let word = |i: usize| {
            bytes
                .get(i * 8..i * 8 + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_ne_bytes)
                .unwrap_or(0)
        };
        State {
            load: LoadAverage([word(0), word(1), word(2)]),
            next_sample_ns: word(3),
            replayed_unique: word(4),
            pending_sysinfo: word(5),
        }
    }

    fn store(&self, bytes: &mut [u8]) {
        let words = [
            self.load.0[0],
            self.load.0[1],
            self.load.0[2],
            self.next_sample_ns,
            self.replayed_unique,
            self.pending_sysinfo,
        ];
        for (i, word) in words.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&word.to_ne_bytes());
        }
    }

    fn take_sample(&mut self, config: &ServerConfig, now: u64) {
        let cgroups = config.sources.cgroups();
        let tasks = sources::tasks(&config.sources, &cgroups);
        self.load = self.load.sample(tasks.running + tasks.blocked);
        self.next_sample_ns = now + SAMPLE_INTERVAL.as_nanos() as u64;
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
