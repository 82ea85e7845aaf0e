//! The container's first process, from clone to exec: a checklist, one step per function.

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};

use rlxc_cgroup::SelfEntry;

use super::plan::InitPlan;
use super::protocol::{ChildMessage, ParentMessage};
use super::sys;
use crate::channel::Channel;
use crate::confine::{self, Groups};
use crate::procview::{self, ViewRequest};

/// The pty masters the filesystem setup allocated in the container's own devpts.
#[derive(Debug, Default)]
pub struct PtyMasters {
    pub console: Option<OwnedFd>,
    pub ttys: Vec<OwnedFd>,
}

/// A failed step: its name and why.
pub(crate) struct StepFailure {
    pub(crate) step: &'static str,
    pub(crate) message: String,
    pub(crate) config: Option<super::ConfigLine>,
}

impl From<crate::confine::Failure> for StepFailure {
    fn from(failure: crate::confine::Failure) -> StepFailure {
        StepFailure {
            step: failure.step,
            message: failure.message,
            config: None,
        }
    }
}

fn step<T, E: std::fmt::Display>(
    name: &'static str,
    result: Result<T, E>,
) -> Result<T, StepFailure> {
    result.map_err(|e| StepFailure {
        step: name,
        message: e.to_string(),
        config: None,
    })
}

/// Runs the child's side; never returns (it execs init or exits).
pub(crate) fn run(
    channel: Channel,
    plan: &InitPlan,
    cgroups: Option<&SelfEntry>,
    setup_filesystem: &mut dyn FnMut() -> Result<PtyMasters, crate::rootfs::RootfsError>,
) -> ! {
    let (failure, channel) = match set_up(&channel, plan, cgroups, setup_filesystem) {
        Err(failure) => (failure, channel),
        Ok(()) if plan.tiny_init => super::tiny_init::run(channel, plan),
        Ok(()) => (
            exec_failure(crate::exec::exec_command(&plan.argv, &plan.env)),
            channel,
        ),
    };
    let _ = channel.send(
        &ChildMessage::Failed {
            step: failure.step.to_string(),
            message: failure.message,
            config: failure.config,
        },
        &[],
    );
    crate::process::fork::exit_child(1)
}

/// The message of a failed exec: the command and the OS error, as a shell would say it.
pub(crate) fn exec_failure(failure: crate::exec::ExecFailure) -> StepFailure {
    StepFailure {
        step: "exec",
        message: failure.message(),
        config: None,
    }
}

/// Everything from clone up to the moment of exec.
fn set_up(
    channel: &Channel,
    plan: &InitPlan,
    cgroups: Option<&SelfEntry>,
    setup_filesystem: &mut dyn FnMut() -> Result<PtyMasters, crate::rootfs::RootfsError>,
) -> Result<(), StepFailure> {
    // The monitor blocks the signals it forwards, and Rust's runtime ignores SIGPIPE: init
    // must inherit neither (LXC's init ignores nothing).
    step("signals", crate::process::signals::reset_signals_for_exec())?;
    set_parent_death_signal(plan)?;
    set_personality(plan)?;
    if plan.sched_core {
        // First of the container's own: everything it forks from here on inherits it.
        step("lxc.sched.core", crate::sched_core::create_for_self())?;
    }
    // Before anything is made or run in here, while the monitor sets up the host side. The
    // files were opened by the monitor as host root, and a v1 `tasks` write checks the
    // opener's credentials, so this works before this process has ids in its user namespace.
    if let Some(cgroups) = cgroups {
        step("cgroups", cgroups.enter())?;
    }
    let procview = wait_for_go(channel)?;
    let procview = procview.map(|(request, fuse)| (request, own_fuse_device(plan, fuse)));
    if plan.clone_flags & libc::CLONE_NEWNET as u64 != 0 {
        // Its own namespace's loopback, from inside: the monitor has no thread to send there
        // for a container with no other interface (the host side is done by Go).
        step("loopback", loopback_up())?;
    }
    root_cgroup_namespace_here(plan)?;
    // While the host's /proc is still ours: the container may mount none.
    let exec_labels = step("LSM label", crate::lsm::open(&plan.lsm.exec))?;
    let keyring_label = step("LSM label", crate::lsm::open(plan.lsm.keycreate.as_slice()))?;
    // The view is mounted first (detached, so it needs no rootfs): its server is forked
    // while the rootfs is set up here, and is running when the files are bound.
    let view = match procview {
        Some((request, fuse)) => mount_procview(channel, request, fuse)?.map(|v| (request, v)),
        None => None,
    };
    let ptys = setup_filesystem().map_err(|e| StepFailure {
        step: "rootfs",
        config: e.config_key().map(|key| super::ConfigLine {
            key: key.to_string(),
            value: e.config_value().map(str::to_string),
        }),
        message: e.to_string(),
    })?;
    send_ptys(channel, &ptys)?;
    if let Some((request, view)) = view {
        bind_procview(channel, request, view)?;
    }
    let has_console = ptys.console.is_some();
    drop(ptys);
    set_hostname(plan)?;
    apply_sysctls(plan)?;
    if plan.read_only_proc {
        let own_network = plan.clone_flags & libc::CLONE_NEWNET as u64 != 0;
        step(
            "read-only /proc",
            crate::rootfs::make_proc_read_only(own_network),
        )?;
    }
    if plan.own_boot_id {
        step("boot id", crate::rootfs::bind_own_boot_id())?;
    }
    if plan.user_namespace.is_some() {
        enter_locked_mounts(channel)?;
    }
    if !plan.inherit_stdio {
        attach_stdio(has_console)?;
    }
    lock_down(plan, &keyring_label)?;
    step("cwd", rustix::process::chdir(plan.cwd.as_str()))?;
    // From here on container programs run (lxc.hook.start, then init or the tiny init's
    // command) and can look at this process, rlxc's binary as pid 1, through /proc/1/fd:
    // nothing of the monitor's (its lock, cgroup directories, console log) may be open.
    step(
        "close fds",
        // The exec labels are written last, after this: their files stay open until exec.
        crate::process::fds::close_fds_from_3_except(
            &std::iter::once(std::os::fd::AsRawFd::as_raw_fd(&channel.as_fd()))
                .chain(crate::lsm::raw_fds(&exec_labels))
                .collect::<Vec<_>>(),
        ),
    )?;
    run_start_hooks(plan)?;
    step("sync", channel.send(&ChildMessage::ReadyToExec, &[]))?;
    if plan.wait_for_exec {
        match step("sync", channel.recv::<ParentMessage>())? {
            (ParentMessage::Exec, _) => {}
            (other, _) => {
                return Err(StepFailure {
                    config: None,
                    step: "sync",
                    message: format!("expected Exec, got {other:?}"),
                })
            }
        }
    }
    // Last before exec: the start hooks' own execs must not take init's label.
    step("LSM label", crate::lsm::apply(&exec_labels))?;
    step("close fds", crate::process::fds::cloexec_from_3())
}

/// Ties init's life to the monitor's, as LXC's `lxc.monitor.signal.pdeath` does.
fn set_parent_death_signal(plan: &InitPlan) -> Result<(), StepFailure> {
    let signal = plan
        .parent_death_signal
        .and_then(rustix::process::Signal::from_named_raw);
    step(
        "parent death signal",
        rustix::process::set_parent_process_death_signal(signal),
    )
}

/// `lxc.arch`: init and everything it starts (the start hooks too) run under the
/// architecture's personality, as with LXC.
fn set_personality(plan: &InitPlan) -> Result<(), StepFailure> {
    match plan.personality {
        Some(persona) => step("lxc.arch", crate::process::exec::set_personality(persona)),
        None => Ok(()),
    }
}

/// clone3 made the cgroup namespace while the child was still in the monitor's v1 cgroups
/// (only the cgroup2 part is joined at clone time); now that it has entered the
/// container's cgroups everywhere, a fresh namespace makes those its root, so the
/// container sees `/` for its own cgroup (and a cgroup automount shows only its subtree).
fn root_cgroup_namespace_here(plan: &InitPlan) -> Result<(), StepFailure> {
    if plan.clone_flags & libc::CLONE_NEWCGROUP as u64 == 0 {
        return Ok(());
    }
    step("cgroup namespace", sys::unshare_cgroup_namespace())
}

/// `Go`, and with it what the /proc view needs: the request and the monitor's /dev/fuse fd.
fn loopback_up() -> Result<(), rlxc_net::Error> {
    rlxc_net::link::set_up(&mut rlxc_net::Netlink::open()?, "lo")
}

fn wait_for_go(channel: &Channel) -> Result<Option<(ViewRequest, OwnedFd)>, StepFailure> {
    match step("sync", channel.recv::<ParentMessage>())? {
        (ParentMessage::Go { procview }, fds) => Ok(procview.zip(fds.into_iter().next())),
        (other, _) => Err(StepFailure {
            config: None,
            step: "sync",
            message: format!("expected Go, got {other:?}"),
        }),
    }
}

/// The FUSE connection to mount the /proc view on. The kernel mounts a connection only in the
/// user namespace that opened it, so a child in a new user namespace opens one of its own
/// (now, while the host's /dev is in reach) and hands it to the monitor's server once
/// mounted; otherwise the monitor's, which it already serves from.
fn own_fuse_device(plan: &InitPlan, monitors: OwnedFd) -> Result<FuseDevice, String> {
    if plan.user_namespace.is_none() {
        return Ok(FuseDevice::Monitors(monitors));
    }
    match procview::open_device(Some(true)) {
        Ok(Some(device)) => Ok(FuseDevice::Own(device)),
        Ok(None) => Err("no /dev/fuse".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Whose FUSE connection the view is mounted on.
enum FuseDevice {
    Monitors(OwnedFd),
    /// Opened in the container's user namespace: sent to the monitor once mounted.
    Own(OwnedFd),
}

/// The container's /proc view (see `procview`): mounted detached here, served by the
/// monitor's server, then its files bound over the kernel's ([`bind_procview`]). Where FUSE
/// cannot be mounted and the view was not required, the kernel's files stay and the monitor
/// warns: `None`.
fn mount_procview(
    channel: &Channel,
    request: ViewRequest,
    fuse: Result<FuseDevice, String>,
) -> Result<Option<OwnedFd>, StepFailure> {
    let mounted = fuse.and_then(|fuse| {
        let fd = match &fuse {
            FuseDevice::Monitors(fd) | FuseDevice::Own(fd) => fd,
        };
        match procview::mount::mount_detached(fd) {
            Ok(view) => Ok((view, fuse)),
            Err(e) => Err(format!("mounting fuse: {e}")),
        }
    });
    let (view, fuse) = match mounted {
        Ok(mounted) => mounted,
        Err(reason) if request.required => {
            return Err(StepFailure {
                config: None,
                step: "lxc.procview",
                message: reason,
            })
        }
        Err(reason) => {
            step(
                "sync",
                channel.send(&ChildMessage::ProcViewUnavailable { reason }, &[]),
            )?;
            return Ok(None);
        }
    };
    // Installed now so that the server, forked next, gets its listener from the start; the
    // default policy's filter comes later and stacks on it.
    let sysinfo = request
        .sysinfo
        .then(crate::seccomp::install_sysinfo_listener)
        .flatten();
    let own_device = match &fuse {
        FuseDevice::Own(fd) => Some(fd.as_fd()),
        FuseDevice::Monitors(_) => None,
    };
    let message = ChildMessage::ProcViewMounted {
        own_device: own_device.is_some(),
        sysinfo: sysinfo.is_some(),
    };
    // The view itself last: the monitor looks its files up while the rootfs is made here.
    let fds: Vec<_> = own_device
        .into_iter()
        .chain(sysinfo.iter().map(AsFd::as_fd))
        .chain(std::iter::once(view.as_fd()))
        .collect();
    step("sync", channel.send(&message, &fds))?;
    // The mount and the server hold them now; init must not inherit the device nor the
    // listener (close-on-exec as well).
    drop(fds);
    drop(fuse);
    drop(sysinfo);
    Ok(Some(view))
}

/// Once the monitor says its server runs: the view's files over the kernel's.
fn bind_procview(
    channel: &Channel,
    request: ViewRequest,
    view: OwnedFd,
) -> Result<(), StepFailure> {
    match step("sync", channel.recv::<ParentMessage>())? {
        (ParentMessage::ProcViewServed, _) => {}
        (other, _) => {
            return Err(StepFailure {
                config: None,
                step: "sync",
                message: format!("expected ProcViewServed, got {other:?}"),
            })
        }
    }
    // The files are bound, or (not required) none is and the monitor warns.
    let outcome = match procview::mount::bind_files(view) {
        Ok(()) => ChildMessage::ProcViewBound,
        Err(e) if request.required => {
            return Err(StepFailure {
                config: None,
                step: "lxc.procview",
                message: e.to_string(),
            })
        }
        Err(e) => ChildMessage::ProcViewUnavailable {
            reason: e.to_string(),
        },
    };
    step("sync", channel.send(&outcome, &[]))
}

/// In a user namespace of its own, root could unmount the masks made above: the monitor
/// hands over a copy of these mounts where the kernel locked them all (see `spawn::lock`).
fn enter_locked_mounts(channel: &Channel) -> Result<(), StepFailure> {
    step("sync", channel.send(&ChildMessage::MountsMade, &[]))?;
    match step("sync", channel.recv::<ParentMessage>())? {
        (ParentMessage::LockedMounts, fds) => match fds.into_iter().next() {
            Some(copy) => step("locking the mounts", super::lock::enter(copy)),
            None => Err(StepFailure {
                config: None,
                step: "sync",
                message: "LockedMounts came without its namespace".into(),
            }),
        },
        (other, _) => Err(StepFailure {
            config: None,
            step: "sync",
            message: format!("expected LockedMounts, got {other:?}"),
        }),
    }
}

fn send_ptys(channel: &Channel, ptys: &PtyMasters) -> Result<(), StepFailure> {
    let fds: Vec<_> = ptys
        .console
        .iter()
        .chain(ptys.ttys.iter())
        .map(|fd| fd.as_fd())
        .collect();
    let message = ChildMessage::Ptys {
        console: ptys.console.is_some(),
        ttys: ptys.ttys.len() as u32,
    };
    step("ptys", channel.send(&message, &fds))
}

/// `lxc.hook.start`: programs of the container's own, run in it just before init.
fn run_start_hooks(plan: &InitPlan) -> Result<(), StepFailure> {
    if plan.start_hooks.is_empty() {
        return Ok(());
    }
    let Some(context) = &plan.hook_context else {
        return Err(StepFailure {
            config: None,
            step: "lxc.hook.start",
            message: "the plan has start hooks but no hook context".into(),
        });
    };
    let hook = crate::hooks::Hook::Lxc(rlxc_config::spec::HookPoint::Start);
    crate::hooks::run(&plan.start_hooks, hook, context).map_err(|e| StepFailure {
        config: None,
        step: "lxc.hook.start",
        message: e.to_string(),
    })
}

fn set_hostname(plan: &InitPlan) -> Result<(), StepFailure> {
    match &plan.hostname {
        Some(name) => step("hostname", rustix::system::sethostname(name.as_bytes())),
        None => Ok(()),
    }
}

fn apply_sysctls(plan: &InitPlan) -> Result<(), StepFailure> {
    for (path, value) in &plan.sysctls {
        let full = format!("/proc/sys/{path}");
        std::fs::write(&full, value).map_err(|e| StepFailure {
            config: None,
            step: "sysctl",
            message: format!("{full}: {e}"),
        })?;
    }
    Ok(())
}

/// A new session with the console as stdio; without a console, stdio is /dev/null.
fn attach_stdio(has_console: bool) -> Result<(), StepFailure> {
    step("setsid", rustix::process::setsid())?;
    let path = if has_console {
        "/dev/console"
    } else {
        "/dev/null"
    };
    let fd = step(
        "console",
        rustix::fs::open(path, OFlags::RDWR | OFlags::NOCTTY, Mode::empty()),
    )?;
    // No TIOCSCTTY: init opens /dev/console for its gettys, which make it their controlling
    // terminal; were it init's own, a getty could take it only with CAP_SYS_ADMIN (which the
    // seed's config drops), as with LXC.
    step("console", crate::process::fds::dup_onto_stdio(fd.as_fd()))
}

/// Init's capabilities, no_new_privs, seccomp and ids (see `confine` for the order); its
/// keyring label and session keyring right before the filter, which denies keyctl.
fn lock_down(plan: &InitPlan, keyring_label: &[crate::lsm::OpenLabel]) -> Result<(), StepFailure> {
    let lockdown = confine::Lockdown {
        bounding: confine::Bounding::Drop(&plan.drop_capabilities),
        no_new_privs: plan.no_new_privs,
        seccomp: plan.seccomp.as_ref(),
        groups: Groups::These(&plan.groups),
        gid: plan.gid,
        uid: plan.uid,
    };
    confine::lock_down(&lockdown, || {
        step("LSM label", crate::lsm::apply(keyring_label))?;
        if plan.new_session_keyring {
            step("session keyring", sys::join_new_session_keyring())?;
        }
        Ok(())
    })
}
