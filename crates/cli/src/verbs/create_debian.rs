//! `rlxc create -t debian -- -r RELEASE ...`: LXC's Debian template's options; the tree is
//! debootstrapped once into the cache and copied for each container.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use clap::Parser;
use rlxc_runtime::create::debian::{self, DebianRequest, TreeLock};
use rlxc_runtime::create::download::cache_root;
use rlxc_runtime::create::Template;

#[derive(Debug, Parser)]
#[command(name = "debian", no_binary_name = true)]
struct Options {
    /// Debian release (codename or suite)
    #[arg(short = 'r', long = "release", default_value = "bookworm")]
    release: String,
    /// Debian architecture (default: this machine's)
    #[arg(short = 'a', long = "arch")]
    arch: Option<String>,
    /// More packages to install, comma separated
    #[arg(long, value_delimiter = ',')]
    packages: Vec<String>,
    #[arg(long, default_value = debian::DEFAULT_MIRROR)]
    mirror: String,
    /// debootstrap's variant
    #[arg(long, default_value = "minbase")]
    variant: String,
}

/// The template, and the cache lock to hold until the create is done.
pub fn prepare(args: &[String]) -> anyhow::Result<(Template, TreeLock)> {
    let options = Options::try_parse_from(args).map_err(|e| anyhow::anyhow!("-t debian: {e}"))?;
    let request = DebianRequest {
        release: options.release,
        arch: options
            .arch
            .unwrap_or_else(|| debian::host_arch().to_string()),
        packages: options
            .packages
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect(),
        mirror: options.mirror,
        variant: options.variant,
        cache_dir: cache_root(),
    };
    let terminal = std::io::stderr().is_terminal();
    if terminal {
        eprintln!(
            "Debian {} ({}): using the cached tree, or running debootstrap from {} (minutes)",
            request.release, request.arch, request.mirror
        );
    }
    // debootstrap's steps on one line, rewritten in place, on a terminal only.
    let mut shown = false;
    let obtained = debian::obtain(&request, &mut |step| {
        if terminal {
            let step: String = step.chars().take(100).collect();
            // A progress line that cannot be written is no reason to stop.
            let _ = write!(std::io::stderr(), "\rdebootstrap: {step}\x1b[K");
            shown = true;
        }
    });
    if shown {
        eprintln!();
    }
    let (lock, tree) = obtained.context("-t debian")?;
    Ok((Template::Debian { tree }, lock))
}
