//! `rlxc freeze` / `lxc-freeze`: every process of the container stops (v1 freezer, or
//! cgroup2's cgroup.freeze); the state goes FREEZING → FROZEN.

use std::process::ExitCode;

use rlxc_runtime::state::State;

use crate::common::CommonOpts;

/// `lxc-freeze` has only the common options.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    let operation = common.operation_lock(&paths, "rlxc freeze")?;
    if rlxc_runtime::resources::freeze(&paths, &operation)? == State::Freezing {
        eprintln!(
            "{}: still FREEZING (some tasks have not stopped yet)",
            paths.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
