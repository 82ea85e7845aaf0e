//! The monitor's part of the container's /proc view (see [`crate::procview`]): whether this
//! start gets one, and its server once the child has mounted it.

use std::os::fd::OwnedFd;

use super::launch::Launch;
use crate::procview::{self, ViewRequest};
use crate::spawn::{InitPlan, MountedView};

/// Why a start's /proc view failed (`lxc.procview`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcViewError {
    /// `lxc.procview = 1` and the host cannot serve it.
    #[error(transparent)]
    Unavailable(#[from] procview::Unavailable),
    #[error("lxc.procview: /dev/fuse: {0}")]
    Device(std::io::Error),
    #[error("lxc.procview: starting the server: {0}")]
    Server(std::io::Error),
}

/// The /proc view of one start: the FUSE device the monitor opened and what the child is
/// asked to bind.
pub(super) struct ProcViewStart {
    pub device: OwnedFd,
    pub request: ViewRequest,
    started_boottime_ns: u64,
    /// The container has a time namespace: its uptime is its CLOCK_BOOTTIME (which
    /// `lxc.time.offset.boot` may move), not its lifetime.
    time_namespace: bool,
}

impl ProcViewStart {
    /// `lxc.procview` unset: the view where the host can serve it, else a warning; 1: an
    /// error without it; 0: none.
    pub fn prepare(
        launch: &Launch,
        plan: &InitPlan,
        warnings: &mut Vec<String>,
    ) -> Result<Option<ProcViewStart>, ProcViewError> {
        let setting = launch.spec.procview;
        let device = match procview::open_device(setting) {
            Ok(Some(device)) => device,
            Ok(None) => return Ok(None),
            Err(e) if setting == Some(true) => return Err(e.into()),
            Err(e) => {
                warnings.push(format!("{e}; the container sees the kernel's /proc files"));
                return Ok(None);
            }
        };
        let time_namespace = plan.clone_flags & libc::CLONE_NEWTIME as u64 != 0
            && crate::spawn::kernel_has_time_namespaces();
        Ok(Some(ProcViewStart {
            device,
            request: ViewRequest {
                required: setting == Some(true),
                sysinfo: launch.spec.security.seccomp_profile.is_none(),
            },
            started_boottime_ns: procview::boottime_ns(),
            time_namespace,
        }))
    }

    /// Forks the view's server once the child has mounted the view: on the connection the
    /// child opened in its own user namespace if it sent one, else on ours; answering the
    /// container's sysinfo calls when the child sent their listener.
    pub fn serve(
        &self,
        launch: &Launch,
        cgroups: Option<&rlxc_cgroup::ContainerCgroups>,
        init_pid: i32,
        mounted: MountedView,
    ) -> Result<procview::Server, ProcViewError> {
        let config = procview::ServerConfig {
            sources: procview::Sources::new(
                cgroups.map(|c| c.paths().to_vec()).unwrap_or_default(),
                cgroups.map(|c| c.leaf_records()).unwrap_or_default(),
            ),
            started_boottime_ns: self.started_boottime_ns,
            boot_offset_ns: match self.time_namespace {
                false => None,
                true => procview::boot_offset_of(init_pid),
            },
            sysinfo_arch: crate::seccomp::abi::NATIVE.audit_arch,
        };
        let device = match mounted.device {
            Some(device) => device,
            None => self.device.try_clone().map_err(ProcViewError::Device)?,
        };
        procview::Server::start(device, mounted.sysinfo, config, &launch.paths.name)
            .map_err(ProcViewError::Server)
    }
}
