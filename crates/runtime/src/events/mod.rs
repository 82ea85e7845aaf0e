//! The events journal: every state change of every container of an lxcpath, one JSON line
//! each, appended to `RUN_ROOT/.events/HASH` (see [`crate::paths::events_journal`]) by
//! whoever makes the change (the monitor; `freeze` and `unfreeze`). `rlxc monitor` and
//! `rlxc wait` follow it with inotify from its end at their start, so every watcher sees
//! every later change, in the order they were made, with no daemon to keep running.
//!
//! Writers append under an flock of `HASH.lock`, so lines never interleave, and a writer
//! killed mid-line is repaired by the next one (it starts on a new line; the broken one does
//! not parse and is skipped). Past [`JOURNAL_LIMIT`] the writer renames the journal to
//! `HASH.old` and starts a new one; watchers finish the old file before the new one.
//!
//! Recording a change is best effort: it never fails a start, stop or freeze (a failure is
//! logged).

mod follow;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{flock, FlockOperation};
use serde::{Deserialize, Serialize};

pub use follow::{Follower, Watch};

use crate::paths::ContainerPaths;
use crate::state::State;

/// The size past which a writer starts a new journal.
pub const JOURNAL_LIMIT: u64 = 1 << 20;

/// One change: a new state, or how init ended (LXC's "exited with status").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unix time in milliseconds.
    pub time_ms: u64,
    pub name: String,
    pub lxcpath: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// Init's exit status, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The signal that ended init, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
}

impl Event {
    fn now(paths: &ContainerPaths) -> Event {
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Event {
            time_ms,
            name: paths.name.clone(),
            lxcpath: paths.lxcpath.clone(),
            state: None,
            exit_code: None,
            signal: None,
        }
    }

    /// The line `lxc-monitor` prints for it. A signal shows as status 0, as LXC's
    /// (`WEXITSTATUS` of a signalled wait status).
    pub fn lxc_line(&self) -> String {
        match (self.state, self.exit_code, self.signal) {
            (Some(state), _, _) => format!("'{}' changed state to [{state}]", self.name),
            (None, code, _) => {
                format!("'{}' exited with status [{}]", self.name, code.unwrap_or(0))
            }
        }
    }
}

/// Records that the container is now in `state`.
pub fn state_changed(paths: &ContainerPaths, state: State) {
    let event = Event {
        state: Some(state),
        ..Event::now(paths)
    };
    record(paths, &event);
}

/// Records how init ended: its exit status, or the signal that ended it.
pub fn init_ended(paths: &ContainerPaths, exit_code: Option<i32>, signal: Option<i32>) {
    let event = Event {
        exit_code,
        signal,
        ..Event::now(paths)
    };
    record(paths, &event);
}

fn record(paths: &ContainerPaths, event: &Event) {
    let journal = paths.events_journal();
    if let Err(error) = append(&journal, event) {
        crate::log_warn!(
            "recording {} in the events journal {}: {error}",
            event.lxc_line(),
            journal.display()
        );
    }
}

/// Why a change could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("making its directory: {0}")]
    Directory(std::io::Error),
    #[error("locking {}: {cause}", .path.display())]
    Lock {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("opening it: {0}")]
    Open(std::io::Error),
    #[error("starting a new one past {JOURNAL_LIMIT} bytes: {0}")]
    Rotate(std::io::Error),
    #[error("writing the line: {0}")]
    Write(std::io::Error),
}

/// Appends `event` as one line, under the journal's lock.
pub fn append(journal: &Path, event: &Event) -> Result<(), JournalError> {
    if let Some(dir) = journal.parent() {
        std::fs::create_dir_all(dir).map_err(JournalError::Directory)?;
    }
    let lock_path = sibling(journal, "lock");
    let lock =
        open_shared(&lock_path, OpenOptions::new().read(true).write(true)).map_err(|cause| {
            JournalError::Lock {
                path: lock_path.clone(),
                cause,
            }
        })?;
    loop {
        match flock(&lock, FlockOperation::LockExclusive) {
            Ok(()) => break,
            Err(rustix::io::Errno::INTR) => continue,
            Err(errno) => {
                return Err(JournalError::Lock {
                    path: lock_path,
                    cause: errno.into(),
                })
            }
        }
    }
    let mut file = open_journal(journal).map_err(JournalError::Open)?;
    let mut size = file.metadata().map_err(JournalError::Open)?.len();
    if size >= JOURNAL_LIMIT {
        std::fs::rename(journal, sibling(journal, "old")).map_err(JournalError::Rotate)?;
        file = open_journal(journal).map_err(JournalError::Rotate)?;
        size = 0;
    }
    let mut line = Vec::with_capacity(256);
    // A writer killed mid-line left no newline: this line starts on a fresh one.
    let mut last = [0u8; 1];
    if size > 0 && file.read_at(&mut last, size - 1).is_ok() && last[0] != b'\n' {
        line.push(b'\n');
    }
    serde_json::to_writer(&mut line, event).map_err(|e| JournalError::Write(e.into()))?;
    line.push(b'\n');
    // One write: a watcher reads the line whole or not at all.
    file.write_all(&line).map_err(JournalError::Write)?;
    Ok(())
}

/// `journal.EXT` beside the journal.
fn sibling(journal: &Path, ext: &str) -> PathBuf {
    journal.with_extension(ext)
}

fn open_journal(journal: &Path) -> std::io::Result<File> {
    open_shared(journal, OpenOptions::new().read(true).append(true))
}

/// Opens (making it if missing) a file every watcher may read.
fn open_shared(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    options
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
}

#[cfg(test)]
mod tests;
