//! `rlxc execute`'s pid 1: rlxc's own tiny init. It forks the command, then stays as pid 1 to
//! reap every zombie of the container and pass signals on to the command, and exits with
//! the command's status. No second binary and no re-exec: it is this process, continued.
//!
//! It is rlxc's host binary as the container's pid 1, in sight of every process there: a
//! root with CAP_SYS_PTRACE (the seed keeps it) can trace it or open its /proc/1/fd/N. So
//! before the command exists it keeps nothing a container process could not have: no fd
//! but its signalfd and the channel (the monitor's lock, the cgroup directory, the console
//! log and whatever the caller passed down are closed — CVE-2024-21626's leaked cgroup fd
//! would otherwise lead back to the host's root), no capability at all (it only waits and
//! forwards signals; the command, root, gets its bounded set again at exec), and it is
//! non-dumpable.

use std::os::fd::{AsFd, AsRawFd};

use super::child::{exec_failure, StepFailure};
use super::plan::InitPlan;
use super::sys;
use crate::channel::Channel;
use crate::process::fds::close_fds_from_3_except;
use crate::process::fork::{exit_child, fork};
use crate::process::signals::{unblock_all_signals, Reads, SignalFd, FORWARDED_SIGNALS};

/// What pid 1 listens for: the signals it passes on to the command, and SIGCHLD.
fn watched() -> Vec<i32> {
    let passed_on = FORWARDED_SIGNALS.into_iter().chain([libc::SIGWINCH]);
    passed_on.chain([libc::SIGCHLD]).collect()
}

/// Becomes the tiny init; returns (with the channel, to report on) only if it could not
/// start the command.
pub(crate) fn run(channel: Channel, plan: &InitPlan) -> (StepFailure, Channel) {
    // Blocked before the fork so no signal is lost; the command gets the mask cleared.
    let Ok(signals) = SignalFd::block_for_life(&watched(), Reads::Waiting) else {
        let failure = StepFailure {
            config: None,
            step: "init",
            message: "cannot set up signal handling".into(),
        };
        return (failure, channel);
    };
    if let Err(failure) = hold_nothing_of_the_host(&channel, &signals) {
        return (failure, channel);
    }
    match fork() {
        Err(e) => {
            let failure = StepFailure {
                config: None,
                step: "init",
                message: format!("fork: {e}"),
            };
            (failure, channel)
        }
        Ok(0) => {
            drop(signals);
            unblock_all_signals();
            let failure = exec_failure(crate::exec::exec_command(&plan.argv, &plan.env));
            eprintln!("rlxc execute: {}", failure.message);
            exit_child(127)
        }
        Ok(command) => {
            // The monitor reads EOF on the channel as "running".
            drop(channel);
            exit_child(supervise(command, &signals))
        }
    }
}

/// See the module docs: fds, capabilities, dumpable.
fn hold_nothing_of_the_host(channel: &Channel, signals: &SignalFd) -> Result<(), StepFailure> {
    let failed = |what: &str, e: std::io::Error| StepFailure {
        config: None,
        step: "init",
        message: format!("{what}: {e}"),
    };
    let keep = [channel.as_fd().as_raw_fd(), signals.fd().as_raw_fd()];
    close_fds_from_3_except(&keep).map_err(|e| failed("closing fds", e))?;
    let none = rustix::thread::CapabilitySets {
        effective: rustix::thread::CapabilitySet::empty(),
        permitted: rustix::thread::CapabilitySet::empty(),
        inheritable: rustix::thread::CapabilitySet::empty(),
    };
    rustix::thread::set_capabilities(None, none)
        .map_err(|e| failed("dropping capabilities", e.into()))?;
    // /proc/1/exe is rlxc's binary: keep container processes from opening it.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    Ok(())
}

/// Reaps and forwards until the command exits; returns its status (128+N for signal N).
fn supervise(command: i32, signals: &SignalFd) -> i32 {
    loop {
        if let Some(code) = sys::reap_all(command) {
            return code;
        }
        let Some(signo) = signals.next() else {
            continue;
        };
        if signo != libc::SIGCHLD {
            sys::kill(command, signo);
        }
    }
}
