//! `rlxc execute` / `lxc-execute`.

use std::process::ExitCode;

use crate::arg_values::{key_value, KeyValue};
use crate::common::CommonOpts;
use crate::verbs::not_available;
use crate::verbs::start::ShareNamespaces;

/// Options of `lxc-execute`; `-f FILE` is `--rcfile` (a common option).
/// Its exit status will be the command's, as in LXC.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the container in the background
    #[arg(short = 'd', long)]
    pub daemon: bool,

    /// Set the config KEY to VAL, over the config file (repeatable)
    #[arg(short = 's', long = "define", value_name = "KEY=VAL", value_parser = key_value)]
    pub define: Vec<KeyValue>,

    /// Run COMMAND as this user id inside the container
    #[arg(short = 'u', long, value_name = "UID")]
    pub uid: Option<u32>,

    /// Run COMMAND as this group id inside the container
    #[arg(short = 'g', long, value_name = "GID")]
    pub gid: Option<u32>,

    #[command(flatten)]
    pub share: ShareNamespaces,

    /// The application to run (else lxc.execute.cmd)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("execute")
}
