//! `rlxc destroy` / `lxc-destroy`.

use std::process::ExitCode;

use anyhow::bail;
use rlxc_runtime::create::{self, DestroyOptions};

use crate::common::CommonOpts;

/// Options of `lxc-destroy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kill the container first if it is running (and destroy it even if its config does
    /// not load; then no destroy hook runs)
    #[arg(short = 'f', long)]
    pub force: bool,

    /// Destroy its snapshots too
    #[arg(short = 's', long)]
    pub snapshots: bool,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    let name = paths.name.as_str();
    let operation = common.operation_lock(&paths, "rlxc destroy")?;
    let report = create::destroy(
        &paths,
        DestroyOptions {
            force: args.force,
            snapshots: args.snapshots,
        },
        &operation,
    )?;
    rlxc_hostnet::hosts::forget(name);
    if let Some(cleared) = &report.cleared {
        eprintln!("{name}: {cleared}");
    }
    if let Some(pid) = report.killed_init {
        eprintln!("{name}: killed its init (pid {pid})");
    }
    if let Some(problem) = &report.config_problem {
        eprintln!("{name}: warning: {problem}");
    }
    if let Some(rootfs) = &report.rootfs_left {
        eprintln!(
            "{name}: left the rootfs {} in place (lxc.rootfs.managed = 0, or outside {})",
            rootfs.display(),
            paths.dir().display()
        );
    }
    for mount in &report.mount_points {
        eprintln!(
            "{name}: {} is a mount point: not entered, left in place",
            mount.display()
        );
    }
    if !report.mount_points.is_empty() {
        bail!(
            "{name} was not destroyed completely: unmount what is mounted below {} and run \
             destroy again",
            paths.dir().display()
        );
    }
    println!("Destroyed container {name}");
    Ok(ExitCode::SUCCESS)
}
