//! The one validation of a start: everything `start` checks before it makes anything, as a
//! pure function of the config and this host's facts (kernel features, cgroup layout, LSMs,
//! the rootfs, the containers it shares namespaces with). `rlxc start` runs it first;
//! `rlxc config check` runs exactly it, so what one refuses the other reports, and no check
//! is made again later with another answer.

use std::path::Path;

use super::cgroups::CgroupPlan;
use super::console::ConsolePeer;
use super::launch::{Launch, LaunchError};
use crate::rootfs::RootfsPlan;
use crate::spawn::{self, InitPlan};
use crate::unenforced::Unenforced;

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
    rlxc_net::container::check(&launch.spec.networks)?;
    let mut rootfs_plan = RootfsPlan::from_spec(&launch.spec)?;
    if let Some(point) = crate::rootfs::store_mount_point(&launch.spec, &launch.paths) {
        rootfs_plan.rootfs_mount = Some(point);
        rootfs_plan.make_mount_point = true;
    }
    plan.read_only_proc = rootfs_plan.mount_auto.proc != Some(rlxc_config::values::ProcMode::Rw);
    plan.own_boot_id = rootfs_plan.autodev;
    if let Some(user_namespace) = &plan.user_namespace {
        // A loop image's owner says nothing of its filesystem's root (shifted by create).
        if rootfs_plan.backend.kind() != rlxc_storage::backend::Kind::Loop {
            crate::userns::check_rootfs_owner(
                &rootfs_plan.rootfs,
                &launch.paths.name,
                user_namespace,
            )?;
        }
        crate::userns::check_sysfs(
            true,
            plan.clone_flags & libc::CLONE_NEWNET as u64 != 0,
            rootfs_plan.mount_auto.sys.is_some(),
        )?;
    }
    if rootfs_plan.console || rootfs_plan.ttys > 0 {
        if let Some(denied) = ptys_denied(&launch.spec) {
            // No console and no ttys, said at the rule's line (see `ptys_denied`).
            rootfs_plan.console = false;
            rootfs_plan.ttys = 0;
            plan.env
                .retain(|var| !var.as_bytes().starts_with(b"container_ttys="));
            plan.unenforced.push(denied);
        }
    }
    check_console_path(&launch.spec)?;
    let hook_context = launch.hook_context();
    plan.hook_context = Some(hook_context.clone());
    rootfs_plan.hooks.context = Some(hook_context);
    Ok((plan, rootfs_plan))
}

/// What `rlxc config check` runs: [`plan`], and where the cgroups would go on this host.
/// Makes nothing. Returns what the start would warn about (see [`unenforced`]).
pub fn check(launch: &Launch) -> Result<Vec<Unenforced>, LaunchError> {
    let (plan, _) = plan(launch)?;
    CgroupPlan::of(&launch.spec, &launch.paths.instance_name())?;
    Ok(unenforced(&plan))
}

/// The config lines the start runs without enforcing on this host (each named by key and
/// value, for the CLI to point at its file and line), found by the one validation.
pub(super) fn unenforced(plan: &InitPlan) -> Vec<Unenforced> {
    plan.unenforced.clone()
}

/// `lxc.console.path = DEVICE`: a host terminal, checked without opening it (that has side
/// effects on a tty); the monitor opens it once the start holds the container's lock.
fn check_console_path(spec: &rlxc_config::ContainerSpec) -> Result<(), LaunchError> {
    match spec.console.path.as_deref() {
        None | Some("none") => Ok(()),
        Some(path) => {
            ConsolePeer::check(Path::new(path)).map_err(|reason| LaunchError::ConsolePath {
                path: path.to_string(),
                reason,
            })
        }
    }
}

/// The console and ttys are ptys of the container's own devpts, allocated under its device
/// rules. Rules that deny `/dev/ptmx` (c 5:2) or the pty slaves (c 136:*) (sabayon.common.conf
/// allows only null, zero, full and the randoms) leave the container none it could open:
/// it starts without a console and ttys, as if `lxc.console.path = none` and `lxc.tty.max =
/// 0`, and the last deny rule's line says so. (LXC allocates them before its rules apply,
/// and the container then cannot open them either.)
fn ptys_denied(spec: &rlxc_config::ContainerSpec) -> Option<Unenforced> {
    use rlxc_cgroup::devices::{DevicePolicy, DeviceRule, DeviceType, ACCESS_READ, ACCESS_WRITE};
    let settings = || {
        let v1 = spec
            .cgroup
            .v1
            .iter()
            .map(|s| ("lxc.cgroup.devices.deny", s));
        v1.chain(
            spec.cgroup
                .v2
                .iter()
                .map(|s| ("lxc.cgroup2.devices.deny", s)),
        )
    };
    let rules: Vec<DeviceRule> = settings()
        .filter_map(|(_, setting)| match setting.key.as_str() {
            "devices.allow" => DeviceRule::parse(true, &setting.value).ok(),
            "devices.deny" => DeviceRule::parse(false, &setting.value).ok(),
            _ => None,
        })
        .collect();
    if rules.is_empty() {
        // rlxc's own device list applies, which allows both.
        return None;
    }
    let policy = DevicePolicy::new(&rules);
    let rw = ACCESS_READ | ACCESS_WRITE;
    if policy.allows(DeviceType::Char, 5, 2, rw) && policy.allows(DeviceType::Char, 136, 0, rw) {
        return None;
    }
    let (key, deny) = settings().rfind(|(_, setting)| setting.key == "devices.deny")?;
    Some(Unenforced {
        key,
        value: deny.value.clone(),
        why: "the device rules deny /dev/ptmx or the pty slaves (c 5:2, c 136:*), so the \
              container gets no console and no ttys (allow both to have them)",
    })
}
