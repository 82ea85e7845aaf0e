//! `rlxc monitor` / `lxc-monitor`: print the state changes of the containers whose name
//! matches `-n REGEX` (the whole name, as LXC's `^(REGEX)$`; default every container), in
//! one or more lxcpaths (`-P` repeated), as LXC's lines (`'web' changed state to [RUNNING]`,
//! `'web' exited with status [3]`) or, with `--json`, one object per line. Runs until a
//! signal ends it.
//!
//! It follows the events journal of each lxcpath (see `rlxc_runtime::events`): no daemon
//! runs, so LXC's `-Q` (ask `lxc-monitord` to quit) has nothing to do and exits 0.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{ArgMatches, FromArgMatches};
use regex_lite::Regex;

use rlxc_runtime::events::{Event, Watch};

use crate::common::CommonOpts;

/// Options of `lxc-monitor` (`-n` is a regular expression here, `-P` may be repeated).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// LXC asks its lxc-monitord daemon to quit; rlxc runs none: exits 0 at once
    #[arg(short = 'Q', long)]
    pub quit: bool,

    /// One JSON object per event: {"time_ms","name","lxcpath","state"} or, when init
    /// ended, "exit_code" (or "signal") in place of "state"
    #[arg(long)]
    pub json: bool,
}

/// The verb table's entry point: `-P` may be given several times, which the common options
/// (one lxcpath) do not hold.
pub fn run_matches(matches: &ArgMatches) -> anyhow::Result<ExitCode> {
    let args = Args::from_arg_matches(matches)?;
    let common = CommonOpts::from_arg_matches(matches)?;
    let lxcpaths: Vec<PathBuf> = matches
        .get_many::<PathBuf>("lxcpath")
        .map(|paths| paths.cloned().collect())
        .unwrap_or_else(|| vec![common.lxcpath.clone()]);
    run(&args, &common, &lxcpaths)
}

fn run(args: &Args, common: &CommonOpts, lxcpaths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    if args.quit {
        return Ok(ExitCode::SUCCESS);
    }
    let pattern = common.name.as_deref().unwrap_or(".*");
    let names = Regex::new(&format!("^(?:{pattern})$"))
        .with_context(|| format!("-n {pattern}: not a regular expression"))?;
    // As the runtime names them (the run root's journals are by the resolved path).
    let lxcpaths = lxcpaths
        .iter()
        .map(|path| {
            std::fs::canonicalize(path)
                .or_else(|_| std::path::absolute(path))
                .with_context(|| format!("lxcpath {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let run_root = rlxc_runtime::paths::run_root();
    let mut watch = Watch::new(&run_root, &lxcpaths).with_context(|| {
        format!(
            "following the events journals in {}",
            rlxc_runtime::paths::events_dir(&run_root).display()
        )
    })?;
    let stdout = std::io::stdout();
    loop {
        let events = watch.next(None).context("waiting for events")?;
        let mut out = stdout.lock();
        for event in events.iter().filter(|e| names.is_match(&e.name)) {
            if write_event(&mut out, event, args.json).is_err() {
                // Whoever read us is gone (a closed pipe): nothing left to do.
                return Ok(ExitCode::SUCCESS);
            }
        }
        if out.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
    }
}

fn write_event(out: &mut impl Write, event: &Event, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, event)?;
        writeln!(out)
    } else {
        writeln!(out, "{}", event.lxc_line())
    }
}
