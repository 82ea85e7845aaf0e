//! `rlxc stop` / `lxc-stop`. Exit status as LXC: 0 stopped, 1 error, 2 was not running.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

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

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("stop")
}
