//! Issue 22's speed case: a full copy of a stopped container, `rlxc copy` against `lxc-copy`
//! (which copies a `dir` rootfs with `rsync -aXHS`). The source is the systemd guest (Debian
//! 12, ~8,600 files, 255 MB), copied once with `cp -a` into the scratch directory
//! (`NAME/rootfs`: lxc-copy refuses a rootfs whose path does not have the container's name
//! in it); one rootfs serves both tools' source containers (each tool's config names it), so
//! both copy the very same tree, from the page cache after an untimed warm-up copy per tool.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use crate::cases::Results;
use crate::env::{Env, PREFIX};
use crate::tools::{Case, Tool};
use crate::{guest, Rng};

/// Copies the source into a new container once per tool and round (see [`crate::rounds`]).
pub fn copy_rounds(
    env: &Env,
    res: &mut Results,
    tools: &[Tool],
    rounds: usize,
    rng: &mut Rng,
) -> Result<(), String> {
    let copy_tools = Tool::lxc_conf_tools(tools);
    let source = format!("{PREFIX}copy-source");
    if let Err(e) = make_source(env, &copy_tools, &source) {
        res.not_available(&[Case::Copy], &copy_tools, &e);
        eprintln!("rlxc-bench: no source to copy: {e}");
        return Ok(());
    }
    crate::rounds::making_rounds(
        env,
        res,
        Case::Copy,
        "copy",
        "full copy of a container",
        &copy_tools,
        rounds,
        rng,
        |tool, name| env.copy_command(tool, &source, name),
    )
}

/// The shared source rootfs (a `cp -a` of the cached guest) and a config naming it in each
/// tool's lxcpath; returns the rootfs. The scratch directory's removal deletes the rootfs;
/// neither tool's destroy is run on the sources (it would delete the shared rootfs twice).
pub fn make_source(env: &Env, tools: &[Tool], name: &str) -> Result<PathBuf, String> {
    let guest = guest::cached_rootfs()?;
    // LXC copies only a rootfs whose path has the container's name in it.
    let rootfs = env.dir.join(name).join("rootfs");
    fs::create_dir_all(env.dir.join(name)).map_err(|e| format!("{name}: {e}"))?;
    let output = Command::new("cp")
        .arg("-a")
        .arg(&guest)
        .arg(&rootfs)
        .output()
        .map_err(|e| format!("cp: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cp -a {}: {}",
            guest.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    for tool in tools {
        env.write_guest_config(*tool, name, &rootfs)?;
    }
    Ok(rootfs)
}
