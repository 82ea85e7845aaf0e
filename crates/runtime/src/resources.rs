//! The runtime halves of `rlxc freeze`, `unfreeze`, `cgroup` and `info -S`: they work on the
//! cgroups recorded in the state file, so they need no monitor. The freeze state is the
//! freezer's (read where a state is shown); freeze and unfreeze record their changes in the
//! events journal (`rlxc monitor`, `rlxc wait`) and touch the state file so that a `wait`
//! of an older rlxc looks again.

use std::time::Duration;

use rlxc_cgroup::translate::{v1_to_v2, v2_to_v1, Translation};
use rlxc_cgroup::{ContainerCgroups, Freezer, FreezerState, Stats};

use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::state::{State, StateError, StateFile};

/// How long a freeze may take before it is reported as still FREEZING.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    #[error("{name} is not running")]
    NotRunning { name: String },
    #[error(transparent)]
    Cgroup(#[from] rlxc_cgroup::Error),
    #[error("state file: {0}")]
    State(StateError),
    #[error("{key}: {reason}")]
    Key { key: String, reason: String },
}

crate::error::from_cause!(StateError => ResourceError::State);

fn running(paths: &ContainerPaths) -> Result<(StateFile, ContainerCgroups), ResourceError> {
    let file = running_file(paths)?;
    let cgroups = file.container_cgroups();
    Ok((file, cgroups))
}

/// The state file of a container whose init lives (its freeze state is not needed here).
fn running_file(paths: &ContainerPaths) -> Result<StateFile, ResourceError> {
    StateFile::read(&paths.state_file())
        .ok()
        .flatten()
        .filter(|file| file.init.is_alive())
        .ok_or_else(|| ResourceError::NotRunning {
            name: paths.name.clone(),
        })
}

/// The container's freezer: the file its start recorded, else (a state file from before
/// rlxc recorded it) looked up in its cgroups. The one [`freeze`] and [`unfreeze`] write.
pub(crate) fn freezer_of(file: &StateFile) -> Result<Freezer, rlxc_cgroup::Error> {
    match &file.freezer {
        Some(freezer) => Ok(Freezer::at(freezer.clone())),
        None => file.container_cgroups().freezer(),
    }
}

/// FROZEN once the freezer says so; FREEZING while v1 tasks are still on their way. The
/// freezer holds the state ([`live_freeze_state`]): nothing is written but a touch of the
/// state file that wakes `rlxc wait`.
/// The caller holds the container's operation lock.
pub fn freeze(paths: &ContainerPaths, operation: &OperationLock) -> Result<State, ResourceError> {
    debug_assert!(operation.is_for(paths));
    let file = running_file(paths)?;
    let freezer = freezer_of(&file)?;
    crate::events::state_changed(paths, State::Freezing);
    let frozen = match freezer.freeze(FREEZE_TIMEOUT) {
        Ok(FreezerState::Frozen) => State::Frozen,
        Ok(_) => State::Freezing,
        Err(error) => {
            let _ = freezer.thaw();
            crate::events::state_changed(paths, State::Running);
            return Err(error.into());
        }
    };
    if frozen == State::Frozen {
        crate::events::state_changed(paths, State::Frozen);
    }
    StateFile::touch(&paths.state_file())?;
    Ok(frozen)
}

/// RUNNING again (THAWED is the moment in between, as LXC's notification).
pub fn unfreeze(paths: &ContainerPaths, operation: &OperationLock) -> Result<(), ResourceError> {
    debug_assert!(operation.is_for(paths));
    let file = running_file(paths)?;
    freezer_of(&file)?.thaw()?;
    crate::events::state_changed(paths, State::Thawed);
    crate::events::state_changed(paths, State::Running);
    StateFile::touch(&paths.state_file())?;
    Ok(())
}

/// Thaws the container that `file` records (for `stop`, whose signal a frozen container
/// could not act on).
pub(crate) fn thaw_recorded(file: &StateFile) -> Result<(), rlxc_cgroup::Error> {
    freezer_of(file)?.thaw()
}

/// The state of a running container as its freezer has it: FROZEN, FREEZING (v1 tasks
/// freeze on their own time, with no notification, so the freezer is asked at the moment of
/// looking) or RUNNING.
pub(crate) fn live_freeze_state(file: &StateFile) -> State {
    match freezer_of(file).and_then(|freezer| freezer.state()) {
        Ok(FreezerState::Frozen) => State::Frozen,
        Ok(FreezerState::Freezing) => State::Freezing,
        _ => State::Running,
    }
}

pub fn stats(paths: &ContainerPaths) -> Result<Stats, ResourceError> {
    Ok(running(paths)?.1.stats())
}

/// The resource use of the container that `file` records (for callers that hold the state
/// file already, as `rlxc top` does for every container each refresh).
pub fn stats_of(file: &StateFile) -> Stats {
    file.container_cgroups().stats()
}

/// `rlxc cgroup NAME KEY`: the value, and a notice when the key was read in the other
/// version's spelling.
pub fn get(paths: &ContainerPaths, key: &str) -> Result<(String, Option<String>), ResourceError> {
    let (_, cgroups) = running(paths)?;
    if cgroups.has(key) {
        return Ok((cgroups.get(key)?, None));
    }
    let files = translated_files(&cgroups, key, "0")?;
    let Some((file, _)) = files.iter().find(|(file, _)| cgroups.has(file)) else {
        return Err(cgroups
            .get(key)
            .err()
            .map(Into::into)
            .unwrap_or_else(|| unknown(key)));
    };
    let notice = format!("{key} is {file} on this host; its value is shown as the kernel has it");
    Ok((cgroups.get(file)?, Some(notice)))
}

/// `rlxc cgroup NAME KEY VALUE`: written as is where the container's cgroups have the file,
/// else translated (with a notice saying to what).
pub fn set(
    paths: &ContainerPaths,
    key: &str,
    value: &str,
) -> Result<Option<String>, ResourceError> {
    let (_, cgroups) = running(paths)?;
    // Written as it is where some cgroup has the file; else in the other version's spelling.
    match cgroups.set(key, value) {
        Ok(()) => return Ok(None),
        Err(rlxc_cgroup::Error::UnknownKey { .. } | rlxc_cgroup::Error::InvalidKey { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    if matches!(key, "devices.allow" | "devices.deny") {
        return set_v2_device(&cgroups, key, value);
    }
    let files = translated_files(&cgroups, key, value)?;
    let weight = files.len() > 1 && key.contains("weight");
    let mut written = Vec::new();
    for (file, text) in &files {
        if weight && !cgroups.has(file) {
            continue;
        }
        cgroups.set(file, text)?;
        written.push(format!("{file} = {text}"));
        if weight {
            break;
        }
    }
    if written.is_empty() {
        return Err(unknown(key));
    }
    Ok(Some(format!(
        "{key} = {value} is {} on this host",
        written.join(", ")
    )))
}

/// A running container's cgroup2 device program can only be narrowed: one more program
/// that denies the rule (every attached program must allow an access).
fn set_v2_device(
    cgroups: &ContainerCgroups,
    key: &str,
    value: &str,
) -> Result<Option<String>, ResourceError> {
    if key == "devices.allow" {
        return Err(ResourceError::Key {
            key: key.into(),
            reason: "on cgroup2 the device rules of a running container can only be narrowed \
                     (devices.deny); allow it in the config and restart"
                .into(),
        });
    }
    let rule = rlxc_cgroup::devices::DeviceRule::parse(false, value)?;
    cgroups.attach_devices(&[rule])?;
    Ok(Some(format!(
        "devices.deny = {value}: added to the container's eBPF device rules"
    )))
}

fn translated_files(
    cgroups: &ContainerCgroups,
    key: &str,
    value: &str,
) -> Result<Vec<(String, String)>, ResourceError> {
    // The partners a translation needs (memsw − memory) come from the cgroup itself.
    let memory_v2 = cgroups.get("memory.max").unwrap_or_default();
    let memory_v1 = cgroups.get("memory.limit_in_bytes").unwrap_or_default();
    let v1_all = vec![(
        "memory.limit_in_bytes".to_owned(),
        memory_v2.trim().to_owned(),
    )];
    let v2_all = vec![("memory.max".to_owned(), memory_v1.trim().to_owned())];
    let translation = v1_to_v2(key, value, &v1_all).or_else(|_| v2_to_v1(key, value, &v2_all))?;
    match translation {
        Translation::Write(files) | Translation::Weight(files) => Ok(files),
        _ => Err(unknown(key)),
    }
}

fn unknown(key: &str) -> ResourceError {
    ResourceError::Key {
        key: key.into(),
        reason: "the container's cgroups have no such file, in either cgroup version".into(),
    }
}
