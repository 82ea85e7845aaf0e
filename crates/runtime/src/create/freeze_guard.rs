//! A running container frozen for the moment a copy or snapshot of it is made, and thawed
//! after ([`FreezeGuard`]), also when this process is killed: a [`ThawWatchdog`] started
//! before the freeze thaws it then. Should the watchdog die with us (a kill of our whole
//! cgroup), the marker [`MARKER`] in the run directory has the next verb that holds the
//! operation lock, or looks at the container while nobody does, thaw it
//! ([`thaw_abandoned`]).

use std::fs;
use std::path::PathBuf;

use super::copy::{io_error, CopyError};
use super::thaw_watchdog::ThawWatchdog;
use crate::leftovers::{self, Found};
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::resources::{self, ResourceError};
use crate::state::{State, StateFile};

/// In the run directory while a copy holds the container frozen: written before the freeze,
/// removed once it (or its watchdog) thawed it. Found by a verb that holds the operation
/// lock the copy held, it means the copy died with the container frozen.
pub(crate) const MARKER: &str = "frozen-for-copy";

fn marker(paths: &ContainerPaths) -> PathBuf {
    paths.run_dir().join(MARKER)
}

/// Thaws the running container `state` records if a copy that died left it frozen (see
/// [`MARKER`]). The caller holds the operation lock.
pub(crate) fn thaw_abandoned(paths: &ContainerPaths, state: &StateFile) {
    let marker = marker(paths);
    if !marker.exists() {
        return;
    }
    // Best effort: a verb (a stop above all) goes on; the marker stays for the next one.
    if let Err(error) = resources::thaw_recorded(state) {
        crate::log_warn!(
            "{}: thawing it after a copy that died with it frozen: {error}",
            paths.name
        );
        return;
    }
    let _ = StateFile::touch(&paths.state_file());
    let _ = fs::remove_file(&marker);
}

/// A running source frozen for the copy; thawed by [`FreezeGuard::thaw`], or when dropped
/// on an error, or by its watchdog when this process dies. One that was frozen already
/// stays frozen.
pub(super) struct FreezeGuard<'a> {
    frozen: Option<Frozen<'a>>,
}

struct Frozen<'a> {
    paths: &'a ContainerPaths,
    lock: &'a OperationLock,
    watchdog: ThawWatchdog,
}

impl Frozen<'_> {
    /// Thaws; the watchdog is dismissed once that worked, else it tries too.
    fn thaw(self) -> Result<(), ResourceError> {
        resources::unfreeze(self.paths, self.lock)?;
        let _ = fs::remove_file(marker(self.paths));
        self.watchdog.dismiss();
        Ok(())
    }
}

impl<'a> FreezeGuard<'a> {
    pub(super) fn settle(
        paths: &'a ContainerPaths,
        lock: &'a OperationLock,
    ) -> Result<FreezeGuard<'a>, CopyError> {
        let freeze_error = |cause| CopyError::Freeze {
            name: paths.name.clone(),
            cause,
        };
        let found = leftovers::settle(paths, lock).map_err(|cause| CopyError::Leftovers {
            name: paths.name.clone(),
            cause,
        })?;
        let Found::Alive(state) = found else {
            return Ok(FreezeGuard { frozen: None });
        };
        if resources::live_freeze_state(&state) == State::Frozen {
            return Ok(FreezeGuard { frozen: None });
        }
        // The freezer that `freeze` and `unfreeze` write, read from the same state file.
        let freezer = resources::freezer_of(&state).map_err(|cause| freeze_error(cause.into()))?;
        let marker = marker(paths);
        let watchdog = ThawWatchdog::start(
            freezer.file(),
            freezer.thaw_text(),
            &paths.state_file(),
            &marker,
        )
        .map_err(io_error(
            "starting the process that thaws it if rlxc dies, for",
            freezer.file(),
        ))?;
        fs::write(&marker, b"").map_err(io_error("writing", &marker))?;
        // A failed freeze is thawed by `freeze`, and once more by the dropped watchdog.
        resources::freeze(paths, lock).map_err(freeze_error)?;
        Ok(FreezeGuard {
            frozen: Some(Frozen {
                paths,
                lock,
                watchdog,
            }),
        })
    }

    /// Thaws what this froze; true when it froze something.
    pub(super) fn thaw(mut self) -> Result<bool, CopyError> {
        let Some(frozen) = self.frozen.take() else {
            return Ok(false);
        };
        let name = frozen.paths.name.clone();
        frozen
            .thaw()
            .map_err(|cause| CopyError::Freeze { name, cause })?;
        Ok(true)
    }
}

impl Drop for FreezeGuard<'_> {
    fn drop(&mut self) {
        if let Some(frozen) = self.frozen.take() {
            let _ = frozen.thaw();
        }
    }
}
