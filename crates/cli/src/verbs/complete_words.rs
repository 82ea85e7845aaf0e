//! `rlxc complete-words KIND` (hidden): the words the shell completions offer that the clap
//! definitions cannot know: the containers of the lxcpath and the config keys, one a line.
//! It only reads (no leftovers cleared, no config loaded), so a TAB stays instant.

use std::process::ExitCode;

use rlxc_config::keys::{self, NET_KEYS};
use rlxc_config::system::{self, Flavor, SystemConfig};

use crate::common::{print_all, CommonOpts};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    /// The containers of the lxcpath (-P, RLXC_PATH, or the system config's)
    Names,
    /// The container config keys (`lxc.cgroup2.` for the prefix ones, `lxc.net.0.` + each
    /// interface key)
    Keys,
    /// The system config's keys (`rlxc config KEY`, LXC's `lxc-config KEY`)
    SystemKeys,
}

/// Options of `rlxc complete-words` (hidden, for the completion scripts).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[arg(value_enum)]
    pub kind: Kind,
    /// The lxcpath typed on the command line being completed (its -P)
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Completing an lxc-VERB name: without --path or RLXC_PATH, LXC's lxcpath
    #[arg(long)]
    pub lxc: bool,
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let words: Vec<String> = match args.kind {
        Kind::Names => rlxc_runtime::create::names(&lxcpath(args))?,
        Kind::Keys => container_keys(),
        Kind::SystemKeys => system::KEYS.iter().map(|key| key.name.to_owned()).collect(),
    };
    let text: String = words.iter().map(|word| format!("{word}\n")).collect();
    print_all(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Every container key as one would start typing it: a prefix key ends in a dot (its
/// suffixes are the kernel's or the user's), the interface keys are shown for interface 0.
pub fn container_keys() -> Vec<String> {
    let top = keys::all().map(|def| {
        if def.prefix {
            format!("{}.", def.name)
        } else {
            def.name.to_owned()
        }
    });
    let net = NET_KEYS.iter().map(|def| format!("lxc.net.0.{}", def.sub));
    top.chain(net).collect()
}

/// The lxcpath the completed command will use: typed, else RLXC_PATH, else the system
/// config's of the name it is called by (LXC's for lxc-VERB). This process runs as `rlxc`,
/// so the common -P default (rlxc's) cannot tell.
fn lxcpath(args: &Args) -> PathBuf {
    if let Some(path) = &args.path {
        return path.clone();
    }
    if let Some(path) = std::env::var_os("RLXC_PATH").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let flavor = if args.lxc { Flavor::Lxc } else { Flavor::Rlxc };
    let file = flavor.path(std::env::var_os(system::CONF_ENV));
    // A broken system config completes nothing better than the default would.
    SystemConfig::load(&file, flavor)
        .unwrap_or_else(|_| SystemConfig::defaults(file, flavor))
        .lxcpath()
}
