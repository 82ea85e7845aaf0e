//! `rlxc update-config` / `lxc-update-config`: rewrite legacy (LXC 1.x/2.x) keys in a config.
//!
//! The `Args` are the command-line contract; the body of `run` belongs to the config work.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Options of `lxc-update-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container configuration file to update
    #[arg(short = 'c', long = "config", value_name = "FILE", required = true)]
    pub config: PathBuf,
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("update-config")
}
