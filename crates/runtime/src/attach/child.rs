//! The attached process, from fork to exec: a checklist, one step per function. It was forked
//! into the container's pid namespace and is non-dumpable (see [`super::attach`]); any failure
//! is reported to the parent over the channel, then the child exits.

use rlxc_cgroup::SelfEntry;
use std::convert::Infallible;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::io::Errno;
use rustix::process::{Gid, Uid};
use rustix::thread::{CapabilitySet, ThreadNameSpaceType};
use serde::{Deserialize, Serialize};

use super::env::{lookup, DEFAULT_PATH};
use super::sys;
use crate::channel::Channel;

/// What the child needs, all prepared by the parent while it could still see the host.
pub(crate) struct ChildPlan {
    pub pidfd: OwnedFd,
    /// The container's v1 cgroups, opened on the host (`None` with `-e CGROUP`; the cgroup2
    /// one is entered by the clone).
    pub cgroups: Option<SelfEntry>,
    /// `CLONE_NEW*` flags to setns into, all at once (the pid namespace is already entered).
    pub namespaces: u32,
    /// Init's root, when the mount namespace is entered.
    pub root: Option<OwnedFd>,
    /// The pty slave, and which of stdin/stdout/stderr it replaces.
    pub terminal: Option<(OwnedFd, [bool; 3])>,
    /// Init's bounding set to apply; `None` keeps ours (`-e CAP`).
    pub bounding_set: Option<u64>,
    /// Init runs under rlxc's default seccomp policy: so does the command.
    pub seccomp: bool,
    pub uid: u32,
    pub gid: u32,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
}

/// Child to parent; the channel closing on exec (it is CLOEXEC) says the command runs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ChildReport {
    /// A step failed; `exit_code` is what attach exits with (127: command not found).
    Failed {
        step: String,
        message: String,
        exit_code: u8,
    },
}

struct StepFailure {
    step: &'static str,
    message: String,
    exit_code: u8,
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

/// Runs the child's side; never returns (it execs the command or exits).
pub(crate) fn run(plan: ChildPlan, channel: Channel) -> ! {
    let Err(failure) = set_up_and_exec(&plan);
    let report = ChildReport::Failed {
        step: failure.step.to_string(),
        message: failure.message,
        exit_code: failure.exit_code,
    };
    let _ = channel.send(&report, &[]);
    sys::exit_child(i32::from(failure.exit_code))
}

fn set_up_and_exec(plan: &ChildPlan) -> Result<Infallible, StepFailure> {
    join_cgroups(plan)?;
    enter_namespaces(plan)?;
    enter_root(plan)?;
    set_up_terminal(plan)?;
    limit_capabilities(plan)?;
    if plan.seccomp {
        step(
            "seccomp",
            crate::seccomp::install(&crate::seccomp::default_program()),
        )?;
    }
    set_identity(plan)?;
    step("signals", sys::reset_signals_for_exec())?;
    step("close fds", sys::cloexec_from_3())?;
    Err(exec(&plan.argv, &plan.env))
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

/// A new session, so the user's terminal is never our controlling terminal (no `/dev/tty`
/// back to it); with a pty, its slave becomes the controlling terminal and replaces the
/// stdio that were terminals.
fn set_up_terminal(plan: &ChildPlan) -> Result<(), StepFailure> {
    step("setsid", rustix::process::setsid())?;
    let Some((slave, replaces)) = &plan.terminal else {
        return Ok(());
    };
    step("terminal", rustix::process::ioctl_tiocsctty(slave))?;
    for (target, replace) in replaces.iter().enumerate() {
        if *replace {
            step("terminal", sys::dup_onto(slave.as_fd(), target as i32))?;
        }
    }
    Ok(())
}

/// The bounding set of init: every capability it lacks is dropped. Inheritable and ambient
/// capabilities are cleared too, or exec could hand them back past the bounding set.
fn limit_capabilities(plan: &ChildPlan) -> Result<(), StepFailure> {
    let Some(keep) = plan.bounding_set else {
        return Ok(());
    };
    for number in 0..64u32 {
        let cap = CapabilitySet::from_bits_retain(1 << number);
        if keep & (1 << number) != 0 {
            continue;
        }
        match rustix::thread::remove_capability_from_bounding_set(cap) {
            // Beyond the kernel's last capability: nothing to drop.
            Ok(()) | Err(Errno::INVAL) => {}
            Err(e) => {
                return Err(StepFailure {
                    step: "capabilities",
                    message: format!("dropping capability {number}: {e}"),
                    exit_code: 1,
                })
            }
        }
    }
    step(
        "capabilities",
        rustix::thread::clear_ambient_capability_set(),
    )?;
    let mut sets = step("capabilities", rustix::thread::capabilities(None))?;
    sets.inheritable = CapabilitySet::empty();
    step("capabilities", rustix::thread::set_capabilities(None, sets))
}

fn set_identity(plan: &ChildPlan) -> Result<(), StepFailure> {
    match rustix::thread::set_thread_groups(&[]) {
        // In a user namespace with setgroups denied, there are no groups to clear.
        Ok(()) | Err(Errno::PERM) => {}
        Err(e) => return step("groups", Err(e)),
    }
    let gid = Gid::from_raw(plan.gid);
    step("gid", rustix::thread::set_thread_res_gid(gid, gid, gid))?;
    let uid = Uid::from_raw(plan.uid);
    step("uid", rustix::thread::set_thread_res_uid(uid, uid, uid))
}

/// execve of the command, searched in the command's own PATH as a shell would; the exit
/// codes are a shell's: 127 when it is not found, 126 when it cannot be run.
fn exec(argv: &[CString], env: &[CString]) -> StepFailure {
    let Some(program) = argv.first() else {
        return failure_to_exec("", io::Error::from_raw_os_error(libc::ENOENT), 127);
    };
    let name = program.to_string_lossy().into_owned();
    let candidates: Vec<CString> = if program.as_bytes().contains(&b'/') {
        vec![program.clone()]
    } else {
        let path = lookup(env, "PATH").unwrap_or(DEFAULT_PATH.as_bytes());
        path.split(|b| *b == b':')
            .map(|dir| if dir.is_empty() { b".".as_slice() } else { dir })
            .filter_map(|dir| {
                let mut full = dir.to_vec();
                full.push(b'/');
                full.extend_from_slice(program.as_bytes());
                CString::new(full).ok()
            })
            .collect()
    };
    // The error of the first candidate that exists wins over "not found" from the others.
    let mut found_error: Option<io::Error> = None;
    for candidate in &candidates {
        let error = sys::execve(candidate.as_c_str(), argv, env);
        let missing = matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR));
        if !missing && found_error.is_none() {
            found_error = Some(error);
        }
    }
    match found_error {
        Some(error) => failure_to_exec(&name, error, 126),
        None if !program.as_bytes().contains(&b'/') => StepFailure {
            step: "exec",
            message: format!("{name}: command not found in the container"),
            exit_code: 127,
        },
        None => failure_to_exec(&name, io::Error::from_raw_os_error(libc::ENOENT), 127),
    }
}

fn failure_to_exec(name: &str, error: io::Error, exit_code: u8) -> StepFailure {
    StepFailure {
        step: "exec",
        message: format!("{name}: {error}"),
        exit_code,
    }
}
