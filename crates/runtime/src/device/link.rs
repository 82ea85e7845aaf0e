//! A host network interface given to a running container: moved into its network namespace
//! (renamed there when asked) and brought up if it was up; recorded like a `type = phys`
//! NIC, so `del`, a stop and a clean-up after a monitor crash send it home under its old
//! name. While the container holds one, its network namespace is pinned (as for phys NICs):
//! init's end must not take the interface with it (a veth dies with its namespace).

use std::fs::File;
use std::os::fd::AsFd;
use std::path::PathBuf;

use rlxc_net::container::PhysRecord;
use rlxc_net::link::{self, Change};
use rlxc_net::Netlink;

use super::DeviceError;
use crate::paths::ContainerPaths;
use crate::state::StateFile;

/// Whether the caller's network namespace has an interface `name`.
pub(super) fn is_host_interface(name: &str) -> bool {
    !name.contains('/')
        && Netlink::open().is_ok_and(|mut host| link::index_by_name(&mut host, name).is_ok())
}

/// Whether the container's network namespace has an interface `name`.
pub(super) fn is_container_interface(state: &StateFile, name: &str) -> bool {
    !name.contains('/')
        && inside(state).is_ok_and(|mut inside| link::index_by_name(&mut inside, name).is_ok())
}

fn netns_of(state: &StateFile) -> Result<File, DeviceError> {
    File::open(format!("/proc/{}/ns/net", state.init.pid)).map_err(|cause| DeviceError::Io {
        step: "opening the container's network namespace",
        cause,
    })
}

fn inside(state: &StateFile) -> Result<Netlink, DeviceError> {
    rlxc_net::netns::open_netlink_in(netns_of(state)?.as_fd()).map_err(|cause| DeviceError::Link {
        what: "talking to the container's network namespace".into(),
        cause,
    })
}

fn host() -> Result<Netlink, DeviceError> {
    Netlink::open().map_err(|cause| DeviceError::Link {
        what: "talking to the host's network namespace".into(),
        cause,
    })
}

pub(super) fn add(
    paths: &ContainerPaths,
    state: &mut StateFile,
    device: &str,
    name_inside: Option<&str>,
) -> Result<(), DeviceError> {
    let linked = |what: String| move |cause| DeviceError::Link { what, cause };
    let mut host = host()?;
    let details = link::details_by_name(&mut host, device).map_err(linked(device.to_owned()))?;
    let netns = netns_of(state)?;
    pin(paths, state)?;
    let name = name_inside.unwrap_or(device);
    let change = Change {
        netns: Some(netns.as_fd()),
        name: Some(name),
        ..Default::default()
    };
    link::change(&mut host, details.index, device, &change)
        .map_err(linked(format!("moving {device} into the container")))?;
    let mut inside = inside(state)?;
    let inside_index = link::index_by_name(&mut inside, name).map_err(linked(name.to_owned()))?;
    state.added.links.push(PhysRecord {
        home_name: device.to_owned(),
        mtu: details.mtu,
        inside_index,
    });
    if details.up {
        // The move took it down.
        link::set_up(&mut inside, name).map_err(linked(format!("bringing {name} up")))?;
    }
    Ok(())
}

/// Sends the container's interface `name` home: under the name it came with (recorded), else
/// `home_name` or its name inside.
pub(super) fn del(
    state: &mut StateFile,
    name: &str,
    home_name: Option<&str>,
) -> Result<(), DeviceError> {
    let linked = |what: String| move |cause| DeviceError::Link { what, cause };
    let mut inside = inside(state)?;
    let index = link::index_by_name(&mut inside, name)
        .map_err(|_| DeviceError::NoSuchLinkInside(name.to_owned()))?;
    let recorded = state
        .added
        .links
        .iter()
        .position(|record| record.inside_index == index);
    let home = match (home_name, recorded) {
        (Some(home), _) => home.to_owned(),
        (None, Some(at)) => state.added.links[at].home_name.clone(),
        (None, None) => name.to_owned(),
    };
    let host_netns = File::open("/proc/thread-self/ns/net").map_err(|cause| DeviceError::Io {
        step: "opening the host's network namespace",
        cause,
    })?;
    let change = Change {
        netns: Some(host_netns.as_fd()),
        name: Some(&home),
        ..Default::default()
    };
    link::change(&mut inside, index, name, &change)
        .map_err(linked(format!("moving {name} back to the host as {home}")))?;
    if let Some(at) = recorded {
        let record = state.added.links.remove(at);
        if let Some(mtu) = record.mtu {
            let mut host = host()?;
            let change = Change {
                mtu: Some(mtu),
                ..Default::default()
            };
            let index = link::index_by_name(&mut host, &home).map_err(linked(home.clone()))?;
            link::change(&mut host, index, &home, &change).map_err(linked(home.clone()))?;
        }
    }
    Ok(())
}

/// Keeps the container's network namespace alive at `RUN_DIR/netns` (the monitor's pin,
/// when its phys NICs made one already).
fn pin(paths: &ContainerPaths, state: &mut StateFile) -> Result<(), DeviceError> {
    if state.host_netns.is_none() {
        state.host_netns = rlxc_net::netns::current_netns_id().ok();
    }
    if state.netns_pin.as_ref().is_some_and(|pin| pin.exists()) {
        return Ok(());
    }
    let pin = paths.run_dir().join("netns");
    let source = format!("/proc/{}/ns/net", state.init.pid);
    crate::monitor::pin_netns(&source, &pin).map_err(|cause| DeviceError::Pin {
        pin: pin.clone(),
        cause,
    })?;
    state.netns_pin = Some(pin);
    Ok(())
}

/// At a stop (the monitor, before its own network goes): the interfaces `rlxc device` gave
/// the container go home from the pinned namespace. Returns the pin, to remove once the
/// monitor's own NICs are home too.
pub(crate) fn send_home_at_stop(paths: &ContainerPaths) -> Option<PathBuf> {
    let state = StateFile::read(&paths.state_file()).ok().flatten()?;
    if !state.added.links.is_empty() {
        let pinned = state
            .netns_pin
            .as_ref()
            .and_then(|pin| File::open(pin).ok());
        let errors = rlxc_net::container::recover(
            &paths.name,
            &[],
            &state.added.links,
            pinned.as_ref().map(AsFd::as_fd),
        );
        for error in errors {
            crate::log_error!("sending an added interface home: {error}");
        }
    }
    state.netns_pin
}
