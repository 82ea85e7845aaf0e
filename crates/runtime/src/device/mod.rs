//! `rlxc device` / `lxc-device`: give a running container a host device node or a network
//! interface, or take it back. A node is made in the container's mount namespace and its
//! device rule added to the container's cgroup ([`node`]); an interface moves into the
//! container's network namespace ([`link`]). What was given is recorded in the state file
//! (`added`), so a stop sends the interfaces home — also after a monitor crash — and a later
//! cgroup2 program keeps the earlier rules.

mod link;
mod node;

use std::path::PathBuf;

use crate::lock::OperationLock;
use crate::paths::ContainerPaths;
use crate::state::{StateError, StateFile};

pub(crate) use link::send_home_at_stop;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    #[error("Container {name} is not running")]
    NotRunning { name: String },
    #[error("state file: {0}")]
    State(#[from] StateError),
    #[error("{path}: not a character or block device")]
    NotADevice { path: String },
    #[error("{step} {path}: {cause}")]
    Node {
        step: &'static str,
        path: String,
        cause: std::io::Error,
    },
    #[error(
        "{path}: an unprivileged container cannot be given a device node by rlxc yet (its /dev \
         honours none); bind-mount it with lxc.mount.entry instead"
    )]
    Unprivileged { path: String },
    #[error("{path}: no such network interface, and not an absolute device path (without ..)")]
    BadPath { path: String },
    #[error("the device rule {rule}: {cause}")]
    Cgroup {
        rule: String,
        cause: rlxc_cgroup::Error,
    },
    #[error("{0} is not a network interface of the container")]
    NoSuchLinkInside(String),
    #[error("{what}: {cause}")]
    Link {
        what: String,
        cause: rlxc_net::Error,
    },
    #[error("pinning the container's network namespace at {pin}: {cause}")]
    Pin { pin: PathBuf, cause: std::io::Error },
    #[error("{step}: {cause}")]
    Io {
        step: &'static str,
        cause: std::io::Error,
    },
}

/// What was added or removed, for the verb's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Node,
    Interface,
}

/// Adds `device` (a host device node path, or a host network interface name) to the running
/// container, as `name_inside` (default: the same path or name).
/// The caller holds the container's operation lock.
pub fn add(
    paths: &ContainerPaths,
    operation: &OperationLock,
    device: &str,
    name_inside: Option<&str>,
) -> Result<Kind, DeviceError> {
    debug_assert!(operation.is_for(paths));
    let mut state = running(paths)?;
    let kind = if link::is_host_interface(device) {
        link::add(paths, &mut state, device, name_inside)?;
        Kind::Interface
    } else {
        node::add(&mut state, device, name_inside)?;
        Kind::Node
    };
    state.write(&paths.state_file())?;
    Ok(kind)
}

/// Takes `device` back: an interface of the container (by its name inside) goes home, a
/// node is removed and its rule denied.
/// The caller holds the container's operation lock.
pub fn del(
    paths: &ContainerPaths,
    operation: &OperationLock,
    device: &str,
    name_inside: Option<&str>,
) -> Result<Kind, DeviceError> {
    debug_assert!(operation.is_for(paths));
    let mut state = running(paths)?;
    let kind = if link::is_container_interface(&state, device) {
        link::del(&mut state, device, name_inside)?;
        Kind::Interface
    } else {
        node::del(&mut state, device, name_inside)?;
        Kind::Node
    };
    state.write(&paths.state_file())?;
    Ok(kind)
}

fn running(paths: &ContainerPaths) -> Result<StateFile, DeviceError> {
    StateFile::read(&paths.state_file())?
        .filter(|file| file.init.is_alive())
        .ok_or_else(|| DeviceError::NotRunning {
            name: paths.name.clone(),
        })
}
