//! `rlxc cgroup` / `lxc-cgroup`: `lxc-cgroup -n web memory.max 1G`.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Options of `lxc-cgroup`: a cgroup file, and the value to write (else it is printed).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cgroup file, e.g. memory.max or cpuset.cpus
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Value to write; without it the current value is printed
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("cgroup")
}
