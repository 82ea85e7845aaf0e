//! `rlxc unfreeze` / `lxc-unfreeze`: THAWED, then RUNNING again.

use std::process::ExitCode;

use crate::common::CommonOpts;

/// `lxc-unfreeze` has only the common options.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    let operation = common.operation_lock(&paths, "rlxc unfreeze")?;
    rlxc_runtime::resources::unfreeze(&paths, &operation)?;
    Ok(ExitCode::SUCCESS)
}
