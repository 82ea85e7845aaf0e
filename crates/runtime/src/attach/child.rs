//! The attached process, from fork to exec, in two processes so that the container never
//! sees one that holds anything of the host (CVE-2019-5736 and its ptrace cousin: a root
//! with CAP_SYS_PTRACE in a privileged container can trace a non-dumpable process).
//!
//! 1. The *confiner*, forked by the CLI into the host's pid namespace (invisible from the
//!    container): joins the cgroups, enters every namespace and init's root, takes init's
//!    bounding set, seccomp, the ids, and keeps no capability init could not have; then
//!    closes every host fd and forks the command's process as a sibling (CLONE_PARENT: the
//!    CLI's child), tells the CLI its pid and exits.
//! 2. The *command's process*, the first of the two in the container's pid namespace and so
//!    the first the container can see, trace or open through /proc: by then it is confined
//!    like any process of the container. It takes the terminal and execs.
//!
//! Any failure is reported to the CLI over the channel, then the process exits.

use rlxc_cgroup::SelfEntry;
use std::convert::Infallible;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rustix::thread::ThreadNameSpaceType;
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::confine::{self, Bounding, Groups};
use crate::process::fds::dup_onto;
use crate::process::fork::{exit_child, fork_sibling};

/// What the child needs, all prepared by the parent while it could still see the host.
pub(crate) struct ChildPlan {
    pub pidfd: OwnedFd,
    /// The container's v1 cgroups, opened on the host (`None` with `-e CGROUP`; the cgroup2
    /// one is entered by the clone that made the confiner).
    pub cgroups: Option<SelfEntry>,
    /// `CLONE_NEW*` flags to setns into, all at once (the pid namespace for children only).
    pub namespaces: u32,
    /// Init's root, when the mount namespace is entered.
    pub root: Option<OwnedFd>,
    /// The pty slave, and which of stdin/stdout/stderr it replaces.
    pub terminal: Option<(OwnedFd, [bool; 3])>,
    /// Init's bounding set to apply; `None` keeps ours (`-e CAP`).
    pub bounding_set: Option<u64>,
    /// Init's seccomp filter and no_new_privs: the command gets the same.
    pub confinement: super::target::Confinement,
    /// The `personality(2)` of the command: init's (`lxc.arch`), or `attach -a`'s.
    pub personality: u32,
    /// Init's host pid when it has a core-scheduling cookie (`lxc.sched.core`): the command
    /// shares it.
    pub core_cookie_of: Option<i32>,
    /// Hand sysinfo(2) to the view's server, as init's is.
    pub sysinfo: bool,
    /// `attach -R`: /proc and /sys of the namespaces entered, in a mount namespace of its own.
    pub remount_sys_proc: bool,
    pub uid: u32,
    pub gid: u32,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
}

/// Child to parent; the channel closing on exec (it is CLOEXEC) says the command runs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ChildReport {
    /// The confiner installed the sysinfo filter; its listener comes along, for the CLI to
    /// hand to the monitor. The confiner waits for [`ParentReply::ListenerTaken`].
    SysinfoListener,
    /// The confiner forked the command's process, the CLI's child, with this pid.
    Forked { pid: i32 },
    /// A step failed; `exit_code` is what attach exits with (127: command not found).
    Failed {
        step: String,
        message: String,
        exit_code: u8,
    },
}

/// The CLI to the confiner (a refusal is a SIGKILL: nothing is forked under a filter whose
/// listener nobody answers).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ParentReply {
    ListenerTaken,
}

struct StepFailure {
    step: &'static str,
    message: String,
    exit_code: u8,
}

impl From<crate::confine::Failure> for StepFailure {
    fn from(failure: crate::confine::Failure) -> StepFailure {
        StepFailure {
            step: failure.step,
            message: failure.message,
            exit_code: 1,
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
        exit_code: 1,
    })
}

fn report_and_exit(channel: &Channel, failure: StepFailure) -> ! {
    let report = ChildReport::Failed {
        step: failure.step.to_string(),
        message: failure.message,
        exit_code: failure.exit_code,
    };
    let _ = channel.send(&report, &[]);
    exit_child(i32::from(failure.exit_code))
}

/// The confiner's side (see the module docs); never returns.
pub(crate) fn run(plan: ChildPlan, channel: Channel) -> ! {
    if let Err(failure) = confine(&plan, &channel) {
        report_and_exit(&channel, failure)
    }
    let ChildPlan {
        pidfd,
        cgroups,
        root,
        terminal,
        argv,
        env,
        ..
    } = plan;
    // The host's last handles: init's pidfd, its cgroup files, its root as opened on the host.
    drop((pidfd, cgroups, root));
    let mut keep = vec![channel.as_fd().as_raw_fd()];
    keep.extend(terminal.as_ref().map(|(slave, _)| slave.as_raw_fd()));
    if let Err(failure) = step(
        "close fds",
        crate::process::fds::close_fds_from_3_except(&keep),
    ) {
        report_and_exit(&channel, failure)
    }
    match step("fork into the container", fork_sibling()) {
        Err(failure) => report_and_exit(&channel, failure),
        Ok(0) => {
            let Err(failure) = start_command(terminal.as_ref(), &argv, &env);
            report_and_exit(&channel, failure)
        }
        Ok(pid) => {
            let _ = channel.send(&ChildReport::Forked { pid }, &[]);
            exit_child(0)
        }
    }
}

/// The confiner's checklist: after it, this process has nothing a process of the container
/// could not have.
fn confine(plan: &ChildPlan, channel: &Channel) -> Result<(), StepFailure> {
    // First, while this process's /proc/self is still the host's: the label is for the
    // next exec, the command's (the command's process inherits it with the fork).
    if let Some(label) = &plan.confinement.lsm_label {
        let opened = step("LSM label", crate::lsm::open(std::slice::from_ref(label)))?;
        step("LSM label", crate::lsm::apply(&opened))?;
    }
    step(
        "personality",
        crate::process::exec::set_personality(plan.personality),
    )?;
    if let Some(init) = plan.core_cookie_of {
        // By init's host pid: this process stays in the host's pid namespace (a setns into
        // the container's moves only its children), and is host root before the setns.
        step("lxc.sched.core", crate::sched_core::share_from(init))?;
    }
    join_cgroups(plan)?;
    enter_namespaces(plan)?;
    enter_root(plan)?;
    if plan.remount_sys_proc {
        remount_sys_proc()?;
    }
    lock_down(plan, channel)
}

/// Init's bounding set, no_new_privs, seccomp, and the command's ids (see `confine` for the
/// order); the sysinfo listener handed over right before the policy's filter.
fn lock_down(plan: &ChildPlan, channel: &Channel) -> Result<(), StepFailure> {
    let lockdown = confine::Lockdown {
        bounding: match plan.bounding_set {
            Some(keep) => Bounding::Only(keep),
            None => Bounding::Unchanged,
        },
        no_new_privs: plan.confinement.no_new_privs,
        seccomp: plan.confinement.seccomp.as_ref(),
        groups: Groups::NoneIfAllowed,
        gid: plan.gid,
        uid: plan.uid,
    };
    confine::lock_down(&lockdown, || {
        if plan.sysinfo {
            hand_over_sysinfo(channel)?;
        }
        Ok(())
    })
}

/// The filter init got that hands sysinfo(2) to the view's server (stacked under the policy,
/// as in init), its listener sent to the CLI for the monitor. Nothing is forked under it
/// before the CLI confirms the monitor has the listener: otherwise the CLI kills us and
/// tries again without, so no attached process is ever left whose sysinfo nobody answers
/// (ENOSYS). A kernel without user notification keeps answering sysinfo itself.
fn hand_over_sysinfo(channel: &Channel) -> Result<(), StepFailure> {
    let Some(listener) = crate::seccomp::install_sysinfo_listener() else {
        return Ok(());
    };
    let report = ChildReport::SysinfoListener;
    step("sysinfo", channel.send(&report, &[listener.as_fd()]))?;
    drop(listener);
    match step("sysinfo", channel.recv::<ParentReply>())? {
        (ParentReply::ListenerTaken, _) => Ok(()),
    }
}

/// The command's process: the terminal, then exec.
fn start_command(
    terminal: Option<&(OwnedFd, [bool; 3])>,
    argv: &[CString],
    env: &[CString],
) -> Result<Infallible, StepFailure> {
    set_up_terminal(terminal)?;
    step("signals", crate::process::signals::reset_signals_for_exec())?;
    step("close fds", crate::process::fds::cloexec_from_3())?;
    Err(exec(argv, env))
}

/// Joins the container's v1 cgroups before its cgroup namespace: once inside that namespace
/// our current (host) cgroup is outside its root, and a kernel that checks the writer's
/// namespace refuses the move (ENOENT).
fn join_cgroups(plan: &ChildPlan) -> Result<(), StepFailure> {
    match &plan.cgroups {
        Some(cgroups) => step("joining the container's cgroup", cgroups.enter()),
        None => Ok(()),
    }
}

/// One setns through init's pidfd for every namespace at once (Linux 5.8): the kernel enters
/// them in the right order (user first) and either all or none.
fn enter_namespaces(plan: &ChildPlan) -> Result<(), StepFailure> {
    if plan.namespaces == 0 {
        return Ok(());
    }
    step(
        "setns",
        rustix::thread::move_into_thread_name_spaces(
            plan.pidfd.as_fd(),
            ThreadNameSpaceType::from_bits_retain(plan.namespaces),
        ),
    )
}

/// setns into a mount namespace leaves us at that namespace's root; init may have a
/// different root (it pivoted, or chrooted), so take init's own root explicitly.
fn enter_root(plan: &ChildPlan) -> Result<(), StepFailure> {
    let Some(root) = &plan.root else {
        return Ok(());
    };
    step(
        "entering the container's root",
        rustix::process::fchdir(root),
    )?;
    step(
        "entering the container's root",
        rustix::process::chroot("."),
    )?;
    step("entering the container's root", rustix::process::chdir("/"))
}

/// `attach -R` (LXC's `--remount-sys-proc`), for a set of namespaces without the mount one:
/// the host's /proc and /sys would show the host's processes and network. In a mount
/// namespace of the command's own (nothing propagates back to the host), a proc of the pid
/// namespace entered and a sysfs of the network namespace entered go over them. A proc shows
/// its mounter's own pid namespace, which a setns changes only for children: a child forked
/// into it mounts both, before this process drops its privileges.
fn remount_sys_proc() -> Result<(), StepFailure> {
    use rustix::mount::{mount, mount_change, MountFlags, MountPropagationFlags};
    let what = "-R: remounting /proc and /sys";
    // SAFETY: NEWNS only (no FILES): no descriptor table is split; the confiner is one thread.
    let unshared = unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) };
    step(what, unshared)?;
    step(
        what,
        mount_change(
            "/",
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        ),
    )?;
    match step(what, crate::process::fork::fork())? {
        0 => {
            let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
            let proc = mount("proc", "/proc", "proc", flags, None);
            let sys = mount("sysfs", "/sys", "sysfs", flags, None);
            exit_child(i32::from(proc.is_err()) | (i32::from(sys.is_err()) << 1))
        }
        pid => {
            let status = step(
                what,
                rustix::process::waitpid(
                    rustix::process::Pid::from_raw(pid),
                    rustix::process::WaitOptions::empty(),
                ),
            )?;
            match status.and_then(|(_, status)| status.exit_status()) {
                Some(0) => Ok(()),
                code => Err(StepFailure {
                    step: what,
                    message: match code {
                        Some(1) => "mounting proc on /proc failed".into(),
                        Some(2) => "mounting sysfs on /sys failed".into(),
                        _ => "mounting proc and sysfs failed".into(),
                    },
                    exit_code: 1,
                }),
            }
        }
    }
}

/// A new session, so the user's terminal is never our controlling terminal (no `/dev/tty`
/// back to it); with a pty, its slave becomes the controlling terminal and replaces the
/// stdio that were terminals.
fn set_up_terminal(terminal: Option<&(OwnedFd, [bool; 3])>) -> Result<(), StepFailure> {
    step("setsid", rustix::process::setsid())?;
    let Some((slave, replaces)) = terminal else {
        return Ok(());
    };
    step("terminal", rustix::process::ioctl_tiocsctty(slave))?;
    for (target, replace) in replaces.iter().enumerate() {
        if *replace {
            step("terminal", dup_onto(slave.as_fd(), target as i32))?;
        }
    }
    Ok(())
}

/// execve of the command, searched in the command's own PATH as a shell would; the exit
/// codes are a shell's: 127 when it is not found, 126 when it cannot be run.
fn exec(argv: &[CString], env: &[CString]) -> StepFailure {
    let failure = crate::exec::exec_command(argv, env);
    StepFailure {
        step: "exec",
        message: failure.message(),
        exit_code: failure.exit_code(),
    }
}
