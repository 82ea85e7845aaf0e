//! `rlxc config`: rlxc's own look at container configs (LXC's `lxc-config` is a different
//! tool, so there is no `lxc-config` link).
//!
//! The `Args` are the command-line contract; the body of `run` belongs to the config work.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// List every config key rlxc knows, with its legacy spellings and a doc line
    Keys,
    /// Check a config: -f FILE, or -n NAME for $lxcpath/NAME/config
    Check(Source),
    /// Print a config as rlxc reads it (modern key names, includes resolved)
    Show(Source),
}

/// Which config to read: `-f FILE`, else the common `-n NAME` (or `--rcfile`).
#[derive(Debug, clap::Args)]
pub struct Source {
    /// The config file to read (instead of -n NAME)
    #[arg(short = 'f', long, value_name = "FILE", conflicts_with = "name")]
    pub file: Option<PathBuf>,
}

impl Source {
    /// The file to read: `-f FILE`, else what the common options point at.
    pub fn path(&self, common: &CommonOpts) -> anyhow::Result<PathBuf> {
        match &self.file {
            Some(file) => Ok(file.clone()),
            None => common.config_path(),
        }
    }
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("config")
}
