//! Freezing and thawing a container: the v1 freezer where the host has that hierarchy,
//! else cgroup2's `cgroup.freeze`. No polling: cgroup2 reports `frozen 1` in
//! `cgroup.events` (waited on with poll), and v1's `freezer.state` read right after the
//! write says FROZEN or, while tasks are still on their way, FREEZING.

use std::path::Path;
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

/// Which freezer a container uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl ContainerCgroups {
    fn freezer(&self) -> Result<Freezer<'_>, Error> {
        let v1 = self
            .leaves()
            .find(|dir| dir.join("freezer.state").exists())
            .map(Freezer::V1);
        let v2 = self
            .unified_dir()
            .filter(|dir| dir.join("cgroup.freeze").exists())
            .map(Freezer::V2);
        v1.or(v2).ok_or(Error::NoFreezer)
    }

    /// Freezes every process; on cgroup2 returns once all are frozen (or `timeout`).
    pub fn freeze(&self, timeout: Duration) -> Result<FreezerState, Error> {
        match self.freezer()? {
            Freezer::V1(dir) => {
                write_key(dir, "freezer.state", "FROZEN")?;
                v1_state(dir)
            }
            Freezer::V2(dir) => {
                write_key(dir, "cgroup.freeze", "1")?;
                wait_event(dir, "frozen 1", Instant::now() + timeout)?;
                Ok(FreezerState::Frozen)
            }
        }
    }

    pub fn thaw(&self) -> Result<(), Error> {
        match self.freezer()? {
            Freezer::V1(dir) => write_key(dir, "freezer.state", "THAWED"),
            Freezer::V2(dir) => write_key(dir, "cgroup.freeze", "0"),
        }
    }

    /// The freezer's state now.
    pub fn freezer_state(&self) -> Result<FreezerState, Error> {
        match self.freezer()? {
            Freezer::V1(dir) => v1_state(dir),
            Freezer::V2(dir) => {
                let asked = read_key(dir, "cgroup.freeze")?.trim() == "1";
                let events = read_key(dir, "cgroup.events")?;
                let frozen = events.lines().any(|line| line.trim() == "frozen 1");
                Ok(match (asked, frozen) {
                    (true, true) => FreezerState::Frozen,
                    (true, false) => FreezerState::Freezing,
                    (false, _) => FreezerState::Thawed,
                })
            }
        }
    }
}

fn v1_state(dir: &Path) -> Result<FreezerState, Error> {
    Ok(match read_key(dir, "freezer.state")?.trim() {
        "FROZEN" => FreezerState::Frozen,
        "FREEZING" => FreezerState::Freezing,
        _ => FreezerState::Thawed,
    })
}
