//! A running container frozen for the moment a copy or snapshot of it is made, and thawed
//! after ([`FreezeGuard`]).

use super::copy::CopyError;
use crate::leftovers::{self, Found};
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::state::State;

/// A running source frozen for the copy; thawed by [`FreezeGuard::thaw`], or when dropped
/// on an error. One that was frozen already stays frozen.
pub(super) struct FreezeGuard<'a> {
    frozen: Option<(&'a ContainerPaths, &'a OperationLock)>,
}

impl<'a> FreezeGuard<'a> {
    pub(super) fn settle(
        paths: &'a ContainerPaths,
        lock: &'a OperationLock,
    ) -> Result<FreezeGuard<'a>, CopyError> {
        let found = leftovers::settle(paths, lock).map_err(|cause| CopyError::Leftovers {
            name: paths.name.clone(),
            cause,
        })?;
        let Found::Alive(state) = found else {
            return Ok(FreezeGuard { frozen: None });
        };
        if crate::resources::live_freeze_state(&state) == State::Frozen {
            return Ok(FreezeGuard { frozen: None });
        }
        crate::resources::freeze(paths, lock).map_err(|cause| CopyError::Freeze {
            name: paths.name.clone(),
            cause,
        })?;
        Ok(FreezeGuard {
            frozen: Some((paths, lock)),
        })
    }

    /// Thaws what this froze; true when it froze something.
    pub(super) fn thaw(mut self) -> Result<bool, CopyError> {
        let Some((paths, lock)) = self.frozen.take() else {
            return Ok(false);
        };
        crate::resources::unfreeze(paths, lock).map_err(|cause| CopyError::Freeze {
            name: paths.name.clone(),
            cause,
        })?;
        Ok(true)
    }
}

impl Drop for FreezeGuard<'_> {
    fn drop(&mut self) {
        if let Some((paths, lock)) = self.frozen.take() {
            let _ = crate::resources::unfreeze(paths, lock);
        }
    }
}
