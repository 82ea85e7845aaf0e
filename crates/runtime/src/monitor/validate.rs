//! The one validation of a start: everything `start` checks before it makes anything, as a
//! pure function of the config and this host's facts (kernel features, cgroup layout, LSMs,
//! the rootfs, the containers it shares namespaces with). `rlxc start` runs it first;
//! `rlxc config check` runs exactly it, so what one refuses the other reports, and no check
//! is made again later with another answer.

use rlxc_cgroup::CgroupLayout;

use super::cgroups::CgroupPaths;
use super::launch::{Launch, LaunchError};
use crate::hooks::HookContext;
use crate::rootfs::RootfsPlan;
use crate::spawn::{self, InitPlan};

/// The plans a start runs from, once every check has passed.
pub(super) fn plan(launch: &Launch) -> Result<(InitPlan, RootfsPlan), LaunchError> {
    let mut plan = InitPlan::from_spec(&launch.spec, &launch.command)?;
    plan.shared = spawn::share::resolve(&launch.spec, &launch.paths.lxcpath)?;
    if plan.hostname.is_none() && plan.clone_flags & libc::CLONE_NEWUTS as u64 != 0 {
        // LXC names a container's host after the container unless lxc.uts.name says.
        plan.hostname = Some(launch.paths.name.clone());
    }
    // Without offsets a kernel lacking time namespaces only loses the container's own
    // uptime clock; with them the start cannot do what the config asks.
    let offsets = plan.boot_offset.is_some() || plan.monotonic_offset.is_some();
    if offsets && !spawn::kernel_has_time_namespaces() {
        return Err(spawn::PlanError::NoTimeNamespaces.into());
    }
    let mut rootfs_plan = RootfsPlan::from_spec(&launch.spec)?;
    plan.read_only_proc = rootfs_plan.mount_auto.proc != Some(rlxc_config::values::ProcMode::Rw);
    plan.own_boot_id = rootfs_plan.autodev;
    if let Some(user_namespace) = &plan.user_namespace {
        crate::userns::check_rootfs_owner(&rootfs_plan.rootfs, &launch.paths.name, user_namespace)?;
        crate::userns::check_sysfs(
            true,
            plan.clone_flags & libc::CLONE_NEWNET as u64 != 0,
            rootfs_plan.mount_auto.sys.is_some(),
        )?;
    }
    let hook_context = HookContext::new(&launch.paths.name, &launch.config_path, &launch.spec);
    plan.hook_context = Some(hook_context.clone());
    rootfs_plan.hooks.context = Some(hook_context);
    Ok((plan, rootfs_plan))
}

/// What `rlxc config check` runs: [`plan`], and where the cgroups would go on this host.
/// Makes nothing.
pub fn check(launch: &Launch) -> Result<(), LaunchError> {
    plan(launch)?;
    CgroupPaths::of(&launch.spec, &launch.paths.instance_name()).map_err(LaunchError::Monitor)?;
    CgroupLayout::detect().map_err(|e| LaunchError::Monitor(format!("cgroups: {e}")))?;
    Ok(())
}
