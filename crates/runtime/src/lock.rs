//! The container's lock, `RUN_DIR/lock`: `rlxc start` takes it, the monitor holds it for the
//! container's whole life, and the monitor's last child (see `monitor::teardown`) until
//! nothing of the container is left. So "nobody holds the lock" is "fully stopped".

use std::fs::File;

use rustix::fs::{flock, FlockOperation};

use crate::paths::ContainerPaths;

/// A handle on one run's lock file, opened while the container runs: it stays that run's
/// lock even after the run directory is renamed away and a new start made another.
#[derive(Debug)]
pub struct TeardownWatch(Option<File>);

impl TeardownWatch {
    /// No lock file (the container is gone already) makes a watch that does not wait.
    pub fn open(paths: &ContainerPaths) -> Self {
        Self(File::open(paths.lock_file()).ok())
    }

    /// Blocks until the monitor and its last child have let go of the lock.
    pub fn wait(self) {
        if let Some(file) = self.0 {
            while let Err(rustix::io::Errno::INTR) = flock(&file, FlockOperation::LockShared) {}
        }
    }
}

/// Whether a monitor (or its last child) still holds the container's lock.
pub fn is_held(paths: &ContainerPaths) -> bool {
    let Ok(file) = File::open(paths.lock_file()) else {
        return false;
    };
    matches!(
        flock(&file, FlockOperation::NonBlockingLockShared),
        Err(rustix::io::Errno::WOULDBLOCK)
    )
}
