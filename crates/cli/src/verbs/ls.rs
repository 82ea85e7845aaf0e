//! `rlxc ls` / `lxc-ls`.

use std::process::ExitCode;

use crate::arg_values::{word_list, Words};
use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Columns that `-F` accepts, as in LXC.
const COLUMNS: &[&str] = &[
    "NAME",
    "STATE",
    "PID",
    "RAM",
    "SWAP",
    "AUTOSTART",
    "GROUPS",
    "INTERFACE",
    "IPV4",
    "IPV6",
    "UNPRIVILEGED",
];

/// Options of `lxc-ls`, plus `--json`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One name per line (the default when stdout is not a terminal)
    #[arg(short = '1', long)]
    pub line: bool,

    /// Columns: NAME STATE AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED
    #[arg(short = 'f', long, conflicts_with = "line")]
    pub fancy: bool,

    /// Comma-separated columns for the fancy output (implies -f)
    #[arg(short = 'F', long = "fancy-format", value_name = "COLUMNS", value_parser = columns, conflicts_with = "line")]
    pub fancy_format: Option<Words>,

    /// Only running or frozen containers
    #[arg(long)]
    pub active: bool,

    /// Only running containers
    #[arg(long)]
    pub running: bool,

    /// Only frozen containers
    #[arg(long)]
    pub frozen: bool,

    /// Only stopped containers
    #[arg(long)]
    pub stopped: bool,

    /// Only defined containers
    #[arg(long)]
    pub defined: bool,

    /// Only containers in all of these comma-separated groups
    #[arg(short = 'g', long, value_name = "GROUPS", value_delimiter = ',')]
    pub groups: Vec<String>,

    /// Only names that match REGEX (also accepted as a bare argument)
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,

    #[arg(value_name = "REGEX", conflicts_with = "filter", hide = true)]
    pub filter_positional: Option<String>,

    /// List nested containers down to NUM levels
    #[arg(long, value_name = "NUM", num_args = 0..=1, require_equals = true, default_missing_value = "5")]
    pub nesting: Option<u32>,

    /// Print a JSON array of objects instead of a table (rlxc only)
    #[arg(long, conflicts_with_all = ["line", "fancy", "fancy_format"])]
    pub json: bool,
}

fn columns(text: &str) -> Result<Words, String> {
    word_list(text, ',', COLUMNS)
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("ls")
}
