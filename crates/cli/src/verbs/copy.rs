//! `rlxc copy` / `lxc-copy`: a full copy of a container under a new name (`-N`, in `-p`
//! another lxcpath), or its rename (`-R`). The copy is atomic: it appears complete under
//! NEWNAME or not at all. A running container is frozen for the copy and thawed after (LXC
//! refuses it without `-a`). `-s` makes a copy-on-write clone (an overlay on a dir source, a
//! btrfs snapshot of a btrfs one; `-B overlay|btrfs` chooses); `-e` an ephemeral overlay
//! clone (`lxc.ephemeral = 1` unless `-D`, `-m bind=` mounts) started at once.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use rlxc_runtime::create::copy::{self, CopyRequest};

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

    /// Copy-on-write clone: an overlay on a dir or overlay source, a btrfs snapshot of a btrfs one
    #[arg(short = 's', long = "snapshot")]
    pub snapshot: bool,

    /// Copy a running container (rlxc always may: it freezes it for the copy)
    #[arg(short = 'a', long = "allowrunning")]
    pub allow_running: bool,

    /// Backing store of the copy: dir (a full copy), overlay, btrfs, loop
    #[arg(short = 'B', long = "backingstorage", value_name = "BACKINGSTORE")]
    pub backing_store: Option<String>,

    /// Start an ephemeral copy (an overlay clone destroyed when it stops)
    #[arg(short = 'e', long = "ephemeral")]
    pub ephemeral: bool,

    /// With -e: keep the copy after it stops
    #[arg(short = 'D', long = "keepdata")]
    pub keep_data: bool,

    /// With -e: put the copy's changes on a tmpfs (gone at stop, -D or not)
    #[arg(short = 't', long = "tmpfs")]
    pub tmpfs: bool,

    /// With -e: extra mounts, bind=SRC[:DEST[:ro|rw]] or overlay=SRC[:DEST]
    #[arg(short = 'm', long = "mount", value_name = "MOUNTS")]
    pub mounts: Vec<String>,

    /// With -e: run in the foreground
    #[arg(short = 'F', long = "foreground")]
    pub foreground: bool,

    /// With -e: run as a daemon (the default)
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,

    /// Keep the original's hostname
    #[arg(short = 'K', long = "keepname")]
    pub keep_name: bool,

    /// Keep the original's MAC addresses
    #[arg(short = 'M', long = "keepmac")]
    pub keep_mac: bool,

    /// Size of a loop copy (-B loop; default 1G)
    #[arg(short = 'L', long = "fssize", value_name = "SIZE")]
    pub fssize: Option<String>,

    /// Arguments for the clone hooks (after --)
    #[arg(last = true, value_name = "HOOK-ARGS")]
    pub hook_args: Vec<String>,
}

/// What `-m` asks for: `lxc.mount.entry` lines, and the directories (relative to the copy's
/// directory) an overlay mount keeps its changes in.
#[derive(Debug, Default, PartialEq, Eq)]
struct Mounts {
    entries: String,
    dirs: Vec<String>,
}

/// `-m bind=SRC[:DEST[:ro|rw]]` and `-m overlay=SRC[:DEST]` (comma-separated, repeatable), as
/// LXC's: an overlay mount shows SRC at DEST with the container's changes kept in the copy's
/// own directory (`overlay.mount.N/{delta,work}`), gone with it.
fn mount_entries(mounts: &[String], copy_dir: &std::path::Path) -> anyhow::Result<Mounts> {
    let mut out = Mounts::default();
    for (index, spec) in mounts.iter().flat_map(|m| m.split(',')).enumerate() {
        let (kind, paths) = match spec.split_once('=') {
            Some((kind @ ("bind" | "overlay"), paths)) => (kind, paths),
            _ => bail!("-m {spec}: neither bind=SRC[:DEST[:ro|rw]] nor overlay=SRC[:DEST]"),
        };
        let mut parts = paths.split(':');
        let src = parts.next().unwrap_or_default();
        let dest = parts.next().filter(|d| !d.is_empty()).unwrap_or(src);
        let mode = parts.next();
        if !src.starts_with('/') || !dest.starts_with('/') || parts.next().is_some() {
            bail!("-m {spec}: {kind}= needs absolute paths, {kind}=SRC[:DEST]");
        }
        let dest = dest.trim_start_matches('/');
        if kind == "overlay" {
            if mode.is_some() {
                bail!("-m {spec}: overlay=SRC[:DEST] takes no mode");
            }
            let dir = format!("overlay.mount.{index}");
            let (delta, work) = (format!("{dir}/delta"), format!("{dir}/work"));
            out.entries.push_str(&format!(
                "lxc.mount.entry = {src} {dest} overlay lowerdir={src},upperdir={},workdir={},create=dir 0 0\n",
                copy_dir.join(&delta).display(),
                copy_dir.join(&work).display()
            ));
            out.dirs.extend([dir, delta, work]);
            continue;
        }
        let options = match mode.unwrap_or("rw") {
            "ro" => "bind,ro,create=dir",
            "rw" => "bind,create=dir",
            other => bail!("-m {spec}: {other:?} is neither ro nor rw"),
        };
        out.entries.push_str(&format!(
            "lxc.mount.entry = {src} {dest} none {options} 0 0\n"
        ));
    }
    Ok(out)
}

/// LXC's name for an ephemeral copy without -N: `NAME_XXXXXX`.
fn random_name(base: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let mut bits = hasher.finish();
    let suffix: String = (0..6)
        .map(|_| {
            let letter = LETTERS[(bits % LETTERS.len() as u64) as usize] as char;
            bits /= LETTERS.len() as u64;
            letter
        })
        .collect();
    format!("{base}_{suffix}")
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let ephemeral_only =
        args.tmpfs || args.keep_data || !args.mounts.is_empty() || args.foreground || args.daemon;
    if ephemeral_only && !args.ephemeral {
        bail!("-t, -D, -m, -F and -d go with -e (an ephemeral copy)");
    }
    let source = common.container_paths()?;
    let generated;
    let newname = match (args.newname.as_deref(), args.ephemeral) {
        (Some(newname), _) => newname,
        (None, true) => {
            generated = random_name(&source.name);
            generated.as_str()
        }
        (None, false) => bail!("no name for the copy: use -N NEWNAME"),
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
        rlxc_runtime::create::rename::rename(
            &source,
            &target,
            source_lock,
            target_lock,
            &args.hook_args,
        )?;
        rlxc_hostnet::hosts::forget(&source.name);
        super::net::record_new_container(&target.name, &target.config());
        return Ok(ExitCode::SUCCESS);
    }
    let loop_size = match &args.fssize {
        Some(text) => Some(
            rlxc_storage::backend::image::parse_size(text)
                .map_err(|e| anyhow::anyhow!("-L {text}: {e}"))?,
        ),
        None => None,
    };
    let method = copy::choose_method(
        &source,
        args.snapshot || args.ephemeral,
        args.backing_store.as_deref(),
        loop_size,
    )?;
    let mut extra_config = String::new();
    let mut extra_dirs = Vec::new();
    if args.ephemeral {
        let mounts = mount_entries(&args.mounts, &target.dir())?;
        extra_config.push_str(&mounts.entries);
        extra_dirs = mounts.dirs;
        if !args.keep_data {
            extra_config.push_str("lxc.ephemeral = 1\n");
        }
    }
    if args.tmpfs && method != copy::Method::Overlay {
        bail!("-t puts an overlay's upper on a tmpfs: the copy is not an overlay (-B)");
    }
    let request = CopyRequest {
        method,
        upper_on_tmpfs: args.tmpfs,
        keep_name: args.keep_name,
        keep_macs: args.keep_mac,
        hook_args: args.hook_args.clone(),
        extra_config,
        extra_dirs,
        ..CopyRequest::new(&source, &target)
    };
    let copied = copy::copy(&request, source_lock, target_lock)?;
    drop((first_lock, second_lock));
    // Its static lease (its own MAC, its name) on a running `rlxc net`.
    super::net::record_new_container(&target.name, &target.config());
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
    if !args.ephemeral {
        return Ok(ExitCode::SUCCESS);
    }
    // `lxc-copy -e` starts the copy at once (in the background unless -F) and names it.
    println!("Created {newname} as copy of {}", source.name);
    start(&target, args.foreground, common)
}

/// `rlxc start -n NEW` (with `-F`: in the foreground) in the copy's lxcpath.
fn start(
    target: &rlxc_runtime::paths::ContainerPaths,
    foreground: bool,
    common: &CommonOpts,
) -> anyhow::Result<ExitCode> {
    use clap::{Args as _, FromArgMatches};
    let mut argv = vec!["start"];
    if foreground {
        argv.push("-F");
    }
    let command = super::start::Args::augment_args(clap::Command::new("start"));
    let matches = command.try_get_matches_from(argv)?;
    let args = super::start::Args::from_arg_matches(&matches)?;
    let mut opts = common.clone();
    opts.name = Some(target.name.clone());
    opts.lxcpath = target.lxcpath.clone();
    super::start::run(&args, &opts)
}
