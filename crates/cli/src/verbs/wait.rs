//! `rlxc wait` / `lxc-wait`. Exit 0 when a state is reached, 1 on timeout or error.

use std::process::ExitCode;

use crate::arg_values::{or_list, Words};
use std::time::Duration;

use rlxc_runtime::state::State;
use rlxc_runtime::status::wait_for;

use crate::common::CommonOpts;

const STATES: &[&str] = &[
    "STOPPED", "STARTING", "RUNNING", "STOPPING", "ABORTING", "FREEZING", "FROZEN", "THAWED",
];

/// Options of `lxc-wait`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// States to wait for, joined by '|': STOPPED, STARTING, RUNNING, STOPPING, ABORTING,
    /// FREEZING, FROZEN, THAWED
    #[arg(short = 's', long, value_name = "STATES", required = true, value_parser = states)]
    pub state: Words,

    /// Give up after this many seconds (default: wait forever)
    #[arg(
        short = 't',
        long,
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub timeout: Option<i64>,
}

fn states(text: &str) -> Result<Words, String> {
    or_list(text, STATES)
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    let wanted: Vec<State> = args
        .state
        .iter()
        .filter_map(|s| State::from_name(s))
        .collect();
    let timeout = match args.timeout {
        Some(t) if t >= 0 => Some(Duration::from_secs(t as u64)),
        _ => None,
    };
    if wait_for(&paths, &wanted, timeout)? {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
