//! `lxc.namespace.share.NS = NAME|PID|PATH` (and `start --share-NS`): the container joins
//! a namespace of another container, of a process, or one bound at a path, instead of
//! getting its own.
//!
//! The monitor enters each shared namespace just before `clone3` (without that namespace's
//! `CLONE_NEW*` flag, so init is born in it) and returns to its own right after: nothing it
//! does later (hooks, the host side of the network) runs in the other one. A pid namespace
//! is joined as `pid_for_children`, which is exactly what `clone3` uses.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rlxc_config::values::Namespace;
use rlxc_config::ContainerSpec;

use crate::paths::ContainerPaths;
use crate::state::StateFile;

/// The kinds that can be joined: LXC's `--share-*` options, the cgroup namespace and the
/// time namespace. The mount and user namespaces are refused, saying why ([`why_not`]).
pub const SHAREABLE: [Namespace; 6] = [
    Namespace::Net,
    Namespace::Ipc,
    Namespace::Uts,
    Namespace::Pid,
    Namespace::Cgroup,
    Namespace::Time,
];

/// Why a namespace kind cannot be shared.
fn why_not(kind: Namespace) -> &'static str {
    match kind {
        Namespace::Mnt => {
            "the container's rootfs is set up in its mount namespace: in another container's \
             it would change that container's filesystem"
        }
        Namespace::User => {
            "the user namespace is made for init from lxc.idmap, and the monitor cannot \
             return from another one; give both containers the same lxc.idmap"
        }
        _ => "rlxc cannot share it",
    }
}

/// One namespace to join, opened while its owner was verified alive.
#[derive(Debug, Clone)]
pub struct SharedNamespace {
    pub kind: Namespace,
    /// What the config named: `web`, `1234` or `/run/netns/x`.
    pub target: String,
    pub fd: Arc<OwnedFd>,
}

/// Why a namespace cannot be shared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    #[error("lxc.namespace.share.{kind} = {target}: {why}")]
    Unsupported {
        kind: &'static str,
        target: String,
        why: &'static str,
    },
    #[error(
        "lxc.namespace.share.time = {target}: the container joins that time namespace, whose \
         clocks it cannot offset (lxc.time.offset.* are written only into a new one)"
    )]
    TimeOffsets { target: String },
    #[error("lxc.namespace.share.{kind} = {target}: no running container {target} in {lxcpath}")]
    NotRunning {
        kind: &'static str,
        target: String,
        lxcpath: PathBuf,
    },
    /// (`error`, not `source`: the message says it, and a chain would say it twice.)
    #[error("lxc.namespace.share.{kind} = {target}: {path}: {error}")]
    Open {
        kind: &'static str,
        target: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "lxc.net.{index}: the container shares the network namespace of {target} \
         (lxc.namespace.share.net), so it has no network of its own to configure; use \
         lxc.net.{index}.type = empty"
    )]
    OwnNetwork { index: u32, target: String },
}

impl ShareError {
    /// The config key the error is about.
    pub fn config_key(&self) -> String {
        match self {
            ShareError::Unsupported { kind, .. }
            | ShareError::NotRunning { kind, .. }
            | ShareError::Open { kind, .. } => format!("lxc.namespace.share.{kind}"),
            ShareError::TimeOffsets { .. } => "lxc.namespace.share.time".to_string(),
            ShareError::OwnNetwork { index, .. } => format!("lxc.net.{index}.type"),
        }
    }
}

/// Opens every `lxc.namespace.share.*` of `spec`; names are containers of `lxcpath`.
pub fn resolve(spec: &ContainerSpec, lxcpath: &Path) -> Result<Vec<SharedNamespace>, ShareError> {
    let shared = spec
        .namespaces
        .share
        .iter()
        .map(|(kind, target)| open(*kind, target, lxcpath))
        .collect::<Result<Vec<_>, _>>()?;
    let offsets = spec.time_offsets.boot.is_some() || spec.time_offsets.monotonic.is_some();
    if let Some(time) = shared.iter().find(|s| s.kind == Namespace::Time && offsets) {
        return Err(ShareError::TimeOffsets {
            target: time.target.clone(),
        });
    }
    if let Some(net) = shared.iter().find(|s| s.kind == Namespace::Net) {
        let own = spec
            .networks
            .iter()
            .find(|(_, n)| n.net_type.is_some_and(|t| t.name() != "empty"));
        if let Some((index, _)) = own {
            return Err(ShareError::OwnNetwork {
                index: *index,
                target: net.target.clone(),
            });
        }
    }
    Ok(shared)
}

fn open(kind: Namespace, target: &str, lxcpath: &Path) -> Result<SharedNamespace, ShareError> {
    let name = kind.name();
    if !SHAREABLE.contains(&kind) {
        return Err(ShareError::Unsupported {
            kind: name,
            target: target.to_string(),
            why: why_not(kind),
        });
    }
    let failed = |path: &Path| {
        let path = path.to_path_buf();
        move |error| ShareError::Open {
            kind: name,
            target: target.to_string(),
            path,
            error,
        }
    };
    let opened = |path: &Path| File::open(path).map(OwnedFd::from).map_err(failed(path));
    let fd = if target.starts_with('/') {
        opened(Path::new(target))?
    } else if let Ok(pid) = target.parse::<u32>() {
        opened(&PathBuf::from(format!("/proc/{pid}/ns/{name}")))?
    } else {
        // A container: its init, opened and then proved still the recorded process.
        let not_running = || ShareError::NotRunning {
            kind: name,
            target: target.to_string(),
            lxcpath: lxcpath.to_path_buf(),
        };
        let paths = ContainerPaths::new(lxcpath, target);
        let state = StateFile::read(&paths.state_file())
            .ok()
            .flatten()
            .ok_or_else(not_running)?;
        let fd = opened(&PathBuf::from(format!(
            "/proc/{}/ns/{name}",
            state.init.pid
        )))?;
        if !state.init.is_alive() {
            return Err(not_running());
        }
        fd
    };
    Ok(SharedNamespace {
        kind,
        target: target.to_string(),
        fd: Arc::new(fd),
    })
}

/// The monitor's own namespaces of the kinds it entered, to return to after the clone.
pub(crate) struct Entered(Vec<(Namespace, OwnedFd)>);

/// Enters every shared namespace (the calling thread only), keeping the caller's own.
pub(crate) fn enter(shared: &[SharedNamespace]) -> std::io::Result<Entered> {
    let mut entered = Entered(Vec::new());
    for namespace in shared {
        let kind = namespace.kind;
        let own_path = match kind {
            // The namespace our children are born in, which setns changes. (A time
            // namespace's setns moves the caller too, and is undone the same way.)
            Namespace::Pid => "/proc/thread-self/ns/pid_for_children".to_string(),
            _ => format!("/proc/thread-self/ns/{}", kind.name()),
        };
        let own = File::open(own_path).map(OwnedFd::from)?;
        if let Err(error) = setns(namespace.fd.as_fd(), kind) {
            entered.leave();
            return Err(error);
        }
        entered.0.push((kind, own));
    }
    Ok(entered)
}

impl Entered {
    /// Back to the caller's own namespaces. A failure here would leave the monitor in
    /// another container's namespace: it cannot go on then.
    pub(crate) fn leave(self) {
        for (kind, own) in self.0.into_iter().rev() {
            if let Err(error) = setns(own.as_fd(), kind) {
                crate::log_error!(
                    "rlxc: returning to the monitor's own {} namespace: {error}",
                    kind.name()
                );
                std::process::abort();
            }
        }
    }
}

fn setns(fd: std::os::fd::BorrowedFd<'_>, kind: Namespace) -> std::io::Result<()> {
    // SAFETY: a valid namespace fd and its CLONE_NEW* type.
    if unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&fd), kind.clone_flag()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
