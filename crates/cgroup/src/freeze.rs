//! Freezing and thawing a container: the v1 freezer where the host has that hierarchy,
//! else cgroup2's `cgroup.freeze`. cgroup2 reports `frozen 1` in `cgroup.events` (waited on
//! with poll); v1's `freezer.state` has no notification and is read again until it says
//! FROZEN (mostly the first read after the write does).
//!
//! A [`Freezer`] is named by its file, which the runtime records in the state file: the
//! freezer is where the freeze state lives (as LXC reads it), so `freeze` writes no state of
//! its own and a freeze made through the cgroup file shows too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::files::{read_key, write_key};
use crate::wait::wait_event;
use crate::{ContainerCgroups, Error};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    Freezing,
    Frozen,
}

const V1_FILE: &str = "freezer.state";
/// How long a v1 freeze waits before it reads the freezer's state again.
const V1_RECHECK: Duration = Duration::from_millis(2);
const V2_FILE: &str = "cgroup.freeze";

/// The file that freezes a container's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freezer {
    file: PathBuf,
}

impl Freezer {
    /// The freezer whose file is `file` (as [`Freezer::file`] gave it).
    pub fn at(file: PathBuf) -> Self {
        Self { file }
    }

    /// `…/freezer.state` (v1) or `…/cgroup.freeze` (cgroup2).
    pub fn file(&self) -> &Path {
        &self.file
    }

    fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("/"))
    }

    fn is_v2(&self) -> bool {
        self.file.file_name().is_some_and(|name| name == V2_FILE)
    }

    /// Freezes every process and returns once all are frozen (FROZEN), or FREEZING when
    /// `timeout` ran out first.
    pub fn freeze(&self, timeout: Duration) -> Result<FreezerState, Error> {
        let deadline = Instant::now() + timeout;
        if self.is_v2() {
            write_key(self.dir(), V2_FILE, "1")?;
            wait_event(self.dir(), "frozen 1", deadline)?;
            return Ok(FreezerState::Frozen);
        }
        // A v1 freezer tells nobody when its last task is in, and a task that was busy at
        // the write may be missed: as LXC's freeze does, FROZEN is written again and the file
        // read until it says FROZEN. Mostly the first read does.
        loop {
            write_key(self.dir(), V1_FILE, "FROZEN")?;
            let state = self.state()?;
            if state == FreezerState::Frozen || Instant::now() >= deadline {
                return Ok(state);
            }
            std::thread::sleep(V1_RECHECK);
        }
    }

    pub fn thaw(&self) -> Result<(), Error> {
        let key = if self.is_v2() { V2_FILE } else { V1_FILE };
        write_key(self.dir(), key, self.thaw_text())
    }

    /// What [`Freezer::thaw`] writes to [`Freezer::file`]: for a process that must thaw
    /// with raw syscalls only (a forked watchdog).
    pub fn thaw_text(&self) -> &'static str {
        if self.is_v2() {
            "0"
        } else {
            "THAWED"
        }
    }

    /// The freezer's state now.
    pub fn state(&self) -> Result<FreezerState, Error> {
        if !self.is_v2() {
            return Ok(match read_key(self.dir(), V1_FILE)?.trim() {
                "FROZEN" => FreezerState::Frozen,
                "FREEZING" => FreezerState::Freezing,
                _ => FreezerState::Thawed,
            });
        }
        if read_key(self.dir(), V2_FILE)?.trim() != "1" {
            return Ok(FreezerState::Thawed);
        }
        let events = read_key(self.dir(), "cgroup.events")?;
        Ok(if events.lines().any(|line| line.trim() == "frozen 1") {
            FreezerState::Frozen
        } else {
            FreezerState::Freezing
        })
    }
}

impl ContainerCgroups {
    /// The container's freezer: v1's where the container has a v1 freezer cgroup (on a
    /// hybrid host that is the controller in use), else cgroup2's.
    pub fn freezer(&self) -> Result<Freezer, Error> {
        let v1 = self
            .leaves()
            .map(|dir| dir.join(V1_FILE))
            .find(|file| file.exists());
        let v2 = || {
            self.unified_dir()
                .map(|dir| dir.join(V2_FILE))
                .filter(|file| file.exists())
        };
        v1.or_else(v2).map(Freezer::at).ok_or(Error::NoFreezer)
    }

    /// [`Freezer::freeze`] of [`Self::freezer`].
    pub fn freeze(&self, timeout: Duration) -> Result<FreezerState, Error> {
        self.freezer()?.freeze(timeout)
    }

    /// [`Freezer::thaw`] of [`Self::freezer`].
    pub fn thaw(&self) -> Result<(), Error> {
        self.freezer()?.thaw()
    }

    /// [`Freezer::state`] of [`Self::freezer`].
    pub fn freezer_state(&self) -> Result<FreezerState, Error> {
        self.freezer()?.state()
    }
}
