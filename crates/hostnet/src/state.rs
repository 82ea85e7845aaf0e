//! What a running `rlxc net` made, kept in its run directory (`/run/rlxc-net/BRIDGE/`, or
//! below `RLXC_NET_RUN_DIR`): the dnsmasq pid and leases files and `state.json`. `stop` undoes
//! what the state says was made, not what the settings file says today, so editing the
//! settings while the network runs cannot make a stop leave something behind.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::NetError;

/// The root of every bridge's run directory.
pub fn run_root() -> PathBuf {
    std::env::var_os("RLXC_NET_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/rlxc-net"))
}

/// The files of one bridge's run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub dir: PathBuf,
}

impl RunDir {
    pub fn of(bridge: &str) -> Self {
        Self {
            dir: run_root().join(bridge),
        }
    }
    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("dnsmasq.pid")
    }
    pub fn leases(&self) -> PathBuf {
        self.dir.join("dnsmasq.leases")
    }
    /// The static leases, one file per container (see [`crate::hosts`]).
    pub fn hosts(&self) -> PathBuf {
        self.dir.join("hosts")
    }
}

/// What `start` made, in the order it made it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub bridge: String,
    /// The nftables table (family inet) holding the NAT.
    pub table: String,
    pub ipv4: String,
    pub ipv6: Option<String>,
    pub dnsmasq_pid: Option<i32>,
    /// The settings file in force at start (None: the defaults).
    pub settings: Option<PathBuf>,
    /// Where static leases come from, for a container created while the network runs.
    #[serde(default)]
    pub pool: Option<crate::hosts::Pool>,
}

impl State {
    pub fn load(run: &RunDir) -> Result<Option<Self>, NetError> {
        let path = run.state();
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(state) => Ok(Some(state)),
                // A torn or foreign file: treat as a start that did not finish; stop cleans it.
                Err(_) => Ok(Some(Self::default())),
            },
            Err(cause) if cause.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(cause) => Err(NetError::io("reading", &path)(cause)),
        }
    }

    /// Writes the state atomically (a temporary file renamed over it).
    pub fn save(&self, run: &RunDir) -> Result<(), NetError> {
        let path = run.state();
        let temporary = run.dir.join(".state.json.new");
        let text = serde_json::to_vec_pretty(self).map_err(|cause| NetError::Io {
            step: "encoding",
            path: path.clone(),
            cause: cause.into(),
        })?;
        std::fs::write(&temporary, text).map_err(NetError::io("writing", &temporary))?;
        std::fs::rename(&temporary, &path).map_err(NetError::io("writing", &path))
    }
}

/// Makes `dir` (and its parents) readable by everyone, whatever the umask: dnsmasq, dropped
/// to its own user, must read and watch the static leases in it.
pub fn make_dir(dir: &Path) -> Result<(), NetError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = dir.parent().filter(|p| !p.exists()) {
        make_dir(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o755).create(dir) {
        Ok(()) => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(NetError::io("setting the mode of", dir)),
        Err(cause) if cause.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(cause) => Err(NetError::io("creating", dir)(cause)),
    }
}

/// Removes a run directory and everything in it; gone already is fine.
pub fn remove_dir(dir: &Path) -> Result<(), NetError> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(cause) if cause.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(cause) => Err(NetError::io("removing", dir)(cause)),
    }
}
