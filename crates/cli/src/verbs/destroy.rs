//! `rlxc destroy` / `lxc-destroy`.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Options of `lxc-destroy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Stop the container first if it is running
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Destroy its snapshots too
    #[arg(short = 's', long)]
    pub snapshots: bool,
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("destroy")
}
