//! `rlxc shift-rootfs`: chowns a stopped container's rootfs into its `lxc.idmap`, so an
//! unprivileged container's root owns its files (rlxc only; LXC leaves this to the user).

use std::process::ExitCode;

use anyhow::{bail, Context};
use rlxc_runtime::rootfs::RootfsPlan;
use rlxc_runtime::state::StateFile;

use crate::common::CommonOpts;

/// Only the common options: the map is the container's own `lxc.idmap`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    let config_path = common.config_path()?;
    let loaded = rlxc_config::load_file(&config_path, &[])?;
    if loaded.spec.idmaps.is_empty() {
        bail!(
            "{} has no lxc.idmap in {}: nothing to shift into (add e.g. \
             'lxc.idmap = u 0 100000 65536' and 'lxc.idmap = g 0 100000 65536')",
            paths.name,
            config_path.display()
        );
    }
    // Changing owners under a running init would break it half-way.
    if let Some(state) = StateFile::read(&paths.state_file())? {
        if state.init.is_alive() {
            bail!(
                "{} is running: stop it before shifting its rootfs",
                paths.name
            );
        }
    }
    let rootfs = RootfsPlan::from_spec(&loaded.spec)?.rootfs;
    let report = rlxc_runtime::userns::shift_tree(&rootfs, &loaded.spec.idmaps)
        .with_context(|| format!("shifting {}", rootfs.display()))?;
    for mount_point in &report.mount_points {
        eprintln!(
            "warning: {} is a mount point: not entered, left as it is",
            mount_point.display()
        );
    }
    if report.already_shifted {
        println!("{}: already in the map, nothing changed", rootfs.display());
    } else {
        println!("{}: {} entries shifted", rootfs.display(), report.changed);
    }
    Ok(ExitCode::SUCCESS)
}
