//! What containers an lxcpath holds, and the state of each (`rlxc ls`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rlxc_config::{ContainerSpec, LoadFailure};

use super::staging::is_staging_name;
use super::StoreError;
use crate::paths::ContainerPaths;
use crate::state::{ProcessId, State, StateError, StateFile};

/// One container under the lxcpath.
#[derive(Debug)]
pub struct ContainerEntry {
    pub name: String,
    pub config_path: PathBuf,
    /// The loaded config, or why it does not load (the container is listed all the same).
    pub config: Result<ContainerSpec, LoadFailure>,
    pub state: State,
    /// Init of a running container, from the state file.
    pub init: Option<ProcessId>,
    /// Why the state could not be read, when it could not (then `state` is STOPPED).
    pub state_error: Option<StateError>,
    /// The addresses of a running container (loopback and link-local left out).
    pub addresses: Vec<std::net::IpAddr>,
}

/// The containers of `lxcpath` (directories with a `config`), sorted by name. A missing
/// lxcpath holds none.
pub fn list(lxcpath: &Path) -> Result<Vec<ContainerEntry>, StoreError> {
    Ok(names(lxcpath)?
        .into_iter()
        .map(|name| read_entry(ContainerPaths::new(lxcpath, &name), name))
        .collect())
}

/// [`list`] with the run directories below `run_root` (another mount namespace's own, for
/// `ls --nesting`).
pub fn list_in(lxcpath: &Path, run_root: &Path) -> Result<Vec<ContainerEntry>, StoreError> {
    Ok(names(lxcpath)?
        .into_iter()
        .map(|name| {
            read_entry(
                ContainerPaths::with_run_root(lxcpath, &name, run_root),
                name,
            )
        })
        .collect())
}

/// The names of the containers of `lxcpath`, sorted, without reading their configs or state
/// (`rlxc top` looks at the running ones every refresh).
pub fn names(lxcpath: &Path) -> Result<Vec<String>, StoreError> {
    let read_dir = match fs::read_dir(lxcpath) {
        Ok(read_dir) => read_dir,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StoreError::ReadDir {
                path: lxcpath.to_path_buf(),
                cause: source,
            })
        }
    };
    let mut names = Vec::new();
    for entry in read_dir {
        let entry = entry.map_err(|cause| StoreError::ReadDir {
            path: lxcpath.to_path_buf(),
            cause,
        })?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if is_staging_name(&name) || !entry.path().join("config").is_file() {
            continue;
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

fn read_entry(paths: ContainerPaths, name: String) -> ContainerEntry {
    let config_path = paths.config();
    let config = rlxc_config::load_file(&config_path, &[]).map(|loaded| loaded.spec);
    let (state, init, state_error) = match running_state(&paths) {
        Ok(Some((state, init))) => (state, Some(init), None),
        Ok(None) => (State::Stopped, None, None),
        Err(error) => (State::Stopped, None, Some(error)),
    };
    let addresses = init
        .and_then(|init| rlxc_net::container::addresses_of(init.pid).ok())
        .unwrap_or_default();
    ContainerEntry {
        name,
        config_path,
        config,
        state,
        init,
        state_error,
        addresses,
    }
}

/// The state and init of a running container; `None` when it is stopped, which includes a
/// state file whose init is gone (a monitor that died without cleaning up).
pub(crate) fn running_state(
    paths: &ContainerPaths,
) -> Result<Option<(State, ProcessId)>, StateError> {
    Ok(StateFile::read(&paths.state_file())?
        .filter(|state| state.init.is_alive())
        .map(|state| (crate::status::live_state(&state), state.init)))
}
