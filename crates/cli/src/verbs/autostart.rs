//! `rlxc autostart` / `lxc-autostart`.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

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
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("autostart")
}
