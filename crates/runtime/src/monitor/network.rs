//! The container's network, from the monitor's side: set up once init exists and before it
//! may go on (the spawn's `setup` step), recorded in the state file, undone at stop before
//! the cgroups — and, from the state file alone, after a monitor crash.
//!
//! The link work itself is `rlxc_net::container`; here are the parts that belong to a
//! running container: the network scripts, and the bind mount that pins the container's
//! network namespace while it holds a host NIC, so the NIC can come home even when the
//! monitor was killed and init died with it.

use std::fs::{self, File};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rlxc_net::container::{Attached, Interface};

use super::launch::Launch;
use crate::hooks::{self, Hook, HookContext, NetHook};
use crate::paths::ContainerPaths;
use crate::state::StateFile;

/// What a start made of the network; [`NetworkGuard::undo`] takes it apart.
pub(crate) struct NetworkGuard {
    attached: Option<Attached>,
    /// `RUN_DIR/netns`, when the namespace is pinned.
    pin: Option<PathBuf>,
    /// `script.down` per interface, run before the interfaces go.
    down: Vec<(String, Interface)>,
    context: HookContext,
}

/// Why the container's network could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetworkError {
    #[error("{path}: {cause}")]
    Netns { path: String, cause: std::io::Error },
    #[error("pinning {netns} at {pin}: {cause}")]
    Pin {
        netns: String,
        pin: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Links(rlxc_net::Error),
    #[error(transparent)]
    ScriptUp(crate::hooks::HookError),
}

impl NetworkError {
    /// The `lxc.net.N` (or its script) the failure is about, where it names one.
    pub fn config_key(&self) -> Option<String> {
        match self {
            NetworkError::Links(
                rlxc_net::Error::Config { index, .. } | rlxc_net::Error::Interface { index, .. },
            ) => Some(format!("lxc.net.{index}")),
            NetworkError::ScriptUp(
                crate::hooks::HookError::Spawn { key, .. }
                | crate::hooks::HookError::Failed { key, .. },
            ) => Some(key.clone()),
            _ => None,
        }
    }
}

/// Sets up every `lxc.net.N` of the container whose init is `pid`. The guard goes into `slot`
/// before the first link is made, so a failure half-way is undone like a stop.
pub(crate) fn setup(
    launch: &Launch,
    pid: i32,
    slot: &mut Option<NetworkGuard>,
) -> Result<(), NetworkError> {
    let proc_netns = format!("/proc/{pid}/ns/net");
    let netns = File::open(&proc_netns).map_err(|cause| NetworkError::Netns {
        path: proc_netns.clone(),
        cause,
    })?;
    // `type = none` (or a shared namespace): init lives in ours, there is nothing to make.
    if same_file(&netns, "/proc/thread-self/ns/net") {
        return Ok(());
    }
    let spec = &launch.spec;
    // Only a loopback, which the container's first process brings up itself.
    if spec
        .networks
        .values()
        .all(|n| n.net_type == Some(rlxc_config::values::NetType::Empty))
    {
        return Ok(());
    }
    let context = HookContext::new(&launch.paths.name, &launch.config_path, spec);
    let guard = slot.insert(NetworkGuard {
        attached: None,
        pin: None,
        down: Vec::new(),
        context,
    });
    let lends_a_nic = spec
        .networks
        .values()
        .any(|n| n.net_type == Some(rlxc_config::values::NetType::Phys));
    if lends_a_nic {
        let pin = launch.paths.run_dir().join("netns");
        pin_netns(&proc_netns, &pin).map_err(|cause| NetworkError::Pin {
            netns: proc_netns.clone(),
            pin: pin.clone(),
            cause,
        })?;
        guard.pin = Some(pin);
    }
    let attached = guard
        .attached
        .insert(Attached::new(&launch.paths.name, netns.as_fd()).map_err(NetworkError::Links)?);
    attached
        .attach_all(&spec.networks)
        .map_err(NetworkError::Links)?;
    let mut context = guard.context.clone();
    context.init_pid = Some(pid);
    for interface in attached.interfaces.clone() {
        let Some(net) = spec.networks.get(&interface.index) else {
            continue;
        };
        if let Some(up) = &net.script_up {
            hooks::run(
                std::slice::from_ref(up),
                Hook::Net(hook(&interface, "up")),
                &context,
            )
            .map_err(NetworkError::ScriptUp)?;
        }
        if let Some(down) = &net.script_down {
            guard.down.push((down.clone(), interface));
        }
    }
    guard.context = context;
    Ok(())
}

fn hook<'a>(interface: &'a Interface, hook_type: &'static str) -> NetHook<'a> {
    NetHook {
        index: interface.index,
        hook_type,
        net_type: interface.net_type.name(),
        parent: interface.link.as_deref(),
        peer: interface.host_name.as_deref(),
    }
}

impl NetworkGuard {
    /// What the state file records, so a clean-up after a crash finds it.
    pub fn record(&self, state: &mut StateFile) {
        if let Some(attached) = &self.attached {
            state.host_links = attached.host_links();
            state.phys_links = attached.phys_links();
        }
        state.netns_pin = self.pin.clone();
        state.host_netns = current_netns();
    }

    /// `script.down`s, then the interfaces (phys NICs home, our links deleted), then the pin.
    /// Problems are logged: a stop cannot be undone.
    pub fn undo(mut self) {
        for (command, interface) in &self.down {
            let down = Hook::Net(hook(interface, "down"));
            if let Err(e) = hooks::run(std::slice::from_ref(command), down, &self.context) {
                crate::log_error!("{e}");
            }
        }
        if let Some(attached) = self.attached.take() {
            for error in attached.teardown() {
                crate::log_error!("network teardown: {error}");
            }
        }
        if let Some(pin) = self.pin.take() {
            unpin_netns(&pin);
        }
    }
}

/// After a monitor crash: phys NICs home from the pinned namespace, our host links deleted.
/// Only from the network namespace the monitor ran in: elsewhere the same names are other
/// links. Returns what went wrong, for the caller to report.
pub(crate) fn recover_after_crash(paths: &ContainerPaths, state: &StateFile) -> Vec<String> {
    let mut problems = Vec::new();
    let here = current_netns();
    if state.host_netns.is_some() && state.host_netns != here {
        if !state.host_links.is_empty()
            || !state.phys_links.is_empty()
            || !state.added.links.is_empty()
        {
            problems.push(format!(
                "{}: its network was set up from another network namespace; run this there to remove {:?}",
                paths.name, state.host_links
            ));
        }
        return problems;
    }
    let pinned = state
        .netns_pin
        .as_ref()
        .and_then(|pin| File::open(pin).ok());
    // The NICs `rlxc device` gave it go home too, newest first (recover goes backwards).
    let phys: Vec<_> = state
        .phys_links
        .iter()
        .chain(&state.added.links)
        .cloned()
        .collect();
    let errors = rlxc_net::container::recover(
        &paths.name,
        &state.host_links,
        &phys,
        pinned.as_ref().map(AsFd::as_fd),
    );
    problems.extend(errors.iter().map(ToString::to_string));
    drop(pinned);
    if let Some(pin) = &state.netns_pin {
        unpin_netns(pin);
    }
    problems
}

/// Bind-mounts the namespace file onto `pin`, as `ip netns` does: the namespace lives as
/// long as the mount, whatever happens to init and the monitor.
pub(crate) fn pin_netns(source: &str, pin: &Path) -> std::io::Result<()> {
    File::create(pin)?;
    rustix::mount::mount_bind(source, pin)?;
    Ok(())
}

pub(crate) fn unpin_netns(pin: &Path) {
    let _ = rustix::mount::unmount(pin, rustix::mount::UnmountFlags::DETACH);
    let _ = fs::remove_file(pin);
}

fn current_netns() -> Option<u64> {
    rlxc_net::netns::current_netns_id().ok()
}

fn same_file(file: &File, path: &str) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}
