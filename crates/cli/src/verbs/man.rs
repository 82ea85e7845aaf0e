//! `rlxc man --out DIR` (hidden): write the man pages, generated from the clap commands and
//! the key tables, below DIR (`man1/`, `man5/`), as the package ships them.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::common::CommonOpts;

/// Options of `rlxc man` (hidden, for the package).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write man1/ and man5/ into
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    for path in crate::manpages::write_all(&args.out)? {
        if !common.quiet {
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
