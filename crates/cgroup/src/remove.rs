//! Removing a container's cgroups: wait (bounded) for them to empty, then rmdir deepest
//! first, including cgroups the container made below its own.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cgroupfs::CgroupFs;
use crate::files::{read_procs_below, subtree};
use crate::wait::{busy, open_pidfds, wait_for_exit, wait_unpopulated};
use crate::Error;

pub(crate) fn remove(
    paths: &[PathBuf],
    leaves: &[(PathBuf, bool)],
    timeout: Duration,
    fs: &dyn CgroupFs,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    for (leaf, unified) in leaves {
        if leaf.exists() {
            wait_until_empty(leaf, *unified, deadline)?;
        }
    }
    for (leaf, _) in leaves {
        if leaf.exists() {
            let below = subtree(leaf)?;
            for dir in below.iter().skip(1).rev() {
                rmdir(dir, fs, true)?;
            }
        }
    }
    for dir in paths.iter().rev() {
        let is_leaf = leaves.iter().any(|(leaf, _)| leaf == dir);
        rmdir(dir, fs, is_leaf)?;
    }
    Ok(())
}

/// The usual case at a stop: the processes are gone (init's exit took its pid namespace
/// with it) and nothing was made below: then one rmdir per directory, deepest first, does
/// it, without reading process lists or walking subtrees. False as soon as a leaf is still
/// in use; what went is gone, and [`remove`] does the rest.
pub(crate) fn remove_if_empty(
    paths: &[PathBuf],
    leaves: &[(PathBuf, bool)],
    fs: &dyn CgroupFs,
) -> bool {
    paths.iter().rev().all(|dir| {
        let is_leaf = leaves.iter().any(|(leaf, _)| leaf == dir);
        match fs.rmdir(dir) {
            Ok(()) => true,
            Err(source) if source.kind() == io::ErrorKind::NotFound => true,
            // A parent we made may hold another container's cgroup now: it stays.
            Err(source) => !is_leaf && is_busy(&source),
        }
    })
}

/// cgroup2 says when its subtree is empty; on v1 the remaining processes are waited on
/// through pidfds, and the list is read again (a process may have forked meanwhile).
fn wait_until_empty(dir: &Path, unified: bool, deadline: Instant) -> Result<(), Error> {
    if unified && dir.join("cgroup.events").exists() {
        return wait_unpopulated(dir, deadline);
    }
    loop {
        let pids = read_procs_below(dir)?;
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(busy(dir));
        }
        let pidfds = open_pidfds(dir, &pids)?;
        wait_for_exit(dir, pidfds, deadline)?;
    }
}

/// Gone already is fine. A directory we made on the way to the container's (`lxc` of
/// `lxc/web`) may now hold another container's cgroup: EBUSY there means "in use", so it
/// stays.
fn rmdir(dir: &Path, fs: &dyn CgroupFs, must_go: bool) -> Result<(), Error> {
    match fs.rmdir(dir) {
        Ok(()) => Ok(()),
        Err(source) if source.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) if !must_go && is_busy(&source) => Ok(()),
        Err(source) if is_busy(&source) => Err(busy(dir)),
        Err(source) => Err(Error::Remove {
            path: dir.to_owned(),
            cause: source,
        }),
    }
}

fn is_busy(error: &io::Error) -> bool {
    let busy = rustix::io::Errno::BUSY.raw_os_error();
    let not_empty = rustix::io::Errno::NOTEMPTY.raw_os_error();
    matches!(error.raw_os_error(), Some(code) if code == busy || code == not_empty)
}
