//! `rlxc start` / `lxc-start`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::arg_values::{key_value, KeyValue};
use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Options of `lxc-start`; `-f FILE` is `--rcfile` (a common option).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the container in the background (the default)
    #[arg(short = 'd', long, conflicts_with = "foreground")]
    pub daemon: bool,

    /// Stay in the foreground with the current tty as the container's console
    #[arg(short = 'F', long)]
    pub foreground: bool,

    /// Write the monitor's process id to FILE
    #[arg(short = 'p', long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,

    /// Use FILE as the container's console (lxc.console.path)
    #[arg(short = 'c', long, value_name = "FILE")]
    pub console: Option<PathBuf>,

    /// Log the console's output to FILE (lxc.console.logfile)
    #[arg(short = 'L', long = "console-log", value_name = "FILE")]
    pub console_log: Option<PathBuf>,

    /// Close inherited file descriptors instead of failing on them (implied by -d)
    #[arg(short = 'C', long = "close-all-fds")]
    pub close_all_fds: bool,

    /// Set the config KEY to VAL, over the config file (repeatable)
    #[arg(short = 's', long = "define", value_name = "KEY=VAL", value_parser = key_value)]
    pub define: Vec<KeyValue>,

    #[command(flatten)]
    pub share: ShareNamespaces,

    /// Run COMMAND instead of the container's init (lxc.init.cmd)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `--share-net|ipc|uts|pid NAME|PID`: join another container's (or process's) namespace.
/// Shared with `execute`.
#[derive(Debug, clap::Args)]
pub struct ShareNamespaces {
    /// Share the network namespace of container NAME or process PID
    #[arg(long = "share-net", value_name = "NAME|PID")]
    pub net: Option<String>,

    /// Share the IPC namespace of container NAME or process PID
    #[arg(long = "share-ipc", value_name = "NAME|PID")]
    pub ipc: Option<String>,

    /// Share the UTS namespace of container NAME or process PID
    #[arg(long = "share-uts", value_name = "NAME|PID")]
    pub uts: Option<String>,

    /// Share the PID namespace of container NAME or process PID
    #[arg(long = "share-pid", value_name = "NAME|PID")]
    pub pid: Option<String>,
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("start")
}
