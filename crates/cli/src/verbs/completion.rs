//! `rlxc completion bash|zsh|fish`: print the shell completion script for `rlxc` and its
//! `lxc-*` names (the package installs the same scripts in each shell's directory).

use std::process::ExitCode;

use crate::common::{print_all, CommonOpts};
use crate::completions::{self, Target};

/// Options of `rlxc completion` (rlxc only).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "bash: `source <(rlxc completion bash)` in ~/.bashrc; zsh: save as \
                        _rlxc in a directory of $fpath; fish: save as \
                        ~/.config/fish/completions/rlxc.fish (and link lxc-VERB.fish to it)."
)]
pub struct Args {
    /// The shell to write the script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Target,
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    print_all(&completions::script(args.shell))?;
    Ok(ExitCode::SUCCESS)
}
