//! Logs that are not being written: checked for room when a start opens them, and once the
//! container runs, a failed write is recorded in the run directory (once, until a write
//! succeeds again) for `rlxc info` to warn about. A log file on a full filesystem stayed
//! empty without a word before.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::paths::ContainerPaths;

/// Which of a container's logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// The monitor's log (`lxc.log.file`, `-o`, or LXC's default place).
    Monitor,
    /// `lxc.console.logfile`.
    Console,
}

impl LogKind {
    const ALL: [LogKind; 2] = [LogKind::Monitor, LogKind::Console];

    fn record_name(self) -> &'static str {
        match self {
            LogKind::Monitor => "unwritten-log.json",
            LogKind::Console => "unwritten-console-log.json",
        }
    }

    /// How `rlxc info` labels it.
    pub fn label(self) -> &'static str {
        match self {
            LogKind::Monitor => "Log:",
            LogKind::Console => "Console log:",
        }
    }
}

/// A log the monitor could not write to, since when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unwritten {
    pub path: PathBuf,
    /// Unix time of the first write that failed.
    pub since: u64,
    pub error: String,
}

impl Unwritten {
    /// `/path: not written since 2026-12-07 12:34:56 UTC: No space left on device`
    pub fn warning(&self) -> String {
        let since =
            crate::utc::UtcTime::of(UNIX_EPOCH + std::time::Duration::from_secs(self.since));
        format!(
            "{}: not written since {}: {}",
            self.path.display(),
            since.readable(),
            self.error
        )
    }
}

/// The warnings of a running container's logs, for `rlxc info`: each with its label.
pub fn warnings(paths: &ContainerPaths) -> Vec<(LogKind, Unwritten)> {
    LogKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let text = std::fs::read(paths.run_dir().join(kind.record_name())).ok()?;
            Some((kind, serde_json::from_slice(&text).ok()?))
        })
        .collect()
}

/// Whether `file` has room for the next lines: a block past its end is allocated
/// (`fallocate` keeping its size, so nothing is written and the block is the one the next
/// line goes to). A write of a line would tell too, but would put a line in every log at
/// every start, where LXC's at its default level ERROR has none. A filesystem that cannot
/// allocate ahead (EOPNOTSUPP) is not checked here; a failed write there shows later.
pub fn check_room(file: &File) -> std::io::Result<()> {
    let end = file.metadata()?.len();
    match rustix::fs::fallocate(file, rustix::fs::FallocateFlags::KEEP_SIZE, end, 4096) {
        Ok(()) | Err(rustix::io::Errno::OPNOTSUPP) => Ok(()),
        Err(errno) => Err(errno.into()),
    }
}

/// What the monitor keeps of one log to record its failed writes: where the record goes,
/// and whether one is there (so a failing log costs one record, not one per line).
#[derive(Debug)]
pub struct Recorder {
    record: PathBuf,
    path: PathBuf,
    failing: bool,
}

impl Recorder {
    pub fn new(paths: &ContainerPaths, kind: LogKind, path: &Path) -> Recorder {
        Recorder {
            record: paths.run_dir().join(kind.record_name()),
            path: path.to_path_buf(),
            failing: false,
        }
    }

    /// Notes how a write went: the first failure is recorded, a success after failures
    /// removes the record (the log's own timestamps show the gap).
    pub fn wrote(&mut self, result: &std::io::Result<()>) {
        match (result, self.failing) {
            (Err(error), false) => {
                self.failing = true;
                let since = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let unwritten = Unwritten {
                    path: self.path.clone(),
                    since,
                    error: error.to_string(),
                };
                if let Ok(text) = serde_json::to_vec(&unwritten) {
                    // Renamed into place: `info` never reads half of it.
                    let temp = self.record.with_extension("tmp");
                    let _ = std::fs::write(&temp, text)
                        .and_then(|()| std::fs::rename(&temp, &self.record));
                }
            }
            (Ok(()), true) => {
                self.failing = false;
                let _ = std::fs::remove_file(&self.record);
            }
            _ => {}
        }
    }

    pub fn failing(&self) -> bool {
        self.failing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_log_is_recorded_once_and_cleared_when_written_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = ContainerPaths::with_run_root(Path::new("/srv/lxc"), "web", dir.path());
        std::fs::create_dir_all(paths.run_dir()).expect("run dir");
        let log = Path::new("/full/console.log");
        let mut recorder = Recorder::new(&paths, LogKind::Console, log);
        recorder.wrote(&Ok(()));
        assert!(warnings(&paths).is_empty());
        let enospc = || Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
        recorder.wrote(&enospc());
        let first = warnings(&paths);
        assert_eq!(first.len(), 1);
        let (kind, unwritten) = &first[0];
        assert_eq!(*kind, LogKind::Console);
        assert_eq!(unwritten.path, log);
        assert!(unwritten.error.starts_with("No space left on device"));
        assert!(
            unwritten
                .warning()
                .starts_with("/full/console.log: not written since 20"),
            "{}",
            unwritten.warning()
        );
        // Later failures keep the first one's time.
        let mut again = unwritten.clone();
        again.since = 0;
        std::fs::write(
            paths.run_dir().join(LogKind::Console.record_name()),
            serde_json::to_vec(&again).expect("json"),
        )
        .expect("write");
        recorder.wrote(&enospc());
        assert_eq!(warnings(&paths)[0].1.since, 0);
        recorder.wrote(&Ok(()));
        assert!(warnings(&paths).is_empty());
    }
}
