//! Issue 22's other speed case: a copy-on-write clone of a stopped container holding 1 GiB,
//! `rlxc copy -s` against `lxc-copy -s`. Of a `dir` container both make an overlay clone
//! (LXC 5 picks overlay for `-s` of a dir itself: `overlay:SRC/rootfs:NEW/overlay/delta`);
//! neither reads the source's files, so the gigabyte is there to show that the time does
//! not grow with the source. The source is the systemd guest copied into the scratch
//! directory as for the full copy (`copy::make_source`), topped up to 1 GiB with one data
//! file, written once per run and removed after the rounds (the rest goes with the scratch
//! directory).

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::cases::Results;
use crate::env::{Env, PREFIX};
use crate::tools::{Case, Tool};
use crate::{copy, Rng};

/// What the source holds: its rootfs and the data file together.
const SOURCE_BYTES: u64 = 1 << 30;
/// Where in the source's rootfs the data file goes.
const DATA_FILE: &str = "srv/rlxc-bench-data";

/// Clones the source into a new container once per tool and round (see [`crate::rounds`]).
pub fn clone_rounds(
    env: &Env,
    res: &mut Results,
    tools: &[Tool],
    rounds: usize,
    rng: &mut Rng,
) -> Result<(), String> {
    let clone_tools = Tool::lxc_conf_tools(tools);
    let source = format!("{PREFIX}clone-source");
    let data = match make_source(env, &clone_tools, &source) {
        Ok(data) => data,
        Err(e) => {
            res.not_available(&[Case::Clone], &clone_tools, &e);
            eprintln!("rlxc-bench: no source to clone: {e}");
            return Ok(());
        }
    };
    let result = crate::rounds::making_rounds(
        env,
        res,
        Case::Clone,
        "clone",
        "overlay clone of a 1 GiB container",
        &clone_tools,
        rounds,
        rng,
        |tool, name| env.clone_command(tool, &source, name),
    );
    // The clones are gone (destroyed by the rounds): the gigabyte is not needed any more.
    let _ = fs::remove_file(&data);
    result
}

/// The guest's copy plus a data file bringing it to [`SOURCE_BYTES`]; returns the data file.
fn make_source(env: &Env, tools: &[Tool], name: &str) -> Result<std::path::PathBuf, String> {
    let rootfs = copy::make_source(env, tools, name)?;
    let used = apparent_size(&rootfs)?;
    let data = rootfs.join(DATA_FILE);
    write_data(&data, SOURCE_BYTES.saturating_sub(used))?;
    Ok(data)
}

/// `du -sb`: the bytes of the files below `dir`.
fn apparent_size(dir: &Path) -> Result<u64, String> {
    let out = Command::new("du")
        .arg("-sb")
        .arg(dir)
        .output()
        .map_err(|e| format!("du: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("du -sb {}: {}", dir.display(), text.trim()))
}

/// `bytes` of real (not sparse) data, in 1 MiB writes.
fn write_data(path: &Path, bytes: u64) -> Result<(), String> {
    let what = |e: std::io::Error| format!("writing {}: {e}", path.display());
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(what)?;
    }
    let mut file = File::create(path).map_err(what)?;
    let block: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).map_err(what)?;
        left -= n as u64;
    }
    Ok(())
}
