//! `rlxc execute`: one command as an application container under rlxc's tiny init, with the
//! caller's stdio. The monitor is forked as for a start (born in its cgroups); the calling
//! process stays in front, passing on the signals sent to it, and exits with the command's
//! status, which the monitor reports on the status pipe after `OK`.

use super::event_loop::InitExit;
use super::launch::{fork_monitor, split_warnings, wait_for_running, Launch, LaunchError, Mode};
use super::prepare::prepare;
use crate::lock::OperationLock;

/// `rlxc execute`: runs `launch.command` as an application container under rlxc's tiny
/// init with the caller's stdio; returns how it ended, once nothing of it is left. The
/// monitor is forked as for a start (born in its cgroup); this process waits for its report,
/// passing on the signals sent to it (a terminal's reach the monitor directly: same
/// process group).
///
/// The container's operation lock is let go of once the command runs, so that the
/// container can be stopped or frozen while it does.
pub fn execute(launch: &Launch, operation: OperationLock) -> Result<Executed, LaunchError> {
    let (mut prepared, lifetime_lock) = prepare(launch, &operation)?;
    prepared.plan.tiny_init = true;
    prepared.plan.inherit_stdio = true;
    prepared.rootfs_plan.console = false;
    prepared.rootfs_plan.ttys = 0;
    let forked = fork_monitor(launch, &prepared, lifetime_lock, &operation, Mode::Execute)?;
    let plan = &prepared.plan;
    let mut operation = Some(operation);
    // A frozen command takes a signal only once thawed: then the front passes it on and
    // ends, rather than wait for the thaw; the command goes on under its monitor.
    let frozen = |signal: i32| {
        signal != libc::SIGWINCH
            && matches!(
                crate::status::current(&launch.paths).0,
                crate::state::State::Frozen | crate::state::State::Freezing
            )
    };
    let report =
        super::sys::read_status_forwarding_signals(forked.status, forked.pid, &frozen, &mut || {
            drop(operation.take())
        })
        .map_err(|signal| LaunchError::FrozenInterrupted {
            name: launch.paths.name.clone(),
            signal,
        })?;
    forked.teardown.wait();
    let (_, warnings) = wait_for_running(&report, forked.pid)?;
    match how_it_ended(&report) {
        Some(Ok(exit)) => Ok(Executed {
            exit,
            warnings,
            unenforced: super::validate::unenforced(plan),
        }),
        Some(Err(message)) => Err(LaunchError::Monitor(message)),
        None => Err(LaunchError::Monitor(
            "the monitor died before the command ended".into(),
        )),
    }
}

/// How an execute went: the command's end, and what the start warned about (as for
/// [`super::Launched`]).
#[derive(Debug)]
pub struct Executed {
    pub exit: InitExit,
    pub warnings: Vec<String>,
    pub unenforced: Vec<crate::unenforced::Unenforced>,
}

/// The end of an execute's report: `EXIT code`, `SIGNAL number` or `ERROR message`, after
/// the `OK` line.
fn how_it_ended(report: &str) -> Option<Result<InitExit, String>> {
    let end = split_warnings(report).1.strip_prefix("OK\n")?;
    match end.split_once(' ')? {
        ("EXIT", code) => code.trim().parse().map(InitExit::Exited).ok().map(Ok),
        ("SIGNAL", signal) => signal.trim().parse().map(InitExit::Signaled).ok().map(Ok),
        ("ERROR", message) => Some(Err(message.trim().to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;

    #[test]
    fn an_executes_report_says_how_the_command_ended() {
        let report = "WARN a warning that says OK\nWARN another\nOK\nEXIT 7";
        assert_eq!(how_it_ended(report), Some(Ok(InitExit::Exited(7))));
        assert_eq!(
            split_warnings(report).0,
            ["a warning that says OK", "another"]
        );
        assert_eq!(
            how_it_ended("OK\nSIGNAL 9"),
            Some(Ok(InitExit::Signaled(9)))
        );
        assert_eq!(
            how_it_ended("OK\nERROR monitor: gone"),
            Some(Err("monitor: gone".into()))
        );
        // The monitor died between OK and the end, or never said OK.
        assert_eq!(how_it_ended("OK\n"), None);
        assert_eq!(how_it_ended("start: rootfs: missing"), None);
    }
}
