//! The watchers' side of the events journal: follow it from its end, line by line, across
//! the writers' renames, woken by inotify on the journals' directory (one watch sees the
//! writes to every journal and the new ones a rotation makes).

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::inotify;

use super::Event;

/// One journal, read from where this follower started.
pub struct Follower {
    journal: PathBuf,
    lxcpath: PathBuf,
    file: Option<File>,
    /// Device and inode of `file`: another one at the journal's path means a new journal.
    identity: Option<(u64, u64)>,
    /// The start of a line whose end has not been written yet.
    partial: Vec<u8>,
}

impl Follower {
    /// Follows `journal` from its current end: only changes made from now on are read.
    pub fn at_end(journal: PathBuf, lxcpath: PathBuf) -> std::io::Result<Follower> {
        let mut follower = Follower {
            journal,
            lxcpath,
            file: None,
            identity: None,
            partial: Vec::new(),
        };
        // Made if missing (where we may): then its first line is read too. Where we may not,
        // the first writer makes it and it is read from its start.
        let opened = File::open(&follower.journal).or_else(|error| match error.kind() {
            ErrorKind::NotFound => super::open_journal(&follower.journal),
            _ => Err(error),
        });
        match opened {
            Ok(mut file) => {
                file.seek(SeekFrom::End(0))?;
                follower.identity = identity(&file);
                follower.file = Some(file);
            }
            Err(error) if error.kind() == ErrorKind::PermissionDenied => {}
            Err(error) => return Err(error),
        }
        Ok(follower)
    }

    /// The file followed, for a caller that waits until a watcher has it open.
    pub fn journal(&self) -> &Path {
        &self.journal
    }

    /// Every complete line of this lxcpath written since the last call, in order.
    pub fn read_new(&mut self, out: &mut Vec<Event>) {
        self.drain(out);
        let current = match File::open(&self.journal) {
            Ok(file) => file,
            // Between a writer's rename and its new journal: the next event brings it.
            Err(_) => return,
        };
        if self.file.is_some() && identity(&current) == self.identity {
            return;
        }
        // A new journal: the old one is complete once it was renamed (writers write to the
        // file at the journal's path only, under the lock), so it is finished first, and
        // the new one read from its start.
        self.drain(out);
        self.partial.clear();
        self.identity = identity(&current);
        self.file = Some(current);
        self.drain(out);
    }

    fn drain(&mut self, out: &mut Vec<Event>) {
        let Some(file) = &mut self.file else { return };
        let mut chunk = [0u8; 8192];
        loop {
            match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => self.partial.extend_from_slice(&chunk[..n]),
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return;
        };
        let rest = self.partial.split_off(end + 1);
        for line in self.partial.split(|b| *b == b'\n') {
            // A line cut short by a writer that died mid-write does not parse: skipped.
            match serde_json::from_slice::<Event>(line) {
                Ok(event) if event.lxcpath == self.lxcpath => out.push(event),
                _ => {}
            }
        }
        self.partial = rest;
    }
}

fn identity(file: &File) -> Option<(u64, u64)> {
    file.metadata().ok().map(|m| (m.dev(), m.ino()))
}

/// Followers of one or more lxcpaths' journals and the inotify watch that wakes them.
pub struct Watch {
    inotify: OwnedFd,
    followers: Vec<Follower>,
}

impl Watch {
    /// Watches the journals of `lxcpaths` (under `run_root`) from now on.
    pub fn new(run_root: &Path, lxcpaths: &[PathBuf]) -> std::io::Result<Watch> {
        let dir = crate::paths::events_dir(run_root);
        std::fs::create_dir_all(&dir)?;
        let inotify =
            inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)?;
        // Before the files are opened: nothing written after their end was read is missed.
        inotify::add_watch(
            &inotify,
            &dir,
            inotify::WatchFlags::MODIFY
                | inotify::WatchFlags::CREATE
                | inotify::WatchFlags::MOVED_TO
                | inotify::WatchFlags::MOVED_FROM,
        )?;
        let mut followers: Vec<Follower> = Vec::new();
        for lxcpath in lxcpaths {
            if followers.iter().any(|f| &f.lxcpath == lxcpath) {
                continue;
            }
            let journal = crate::paths::events_journal(run_root, lxcpath);
            followers.push(Follower::at_end(journal, lxcpath.clone())?);
        }
        Ok(Watch { inotify, followers })
    }

    pub fn followers(&self) -> &[Follower] {
        &self.followers
    }

    /// The events written since the last call, without waiting; several journals' in the
    /// order of their times.
    pub fn take(&mut self) -> Vec<Event> {
        let mut buffer = [0u8; 4096];
        while matches!(rustix::io::read(&self.inotify, &mut buffer), Ok(n) if n > 0) {}
        let mut events = Vec::new();
        for follower in &mut self.followers {
            follower.read_new(&mut events);
        }
        if self.followers.len() > 1 {
            events.sort_by_key(|event| event.time_ms);
        }
        events
    }

    /// Waits for the next events (or `timeout`; `None` waits for ever). Interrupted by a
    /// signal, it returns what there is (maybe nothing).
    pub fn next(&mut self, timeout: Option<Duration>) -> std::io::Result<Vec<Event>> {
        let spec = timeout.map(|d| Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        let mut fds = [PollFd::new(&self.inotify, PollFlags::IN)];
        match poll(&mut fds, spec.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
        Ok(self.take())
    }
}

impl AsFd for Watch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inotify.as_fd()
    }
}
