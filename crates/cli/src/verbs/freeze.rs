//! `rlxc freeze` / `lxc-freeze`.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// `lxc-freeze` has only the common options.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("freeze")
}
