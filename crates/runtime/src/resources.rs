//! The runtime halves of `rlxc freeze`, `unfreeze`, `cgroup` and `info -S`: they work on the
//! cgroups recorded in the state file, so they need no monitor. Freeze states go into the
//! state file, where `info` and `wait` (inotify) see them.

use std::time::Duration;

use rlxc_cgroup::translate::{v1_to_v2, v2_to_v1, Translation};
use rlxc_cgroup::{ContainerCgroups, FreezerState, Stats};

use crate::paths::ContainerPaths;
use crate::state::{State, StateError, StateFile};
use crate::status::current;

/// How long a cgroup2 freeze may take before it is reported as still FREEZING.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResourceError {
    #[error("{name} is not running")]
    NotRunning { name: String },
    #[error(transparent)]
    Cgroup(#[from] rlxc_cgroup::Error),
    #[error("state file: {0}")]
    State(#[from] StateError),
    #[error("{key}: {reason}")]
    Key { key: String, reason: String },
}

fn running(paths: &ContainerPaths) -> Result<(StateFile, ContainerCgroups), ResourceError> {
    match current(paths) {
        (_, Some(file)) => {
            let cgroups = ContainerCgroups::from_paths(file.cgroups.clone());
            Ok((file, cgroups))
        }
        (_, None) => Err(ResourceError::NotRunning {
            name: paths.name.clone(),
        }),
    }
}

fn record(paths: &ContainerPaths, file: &mut StateFile, state: State) -> Result<(), StateError> {
    file.state = state;
    file.write(&paths.state_file())
}

/// FREEZING, then FROZEN once the freezer says so (what it says is returned).
pub fn freeze(paths: &ContainerPaths) -> Result<State, ResourceError> {
    let (mut file, cgroups) = running(paths)?;
    if file.state == State::Frozen {
        return Ok(State::Frozen);
    }
    record(paths, &mut file, State::Freezing)?;
    let state = match cgroups.freeze(FREEZE_TIMEOUT) {
        Ok(FreezerState::Frozen) => State::Frozen,
        Ok(_) => State::Freezing,
        Err(error) => {
            let _ = cgroups.thaw();
            record(paths, &mut file, State::Running)?;
            return Err(error.into());
        }
    };
    record(paths, &mut file, state)?;
    Ok(state)
}

/// THAWED, then RUNNING.
pub fn unfreeze(paths: &ContainerPaths) -> Result<(), ResourceError> {
    let (mut file, cgroups) = running(paths)?;
    cgroups.thaw()?;
    record(paths, &mut file, State::Thawed)?;
    record(paths, &mut file, State::Running)?;
    Ok(())
}

/// The state to show for a state file that says FREEZING: v1 tasks freeze on their own
/// time, with no notification, so the freezer is asked at the moment of looking.
pub(crate) fn live_freeze_state(file: &StateFile) -> State {
    let cgroups = ContainerCgroups::from_paths(file.cgroups.clone());
    match cgroups.freezer_state() {
        Ok(FreezerState::Frozen) => State::Frozen,
        Ok(FreezerState::Thawed) => State::Running,
        _ => State::Freezing,
    }
}

pub fn stats(paths: &ContainerPaths) -> Result<Stats, ResourceError> {
    Ok(running(paths)?.1.stats())
}

/// The resource use of the container that `file` records (for callers that hold the state
/// file already, as `rlxc top` does for every container each refresh).
pub fn stats_of(file: &StateFile) -> Stats {
    ContainerCgroups::from_paths(file.cgroups.clone()).stats()
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
    if cgroups.has(key) {
        cgroups.set(key, value)?;
        return Ok(None);
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
