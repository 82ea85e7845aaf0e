//! `rlxc autostart` / `lxc-autostart`: start the containers marked `lxc.start.auto = 1` in
//! `lxc.start.order`, waiting each one's `lxc.start.delay` before the next; or shut them down
//! (`-s`), kill them (`-k`) or reboot them (`-r`). The boot services run
//! `autostart -g onboot,` at boot and `autostart -a -A -s` at shutdown.
//!
//! Starts and reboots go one after the other, in this process, as LXC does. Shutdowns and
//! kills go in waves (see [`select::shutdown_waves`]): within a wave up to `--parallel`
//! containers stop at once, so a host with 100 containers waits about one timeout per wave,
//! not one per container.
//!
//! Exit status: 0 when every action worked (or there was nothing to do), 2 when some failed,
//! 1 when all failed.

mod parallel;
mod select;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use rlxc_config::ContainerSpec;
use rlxc_runtime::create::ContainerEntry;
use rlxc_runtime::monitor::{launch, Launch, LaunchError};
use rlxc_runtime::paths::ContainerPaths;
use rlxc_runtime::state::State;
use rlxc_runtime::stop::{reboot, stop, RebootOutcome, StopOptions, StopOutcome};

use crate::common::CommonOpts;
use select::Candidate;

/// Options of `lxc-autostart`. Without -s, -r or -k it starts the selected containers.
/// rlxc refuses two of -s, -r, -k together (LXC silently picks one).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill the containers instead of starting them
    #[arg(short = 'k', long, group = "action")]
    pub kill: bool,

    /// Print the selected containers and their start delay, and do nothing
    #[arg(short = 'L', long)]
    pub list: bool,

    /// With -L: print a JSON array of objects instead (rlxc only)
    #[arg(long, requires = "list")]
    pub json: bool,

    /// Reboot the containers instead of starting them
    #[arg(short = 'r', long, group = "action")]
    pub reboot: bool,

    /// Shut the containers down instead of starting them
    #[arg(short = 's', long, group = "action")]
    pub shutdown: bool,

    /// Select every autostart container, whatever its groups
    #[arg(short = 'a', long)]
    pub all: bool,

    /// Ignore lxc.start.auto: select containers that are not marked for autostart too
    #[arg(short = 'A', long = "ignore-auto")]
    pub ignore_auto: bool,

    /// Groups to select, comma-separated, in order (an empty element is "no group")
    #[arg(short = 'g', long, value_name = "GROUPS")]
    pub groups: Vec<String>,

    /// Seconds to wait for a clean shutdown before killing
    #[arg(
        short = 't',
        long,
        value_name = "T",
        default_value_t = 60,
        allow_negative_numbers = true
    )]
    pub timeout: i64,

    /// How many containers -s and -k stop at the same time (rlxc only; LXC stops one by one)
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: u16,
}

/// `-L`: the containers in the order they would be acted on, with their start delay (text:
/// only when starting, as LXC prints it).
fn print_list(targets: &[&Target], json: bool, with_delay: bool) -> anyhow::Result<ExitCode> {
    if json {
        let objects: Vec<serde_json::Value> = targets
            .iter()
            .map(|t| serde_json::json!({"name": t.entry.name, "delay": t.delay}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&objects)?);
        return Ok(ExitCode::SUCCESS);
    }
    for target in targets {
        match with_delay {
            true => println!("{} {}", target.entry.name, target.delay),
            false => println!("{}", target.entry.name),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A selected container with what acting on it needs.
struct Target<'a> {
    entry: &'a ContainerEntry,
    spec: &'a ContainerSpec,
    paths: ContainerPaths,
    delay: u32,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    // Canonical, as `rlxc start -P` makes it: the run directory's name depends on it.
    let lxcpath = std::fs::canonicalize(&common.lxcpath)
        .or_else(|_| std::path::absolute(&common.lxcpath))
        .with_context(|| format!("lxcpath {}", common.lxcpath.display()))?;
    let entries = rlxc_runtime::create::list(&lxcpath)?;
    let (targets, candidates) = loaded(&entries, &lxcpath);
    let passes = select::group_passes(&args.groups);
    if args.all && !args.groups.is_empty() {
        crate::logging::log_warn!("-a selects every group: -g is ignored");
    }
    let selected = select::select(&candidates, &passes, args.all, args.ignore_auto);
    let timeout = u64::try_from(args.timeout).ok().map(Duration::from_secs);

    let results = if args.shutdown || args.kill {
        let waves: Vec<Vec<&Target>> = select::shutdown_waves(&candidates, &selected)
            .into_iter()
            .map(|wave| wave.into_iter().map(|i| &targets[i]).collect())
            .collect();
        if args.list {
            let listed: Vec<&Target> = waves
                .iter()
                .flatten()
                .copied()
                .filter(|t| is_running(t))
                .collect();
            return print_list(&listed, args.json, false);
        }
        let mut results = Vec::new();
        for wave in &waves {
            let wave: Vec<&Target> = wave.iter().copied().filter(|t| is_running(t)).collect();
            results.extend(parallel::for_each_bounded(
                &wave,
                usize::from(args.parallel),
                |target| stop_one(target, args.kill, timeout),
            ));
        }
        results
    } else {
        let in_order: Vec<&Target> = selected.iter().map(|s| &targets[s.index]).collect();
        // A start takes the stopped ones, a reboot the running ones (as LXC).
        let wanted: Vec<&Target> = in_order
            .into_iter()
            .filter(|t| is_running(t) == args.reboot)
            .collect();
        if args.list {
            return print_list(&wanted, args.json, true);
        }
        one_after_another(wanted, args.reboot, timeout)
    };
    Ok(exit_code(&results))
}

/// The containers whose config loads, and what selection needs of each. One that does not
/// load is left out, with a warning (LXC's list leaves it out silently).
fn loaded<'a>(entries: &'a [ContainerEntry], lxcpath: &Path) -> (Vec<Target<'a>>, Vec<Candidate>) {
    let mut targets = Vec::new();
    let mut candidates = Vec::new();
    for entry in entries {
        // A directory named by hand or by LXC may break the rule `create` keeps: it would
        // only fail at start, for a reason that does not name it.
        if let Err(invalid) = rlxc_runtime::name::check(&entry.name) {
            eprintln!("warning: left out: {invalid}");
            continue;
        }
        let paths = ContainerPaths::new(lxcpath, &entry.name);
        if let Err(too_long) = paths.check_socket() {
            eprintln!("warning: {} is left out: {too_long}", entry.name);
            continue;
        }
        let spec = match &entry.config {
            Ok(spec) => spec,
            Err(failure) => {
                eprintln!("warning: {} is left out: {failure}", entry.name);
                continue;
            }
        };
        let auto = &spec.autostart;
        candidates.push(Candidate {
            name: entry.name.clone(),
            auto: auto.auto == Some(true),
            order: auto.order.unwrap_or(0),
            delay: auto.delay.unwrap_or(0),
            groups: auto.groups.clone(),
        });
        targets.push(Target {
            entry,
            spec,
            paths,
            delay: auto.delay.unwrap_or(0),
        });
    }
    (targets, candidates)
}

/// Starts (or reboots) each in turn. The delay of one is waited before the next, not after
/// the last: nothing follows it, and a boot should not sit out a pause for nobody.
fn one_after_another(targets: Vec<&Target>, reboot: bool, timeout: Option<Duration>) -> Vec<bool> {
    let mut pending_delay = 0;
    let mut results = Vec::new();
    for target in targets {
        if pending_delay > 0 {
            std::thread::sleep(Duration::from_secs(u64::from(pending_delay)));
        }
        let ok = if reboot {
            reboot_one(target, timeout)
        } else {
            start_one(target)
        };
        // LXC waits only after a container that came up.
        pending_delay = if ok { target.delay } else { 0 };
        results.push(ok);
    }
    results
}

/// What `rlxc start -d` does, in this process (which is single-threaded here: the monitor
/// is forked from it).
fn start_one(target: &Target) -> bool {
    let name = &target.entry.name;
    let request = Launch {
        paths: target.paths.clone(),
        config_path: target.entry.config_path.clone(),
        spec: target.spec.clone(),
        command: Vec::new(),
        daemonize: true,
        // Each monitor logs as its container's config says.
        log: Default::default(),
    };
    let Some(operation) = lock(target, "rlxc autostart") else {
        return false;
    };
    match launch(&request, &operation) {
        Ok(launched) => {
            for warning in &launched.warnings {
                eprintln!("warning: {name}: {warning}");
            }
            for unenforced in &launched.unenforced {
                eprintln!("warning: {name}: {unenforced}");
            }
            true
        }
        // Started by someone else meanwhile: what was asked for holds.
        Err(LaunchError::AlreadyRunning { .. }) => true,
        Err(error) => {
            eprintln!("rlxc: {name} failed to start: {error:#}");
            false
        }
    }
}

fn reboot_one(target: &Target, timeout: Option<Duration>) -> bool {
    let name = &target.entry.name;
    let signal = target.spec.signals.reboot.map_or(libc::SIGINT, |s| s.0);
    let Some(operation) = lock(target, "rlxc autostart -r") else {
        return false;
    };
    match reboot(&target.paths, signal, timeout, false, &operation) {
        Ok(RebootOutcome::Restarted { .. } | RebootOutcome::Signalled) => true,
        Ok(RebootOutcome::NotRunning { .. }) => {
            eprintln!("rlxc: {name} is not running: not rebooted");
            false
        }
        Ok(RebootOutcome::TimedOut) => {
            eprintln!("rlxc: {name} did not come back within the timeout");
            false
        }
        Err(error) => {
            eprintln!("rlxc: {name}: reboot failed: {error}");
            false
        }
    }
}

/// `lxc-stop -t T` (or `-k`) of one container; runs on a worker thread.
fn stop_one(target: &&Target, kill: bool, timeout: Option<Duration>) -> bool {
    let name = &target.entry.name;
    let signals = &target.spec.signals;
    let options = StopOptions {
        halt_signal: signals.halt.map(|s| s.0),
        stop_signal: signals.stop.map_or(libc::SIGKILL, |s| s.0),
        timeout,
        kill,
        nokill: false,
        nowait: false,
    };
    let Some(operation) = lock(target, "rlxc autostart -s") else {
        return false;
    };
    match stop(&target.paths, &options, Some(&operation)) {
        Ok(StopOutcome::Killed {
            halt_ignored: true, ..
        }) => {
            eprintln!(
                "{name}: its init ignores signal {} (no handler for it), so it was killed; for \
                 sysvinit or busybox add `pf::powerwait:/sbin/halt` to its /etc/inittab, or set \
                 lxc.signal.halt",
                options
                    .halt_signal
                    .unwrap_or(rlxc_runtime::state::Effective::DEFAULT_HALT_SIGNAL)
            );
            true
        }
        Ok(StopOutcome::Killed {
            after_timeout: true,
            ..
        }) if !kill => {
            eprintln!("{name}: still running after the timeout, so it was killed");
            true
        }
        Ok(_) => true,
        Err(error) => {
            eprintln!("rlxc: {name}: stop failed: {error}");
            false
        }
    }
}

/// The container's operation lock, waited for (another verb may be at it).
fn lock(target: &Target, what: &str) -> Option<rlxc_runtime::lock::OperationLock> {
    let name = &target.entry.name;
    let taken = rlxc_runtime::lock::OperationLock::take(&target.paths, what, |holder| {
        eprintln!("{name}: busy with {holder}; waiting for it to finish");
    });
    match taken {
        Ok(lock) => Some(lock),
        Err(error) => {
            eprintln!("rlxc: {name}: {error}");
            None
        }
    }
}

fn is_running(target: &Target) -> bool {
    target.entry.state != State::Stopped
}

fn exit_code(results: &[bool]) -> ExitCode {
    let failed = results.iter().filter(|ok| !**ok).count();
    match failed {
        0 => ExitCode::SUCCESS,
        n if n == results.len() => ExitCode::FAILURE,
        _ => ExitCode::from(2),
    }
}
