//! `rlxc compat-links DIR`: make `DIR/lxc-<verb>` a link to this binary for every verb that LXC
//! has, so `lxc-start -n web -d` works from habit.
//!
//! It looks at every link before it makes any: without `--force`, one foreign file at a link's
//! place stops the whole run, so a refused run leaves the directory as it was.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::common::CommonOpts;
use crate::verbs;

/// Options of `rlxc compat-links` (rlxc only).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory for the links, e.g. /usr/local/sbin
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Replace files at the links' places that are not already links to this binary
    #[arg(short = 'f', long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    /// Already a link to this binary.
    Keep,
    /// Something else is there: replaced only with `--force`.
    Replace,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    // The binary itself, not the name it was called by (which may be one of these links).
    let binary = fs::canonicalize("/proc/self/exe")
        .context("cannot find the running binary through /proc/self/exe")?;
    if !args.dir.is_dir() {
        bail!("{} is not a directory", args.dir.display());
    }

    let plan = verbs::lxc_tools()
        .map(|verb| {
            let link = args.dir.join(format!("lxc-{}", verb.name));
            let action = action_for(&link, &binary)?;
            Ok((link, action))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let foreign: Vec<String> = plan
        .iter()
        .filter(|(_, action)| *action == Action::Replace)
        .map(|(link, _)| link.display().to_string())
        .collect();
    if !foreign.is_empty() && !args.force {
        bail!(
            "refusing to replace {} file(s) that are not links to {}: {} (use --force to replace them)",
            foreign.len(),
            binary.display(),
            foreign.join(", ")
        );
    }

    for (link, action) in &plan {
        let verb = match action {
            Action::Create => {
                symlink(&binary, link)
                    .with_context(|| format!("cannot create link {}", link.display()))?;
                "made"
            }
            Action::Replace => {
                replace_with_link(&binary, link)?;
                "replaced"
            }
            Action::Keep => "kept",
        };
        if !common.quiet {
            println!("{verb} {} -> {}", link.display(), binary.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn action_for(link: &Path, binary: &Path) -> anyhow::Result<Action> {
    let metadata = match fs::symlink_metadata(link) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Action::Create),
        Err(err) => return Err(err).with_context(|| format!("cannot inspect {}", link.display())),
    };
    // A dangling link counts as foreign: it may be someone else's on purpose.
    let ours = metadata.file_type().is_symlink()
        && fs::canonicalize(link).is_ok_and(|target| target == binary);
    Ok(if ours { Action::Keep } else { Action::Replace })
}

/// Put the new link beside the old file and rename it over, so `lxc-<verb>` never goes missing.
fn replace_with_link(binary: &Path, link: &Path) -> anyhow::Result<()> {
    let file_name = link
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("lxc-link");
    let staged = link.with_file_name(format!(".{file_name}.rlxc-new"));
    // A leftover from an interrupted run would make symlink() fail with EEXIST.
    let _ = fs::remove_file(&staged);
    symlink(binary, &staged).with_context(|| format!("cannot create link {}", staged.display()))?;
    fs::rename(&staged, link).map_err(|err| {
        let _ = fs::remove_file(&staged);
        anyhow::Error::new(err).context(format!("cannot replace {}", link.display()))
    })
}
