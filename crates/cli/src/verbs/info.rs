//! `rlxc info` / `lxc-info`.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Options of `lxc-info`, plus `--json`. With no selection it shows everything.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the state
    #[arg(short = 's', long)]
    pub state: bool,

    /// Show the pid of the container's init
    #[arg(short = 'p', long)]
    pub pid: bool,

    /// Show the IP addresses
    #[arg(short = 'i', long)]
    pub ips: bool,

    /// Show CPU, block I/O and memory use
    #[arg(short = 'S', long)]
    pub stats: bool,

    /// Print raw numbers instead of human-readable sizes
    #[arg(short = 'H', long = "no-humanize")]
    pub no_humanize: bool,

    /// Show config KEY of the running container as 'KEY = VALUE' (repeatable)
    #[arg(short = 'c', long = "config", value_name = "KEY")]
    pub config: Vec<String>,

    /// Print one JSON object instead of text (rlxc only)
    #[arg(long)]
    pub json: bool,
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("info")
}
