//! What the monitor does once init has exited: the stop hooks (with the container's
//! namespaces, held since the start for them), the teardown, the post-stop hooks, and the
//! destroy of an ephemeral container.

use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};

use rlxc_config::spec::HookPoint;

use super::event_loop::InitExit;
use super::launch::Launch;
use super::teardown::Made;
use crate::events;
use crate::hooks;
use crate::namespaces::Namespace;
use crate::paths::ContainerPaths;
use crate::state::State;

/// After init exited: stop hooks, the teardown, post-stop hooks. A failing stop hook cannot
/// undo the stop; it is logged.
pub(super) fn stop_container(launch: &Launch, made: &mut Made, target: &'static str) {
    let mut context = launch.hook_context();
    context.target = Some(target);
    let monitor = rustix::process::getpid().as_raw_nonzero();
    context.namespaces = made
        .namespaces
        .iter()
        .map(|(ns, fd)| (*ns, format!("/proc/{monitor}/fd/{}", fd.as_raw_fd())))
        .collect();
    if let Err(e) = hooks::run_point(&launch.spec, HookPoint::Stop, &context) {
        crate::log_error!("{e}");
    }
    made.namespaces.clear();
    if target == "reboot" {
        made.undo_container();
    } else {
        made.undo();
    }
    if let Err(e) = hooks::run_point(&launch.spec, HookPoint::PostStop, &context) {
        crate::log_error!("{e}");
    }
    if target == "stop" {
        crate::log_info!("stopped");
        if launch.spec.ephemeral == Some(true) {
            destroy_ephemeral(launch);
        }
    }
}

/// How init ended (LXC logs it at INFO too), or the monitor's own failure.
pub(super) fn log_init_end(exit: &std::io::Result<InitExit>) {
    match exit {
        Ok(InitExit::Exited(code)) => crate::log_info!("init exited with status {code}"),
        Ok(InitExit::Signaled(signal)) => crate::log_info!(
            "init was ended by signal {signal} ({})",
            rlxc_config::values::Signal(*signal)
        ),
        Err(e) => crate::log_error!("monitor: {e}; stopping the container"),
    }
}

/// Tells the watchers how init ended, then that the container is stopping (LXC's order).
pub(super) fn record_init_end(paths: &ContainerPaths, exit: &std::io::Result<InitExit>) {
    match exit {
        Ok(InitExit::Exited(code)) => events::init_ended(paths, Some(*code), None),
        Ok(InitExit::Signaled(signal)) => events::init_ended(paths, None, Some(*signal)),
        Err(_) => {}
    }
    events::state_changed(paths, State::Stopping);
}

/// A start that failed (or was abandoned): ABORTING, then STOPPING while it is undone
/// (STOPPED follows once its run directory is gone, see `teardown`).
pub(super) fn record_abort(paths: &ContainerPaths) {
    events::state_changed(paths, State::Aborting);
    events::state_changed(paths, State::Stopping);
}

/// `lxc.ephemeral = 1`: the container is destroyed once it has stopped, as `rlxc destroy`
/// would (destroy hooks, then its directory; a rootfs outside it is left alone). Before the
/// monitor's end, so a `stop` that waits for it returns with the container gone.
fn destroy_ephemeral(launch: &Launch) {
    let paths = &launch.paths;
    if !paths.dir().exists() {
        // Started from a config elsewhere (`--rcfile`): there is no container to remove.
        return;
    }
    match crate::create::destroy_stopped(paths) {
        Ok(report) if report.removed => {
            crate::log_info!("lxc.ephemeral: destroyed {}", paths.dir().display());
        }
        Ok(report) => crate::log_error!(
            "lxc.ephemeral: {} was not removed entirely (mount points left: {:?})",
            paths.dir().display(),
            report.mount_points
        ),
        Err(error) => crate::log_error!("lxc.ephemeral: destroying {}: {error}", paths.name),
    }
}

/// Opens init's namespaces that the container has of its own, by LXC's names, so that stop
/// hooks can enter them after init is gone.
pub(super) fn hold_namespaces(
    pid: i32,
    clone_flags: u64,
) -> std::io::Result<Vec<(&'static str, OwnedFd)>> {
    Namespace::ALL
        .into_iter()
        .filter(|ns| clone_flags & ns.clone_flag() as u64 != 0)
        .map(|ns| {
            let file = File::open(format!("/proc/{pid}/ns/{}", ns.name()))?;
            Ok((ns.name(), OwnedFd::from(file)))
        })
        .collect()
}
