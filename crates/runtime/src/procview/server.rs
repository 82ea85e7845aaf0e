//! The view's server: one thread, one loop. It reads a request from /dev/fuse straight into
//! the pages it shares with the monitor, answers it, and marks it answered; a request that a
//! killed server had read but not answered is found there by the next server and answered
//! then, so no reader in the container waits forever. Between requests it samples the
//! container's runnable tasks every 5 s for its load average (kept in the same pages).

use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::time::{clock_gettime, ClockId};

use super::files::{ViewFile, FILES};
use super::fuse::{self, Attr, Op};
use super::load::{LoadAverage, SAMPLE_INTERVAL};
use super::render;
use super::sources::{self, Sources};
use super::sys::SharedPages;

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
}

/// The server's loop; returns only when the connection is gone (the container stopped).
pub fn serve(fuse: OwnedFd, shared: &mut SharedPages, config: &ServerConfig) {
    let mut state = State::load(shared.bytes());
    let mut snapshots = Snapshots::default();
    // A request the previous server read but did not answer: answered now, unless it is the
    // one a previous replay died on too (then it gets EIO, so no request can crash every
    // server in turn).
    if fuse::request_len(&shared.bytes()[STATE_LEN..]) >= fuse::IN_HEADER_LEN {
        let unique = fuse::parse(&shared.bytes()[STATE_LEN..]).map_or(0, |r| r.unique);
        if unique != 0 && unique == state.replayed_unique {
            let _ = rustix::io::write(&fuse, &fuse::error(unique, libc::EIO));
            shared.bytes()[STATE_LEN..STATE_LEN + 4].fill(0);
        } else {
            state.replayed_unique = unique;
            state.store(shared.bytes());
            answer_pending(&fuse, shared, config, &state, &mut snapshots);
        }
    }
    loop {
        let now = boottime_ns();
        if now >= state.next_sample_ns {
            state.take_sample(config, now);
            state.store(shared.bytes());
        }
        let wait = Duration::from_nanos(state.next_sample_ns.saturating_sub(now));
        let mut fds = [PollFd::new(&fuse, PollFlags::IN)];
        let timeout = Timespec::try_from(wait).ok();
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) | Err(rustix::io::Errno::INTR) => continue,
            Ok(_) => {}
            Err(_) => return,
        }
        if fds[0].revents().contains(PollFlags::ERR) {
            return;
        }
        // Cleared first: a length in the buffer means "read, not yet answered".
        shared.bytes()[STATE_LEN..STATE_LEN + 4].fill(0);
        match rustix::io::read(&fuse, &mut shared.bytes()[STATE_LEN..]) {
            // EOF: only a socket does that (the tests' stand-in for /dev/fuse).
            Ok(0) => return,
            Ok(_) => answer_pending(&fuse, shared, config, &state, &mut snapshots),
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN | rustix::io::Errno::NOENT) => {}
            // ENODEV: unmounted, the container is gone.
            Err(_) => return,
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
    let now = clock_gettime(ClockId::Realtime);
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
                Some(i) => {
                    let attr = file_attr(i, snapshots.fresh(i, config, state));
                    fuse::ok(unique, &fuse::entry_out(attr))
                }
                None => fuse::error(unique, libc::ENOENT),
            }
        }
        (Op::Lookup { .. }, _) => fuse::error(unique, libc::ENOTDIR),
        (Op::GetAttr, _) if request.node == fuse::ROOT_ID => {
            fuse::ok(unique, &fuse::attr_out(ROOT))
        }
        (Op::GetAttr, Some(i)) => {
            let attr = file_attr(i, snapshots.fresh(i, config, state));
            fuse::ok(unique, &fuse::attr_out(attr))
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
                btime: Some(container_btime(config, lifetime_ns)),
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
        Content::Uptime => {
            let cpus = cpus();
            let busy: u64 = sources::cpu_times(&cgroups, &cpus)
                .iter()
                .map(|t| t.user + t.system)
                .sum();
            render::uptime(lifetime_ns, busy, cpus.len())
        }
    }
}

/// The container's boot time (seconds since the epoch), as its own clocks put it.
fn container_btime(config: &ServerConfig, lifetime_ns: u64) -> u64 {
    let container_boottime_ns = match config.boot_offset_ns {
        Some(offset) => (boottime_ns() as i64).saturating_add(offset).max(0) as u64,
        None => lifetime_ns,
    };
    let now = clock_gettime(ClockId::Realtime);
    (now.tv_sec.max(0) as u64).saturating_sub(container_boottime_ns / 1_000_000_000)
}

pub fn boottime_ns() -> u64 {
    let now = clock_gettime(ClockId::Boottime);
    (now.tv_sec.max(0) as u64) * 1_000_000_000 + now.tv_nsec.max(0) as u64
}

/// What outlives a server in the shared pages: the load average and when to sample next.
struct State {
    load: LoadAverage,
    next_sample_ns: u64,
    /// The request the last replay was of.
    replayed_unique: u64,
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
        }
    }

    fn store(&self, bytes: &mut [u8]) {
        let words = [
            self.load.0[0],
            self.load.0[1],
            self.load.0[2],
            self.next_sample_ns,
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
