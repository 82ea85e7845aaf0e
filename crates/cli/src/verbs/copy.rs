//! `rlxc copy` / `lxc-copy`: a full copy of a container under a new name (`-N`, in `-p`
//! another lxcpath), or its rename (`-R`). The copy is atomic: it appears complete under
//! NEWNAME or not at all. A running container is frozen for the copy and thawed after (LXC
//! refuses it without `-a`). Snapshots (`-s`), other backing stores (`-B`) and ephemeral
//! copies (`-e`) are issue #22's next steps and say so.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use rlxc_runtime::create::copy::{self, CopyRequest, ISSUE};

use crate::common::CommonOpts;

/// Options of `lxc-copy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Name of the copy
    #[arg(short = 'N', long = "newname", value_name = "NEWNAME")]
    pub newname: Option<String>,

    /// Directory to put the copy in (default: the original's lxcpath)
    #[arg(short = 'p', long = "newpath", value_name = "NEWPATH")]
    pub newpath: Option<PathBuf>,

    /// Rename the original container instead of copying it
    #[arg(short = 'R', long = "rename")]
    pub rename: bool,

    /// Copy-on-write snapshot instead of a full copy (not yet)
    #[arg(short = 's', long = "snapshot")]
    pub snapshot: bool,

    /// Copy a running container (rlxc always may: it freezes it for the copy)
    #[arg(short = 'a', long = "allowrunning")]
    pub allow_running: bool,

    /// Backing store of the copy: dir (overlay, btrfs, loop: not yet)
    #[arg(short = 'B', long = "backingstorage", value_name = "BACKINGSTORE")]
    pub backing_store: Option<String>,

    /// Start an ephemeral copy (not yet)
    #[arg(short = 'e', long = "ephemeral")]
    pub ephemeral: bool,

    /// With -e: keep the copy after it stops (not yet)
    #[arg(short = 'D', long = "keepdata")]
    pub keep_data: bool,

    /// With -e: put the copy's changes on a tmpfs (not yet)
    #[arg(short = 't', long = "tmpfs")]
    pub tmpfs: bool,

    /// With -e: extra mounts, bind=SRC[:DEST[:ro|rw]] or overlay=SRC[:DEST] (not yet)
    #[arg(short = 'm', long = "mount", value_name = "MOUNTS")]
    pub mounts: Vec<String>,

    /// With -e: run in the foreground (not yet)
    #[arg(short = 'F', long = "foreground")]
    pub foreground: bool,

    /// With -e: run as a daemon (not yet)
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,

    /// Keep the original's hostname
    #[arg(short = 'K', long = "keepname")]
    pub keep_name: bool,

    /// Keep the original's MAC addresses
    #[arg(short = 'M', long = "keepmac")]
    pub keep_mac: bool,

    /// Size of a loop or LVM copy (not yet)
    #[arg(short = 'L', long = "fssize", value_name = "SIZE")]
    pub fssize: Option<String>,

    /// Arguments for the clone hooks (after --)
    #[arg(last = true, value_name = "HOOK-ARGS")]
    pub hook_args: Vec<String>,
}

/// The options that name a later step of issue #22, with what to say.
fn not_yet(args: &Args) -> Option<String> {
    let ephemeral = args.ephemeral
        || args.keep_data
        || args.tmpfs
        || !args.mounts.is_empty()
        || args.foreground
        || args.daemon;
    if ephemeral {
        return Some("ephemeral copies (-e, -D, -t, -m, -F, -d)".into());
    }
    if args.snapshot {
        return Some("copy-on-write snapshots (-s); a full copy works without -s".into());
    }
    match args.backing_store.as_deref() {
        None | Some("dir") => {}
        Some(other) => return Some(format!("copies to the {other} backing store (-B {other})")),
    }
    args.fssize
        .as_ref()
        .map(|_| "a filesystem size (-L) for loop or LVM copies".into())
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    if let Some(what) = not_yet(args) {
        bail!("not yet: {what} (see issue {ISSUE})");
    }
    let source = common.container_paths()?;
    let Some(newname) = args.newname.as_deref() else {
        bail!("no name for the copy: use -N NEWNAME");
    };
    rlxc_runtime::name::check(newname)?;
    let target = match &args.newpath {
        Some(newpath) => {
            let mut opts = common.clone();
            opts.lxcpath = newpath.clone();
            opts.paths_of(newname)?
        }
        None => common.paths_of(newname)?,
    };
    if target.dir() == source.dir() {
        bail!("{newname}: the copy needs another name or another path (-N, -p)");
    }
    // Both locks, always in the same order, so two copies between the same containers in
    // opposite directions do not wait on each other for ever.
    let what = if args.rename {
        "rlxc copy -R"
    } else {
        "rlxc copy"
    };
    let source_first =
        (source.instance_name(), &source.lxcpath) <= (target.instance_name(), &target.lxcpath);
    let (first, second) = if source_first {
        (&source, &target)
    } else {
        (&target, &source)
    };
    let first_lock = common.operation_lock(first, what)?;
    let second_lock = common.operation_lock(second, what)?;
    let (source_lock, target_lock) = if source_first {
        (&first_lock, &second_lock)
    } else {
        (&second_lock, &first_lock)
    };

    if args.rename {
        copy::rename(&source, &target, source_lock, target_lock, &args.hook_args)?;
        rlxc_hostnet::hosts::forget(&source.name);
        return Ok(ExitCode::SUCCESS);
    }
    let request = CopyRequest {
        source: &source,
        target: &target,
        keep_name: args.keep_name,
        keep_macs: args.keep_mac,
        hook_args: args.hook_args.clone(),
    };
    let copied = copy::copy(&request, source_lock, target_lock)?;
    if copied.froze && !common.quiet {
        eprintln!(
            "{}: was running: frozen for the copy, and thawed",
            source.name
        );
    }
    for mount in &copied.mount_points {
        eprintln!(
            "{}: {} is a mount point: copied as an empty directory",
            source.name,
            mount.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
