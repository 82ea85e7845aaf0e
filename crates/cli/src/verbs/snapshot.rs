//! `rlxc snapshot` / `lxc-snapshot`: take (`-c FILE` a comment), list (`-L`, `-C` with the
//! comments), restore (`-r snapN`, `-N NEWNAME` as another container) and destroy (`-d
//! snapN|ALL`) snapshots, laid out as LXC 5 lays them out (`$lxcpath/NAME/snaps/snapN`), so
//! `lxc-snapshot -L` and ours agree.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use rlxc_runtime::create::snapshot;

use crate::common::CommonOpts;

/// Options of `lxc-snapshot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// List the snapshots
    #[arg(short = 'L', long = "list")]
    pub list: bool,

    /// With -L: show each snapshot's comment
    #[arg(short = 'C', long = "showcomments")]
    pub show_comments: bool,

    /// Add FILE as the new snapshot's comment
    #[arg(short = 'c', long = "comment", value_name = "FILE")]
    pub comment: Option<PathBuf>,

    /// Restore the snapshot NAME, e.g. snap0
    #[arg(short = 'r', long = "restore", value_name = "NAME")]
    pub restore: Option<String>,

    /// With -r: restore as a new container NEWNAME
    #[arg(short = 'N', long = "newname", value_name = "NEWNAME")]
    pub newname: Option<String>,

    /// Destroy the snapshot NAME (ALL: every one)
    #[arg(short = 'd', long = "destroy", value_name = "NAME")]
    pub destroy: Option<String>,

    /// With -L: print a JSON array of objects instead (rlxc only)
    #[arg(long, requires = "list")]
    pub json: bool,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    if args.list && args.json {
        return list_json(&paths);
    }
    if args.list {
        return list(&paths, args.show_comments);
    }
    if let Some(name) = &args.restore {
        let target = match &args.newname {
            Some(newname) => {
                rlxc_runtime::name::check(newname)?;
                common.paths_of(newname)?
            }
            None => paths.clone(),
        };
        let snap = snapshot::snapshot_paths(&paths, name);
        // Locks always in the same order (snapshot, then target) as `snapshot` takes
        // (container, then snapshot) never holds the pair reversed: the snapshot's lock is
        // taken by ours only after the container's, and a restore takes no container lock
        // but the target's.
        let snapshot_lock = common.operation_lock(&snap, "rlxc snapshot -r")?;
        let target_lock = common.operation_lock(&target, "rlxc snapshot -r")?;
        snapshot::restore(&paths, name, &target, &snapshot_lock, &target_lock)?;
        drop((snapshot_lock, target_lock));
        // A new container (-N) gets its static lease on a running `rlxc net`, as a copy does.
        super::net::record_new_container(&target.name, &target.config());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(which) = &args.destroy {
        let names: Vec<String> = if which == "ALL" {
            snapshot::list(&paths)?
                .into_iter()
                .map(|s| s.name)
                .collect()
        } else {
            vec![which.clone()]
        };
        for name in names {
            let snap = snapshot::snapshot_paths(&paths, &name);
            let lock = common.operation_lock(&snap, "rlxc snapshot -d")?;
            snapshot::destroy(&paths, &name, &lock)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.newname.is_some() {
        bail!("-N names the container a restore (-r) makes");
    }
    let lock = common.operation_lock(&paths, "rlxc snapshot")?;
    let name = snapshot::next_name(&paths);
    let snap = snapshot::snapshot_paths(&paths, &name);
    let snapshot_lock = common.operation_lock(&snap, "rlxc snapshot")?;
    let now = snapshot::timestamp(std::time::SystemTime::now());
    snapshot::create(
        &paths,
        &snap,
        args.comment.as_deref(),
        &now,
        &lock,
        &snapshot_lock,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `-L --json`: name, directory, timestamp and comment of each snapshot, oldest first.
fn list_json(paths: &rlxc_runtime::paths::ContainerPaths) -> anyhow::Result<ExitCode> {
    let dir = snapshot::snaps_lxcpath(paths);
    let objects: Vec<serde_json::Value> = snapshot::list(paths)?
        .into_iter()
        .map(|snap| {
            serde_json::json!({
                "name": snap.name,
                "path": dir.join(&snap.name),
                "timestamp": snap.timestamp,
                "comment": snap.comment,
            })
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&objects)?);
    Ok(ExitCode::SUCCESS)
}

/// `-L` as LXC prints it: `snap0 (LXCPATH/NAME/snaps) YYYY:MM:DD HH:MM:SS`, with `-C` the
/// comment after each; `No snapshots` when there are none.
fn list(paths: &rlxc_runtime::paths::ContainerPaths, comments: bool) -> anyhow::Result<ExitCode> {
    let snapshots = snapshot::list(paths)?;
    if snapshots.is_empty() {
        println!("No snapshots");
        return Ok(ExitCode::SUCCESS);
    }
    let dir = snapshot::snaps_lxcpath(paths);
    for snap in snapshots {
        println!("{} ({}) {}", snap.name, dir.display(), snap.timestamp);
        if let (true, Some(comment)) = (comments, &snap.comment) {
            print!("{comment}");
            if !comment.ends_with('\n') {
                println!();
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
