//! `rlxc stop` / `lxc-stop`. Exit status as LXC: 0 stopped, 1 error, 2 was not running.

use std::process::ExitCode;

use std::time::Duration;

use anyhow::bail;

use rlxc_runtime::stop::{reboot, stop, HaltRequest, RebootOutcome, StopOptions, StopOutcome};

use crate::common::CommonOpts;

/// Options of `lxc-stop`, with LXC's conflicts: `-k` takes no `-t`, `-r` or `--nokill`, and
/// `--nolock` only goes with `-k`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reboot the container instead of stopping it
    #[arg(short = 'r', long)]
    pub reboot: bool,

    /// Send the request and return without waiting for it to complete
    #[arg(short = 'W', long)]
    pub nowait: bool,

    /// Wait T seconds for a clean shutdown before killing (default 60; -1 waits forever)
    #[arg(short = 't', long, value_name = "T", allow_negative_numbers = true)]
    pub timeout: Option<i64>,

    /// Kill the container at once instead of asking for a clean shutdown
    #[arg(short = 'k', long, conflicts_with_all = ["timeout", "reboot", "nokill"])]
    pub kill: bool,

    /// Do not take the container's lock (only with -k, when a stop hangs)
    #[arg(long, requires = "kill")]
    pub nolock: bool,

    /// Only ask for a clean shutdown; never kill (exit 1 on timeout)
    #[arg(long)]
    pub nokill: bool,
}

/// The signals the running container was started with (`start -s` included), as its state
/// file records them; a state file of an older rlxc has none, and its config is read again.
fn effective(state: &rlxc_runtime::state::StateFile) -> rlxc_runtime::state::Effective {
    state.effective.clone().unwrap_or_else(|| {
        let spec = rlxc_config::load_file(&state.config, &[])
            .map(|loaded| loaded.spec)
            .unwrap_or_default();
        rlxc_runtime::state::Effective::of(&spec)
    })
}

/// LXC's default wait for a clean shutdown.
const DEFAULT_TIMEOUT: i64 = 60;

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    // `--nolock` (with -k): for a stop that hangs holding the lock, as LXC's.
    let operation = match args.nolock {
        true => None,
        false => Some(common.operation_lock(&paths, "rlxc stop")?),
    };
    let state = rlxc_runtime::state::StateFile::read(&paths.state_file())?;
    let signals = state.as_ref().map(effective).unwrap_or_else(|| {
        // Not running: the signals matter only to say so; LXC's defaults will do.
        rlxc_runtime::state::Effective::of(&rlxc_config::ContainerSpec::default())
    });
    let (halt_signal, stop_signal) = (signals.halt_signal, signals.stop_signal);
    let timeout = match args.timeout.unwrap_or(DEFAULT_TIMEOUT) {
        t if t < 0 => None,
        t => Some(Duration::from_secs(t as u64)),
    };
    if args.reboot {
        // `-r` takes no `--nolock`: there is always a lock here.
        let Some(operation) = &operation else {
            bail!("--nolock goes with -k only");
        };
        let outcome = reboot(
            &paths,
            signals.reboot_signal,
            timeout,
            args.nowait,
            operation,
        )?;
        return match outcome {
            RebootOutcome::NotRunning { cleared } => {
                not_running(&paths.name, cleared.as_ref());
                Ok(ExitCode::from(2))
            }
            RebootOutcome::TimedOut => {
                eprintln!("{} did not reboot within the timeout", paths.name);
                Ok(ExitCode::FAILURE)
            }
            RebootOutcome::Restarted { .. } | RebootOutcome::Signalled => Ok(ExitCode::SUCCESS),
        };
    }
    // The halt signal an init that ignores it was sent: only a signal can be ignored.
    let ignored = halt_signal.unwrap_or(rlxc_runtime::state::Effective::DEFAULT_HALT_SIGNAL);
    let options = StopOptions {
        halt_signal,
        stop_signal,
        timeout,
        kill: args.kill,
        nokill: args.nokill,
        nowait: args.nowait,
    };
    match stop(&paths, &options, operation.as_ref())? {
        StopOutcome::NotRunning { cleared } => {
            not_running(&paths.name, cleared.as_ref());
            Ok(ExitCode::from(2))
        }
        StopOutcome::StillRunning => {
            eprintln!("{} did not stop within the timeout (--nokill)", paths.name);
            Ok(ExitCode::FAILURE)
        }
        StopOutcome::HaltIgnored => {
            explain_ignored_halt(&paths.name, ignored);
            Ok(ExitCode::FAILURE)
        }
        StopOutcome::Killed {
            halt_ignored: true, ..
        } => {
            explain_ignored_halt(&paths.name, ignored);
            Ok(ExitCode::SUCCESS)
        }
        StopOutcome::Halted {
            request: request @ HaltRequest::Initctl { .. },
        } => {
            // Not what LXC does (it sends SIGPWR), so the user is told.
            if !common.quiet {
                eprintln!(
                    "{}: init is sysvinit: asked for {request}, not with SIGPWR",
                    paths.name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        StopOutcome::Halted { .. } | StopOutcome::Killed { .. } | StopOutcome::Signalled => {
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// LXC's exit 2, saying what a crashed run had left and this stop removed.
fn not_running(name: &str, cleared: Option<&rlxc_runtime::leftovers::Cleared>) {
    match cleared {
        Some(cleared) => eprintln!("{name} is not running; {cleared}"),
        None => eprintln!("{name} is not running"),
    }
}

/// The seed's advice: an init of a pid namespace only gets signals it handles.
fn explain_ignored_halt(name: &str, signal: i32) {
    eprintln!(
        "{name}: its init ignores signal {signal} (no handler for it), so it could not shut down \
         cleanly and was killed; for sysvinit or busybox add `pf::powerwait:/sbin/halt` to its \
         /etc/inittab (Debian: `pf::powerwait:/sbin/shutdown -t1 -a -h now`), or set lxc.signal.halt"
    );
}
