//! `rlxc update-config` / `lxc-update-config`: rewrite legacy (LXC 1.x/2.x) keys in a config.
//!
//! Unlike LXC's script, it uses the parser's own translation (so `lxc.limit.*` and indexed
//! `lxc.network.N.ipv4` come out right), keeps comments and order, writes `FILE.backup`, and
//! checks that the result loads.

use std::path::PathBuf;
use std::process::ExitCode;

use rlxc_config::update::update_file;

use crate::common::CommonOpts;

/// Options of `lxc-update-config`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The container configuration file to update
    #[arg(short = 'c', long = "config", value_name = "FILE", required = true)]
    pub config: PathBuf,
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let path = &args.config;
    let report = update_file(path)?;
    match &report.backup {
        None => println!("{}: no legacy keys, nothing to change", path.display()),
        Some(backup) => println!(
            "{}: {} line{} updated (original kept at {})",
            path.display(),
            report.changed_lines.len(),
            if report.changed_lines.len() == 1 {
                ""
            } else {
                "s"
            },
            backup.display()
        ),
    }
    // The rewrite keeps the meaning; a config that did not load before still does not.
    if let Err(failure) = rlxc_config::load_file(path, &[]) {
        for error in &failure.errors {
            eprintln!("error: {error}");
        }
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
