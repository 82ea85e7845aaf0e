//! `rlxc snapshot` (LXC's `lxc-snapshot`): snapshots kept as LXC 5 keeps them, so that
//! `lxc-snapshot -L` and ours agree. Each is a container named `snapN` in the lxcpath
//! `$lxcpath/NAME/snaps`: `snaps/snapN/{config,rootfs,ts[,comment]}`; its config keeps the
//! hostname and MACs of the original (LXC's `LXC_CLONE_KEEPNAME | LXC_CLONE_KEEPMACADDR`).
//! A `dir` container's snapshot is a full copy (LXC's `LXC_CLONE_MAYBE_SNAPSHOT` falls back
//! to one), a btrfs one's a writable btrfs snapshot.
//!
//! Snapshot, restore and destroy are the copy's and destroy's own recipes ([`super::copy`],
//! [`super::destroy`]) with other paths: atomic in the same way.

use std::fs;
use std::path::{Path, PathBuf};

use super::copy::{self, snapshot_method, CopyError, CopyRequest};
use super::staging::SNAPS;
use super::{DestroyError, DestroyOptions};
use crate::lock::OperationLock;
use crate::paths::ContainerPaths;

/// One snapshot, as `-L` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: String,
    /// `YYYY:MM:DD HH:MM:SS`, LXC's format, from `ts`.
    pub timestamp: String,
    pub comment: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    #[error("Container is not defined: {dir} does not exist")]
    NotDefined { dir: PathBuf },
    #[error("{name} has no snapshot {snapshot}")]
    NoSuchSnapshot { name: String, snapshot: String },
    #[error("{0:?} is not a snapshot's name (snapN)")]
    BadName(String),
    #[error("reading the comment file {path}: {cause}")]
    Comment {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Copy(#[from] CopyError),
    #[error(transparent)]
    Destroy(#[from] DestroyError),
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// The lxcpath that holds `paths`'s snapshots as containers.
pub fn snaps_lxcpath(paths: &ContainerPaths) -> PathBuf {
    paths.dir().join(SNAPS)
}

/// The snapshot `snapshot` of `paths`, as a container.
pub fn snapshot_paths(paths: &ContainerPaths, snapshot: &str) -> ContainerPaths {
    ContainerPaths::with_run_root(&snaps_lxcpath(paths), snapshot, paths.run_root())
}

fn index(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("snap")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The snapshots of `paths`, oldest first (by their number, as LXC sorts them).
pub fn list(paths: &ContainerPaths) -> Result<Vec<Snapshot>, SnapshotError> {
    let dir = paths.dir();
    if fs::symlink_metadata(&dir).is_err() {
        return Err(SnapshotError::NotDefined { dir });
    }
    let snaps = snaps_lxcpath(paths);
    let entries = match fs::read_dir(&snaps) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => {
            return Err(SnapshotError::Io {
                step: "reading",
                path: snaps,
                cause,
            })
        }
    };
    let mut found: Vec<(u32, Snapshot)> = Vec::new();
    for entry in entries.flatten() {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let Some(n) = index(&name) else { continue };
        let dir = entry.path();
        // A snapshot is a container: no config, no snapshot (a crashed one's debris).
        if !dir.join("config").is_file() {
            continue;
        }
        let timestamp = fs::read_to_string(dir.join("ts")).unwrap_or_default();
        let comment = fs::read_to_string(dir.join("comment")).ok();
        found.push((
            n,
            Snapshot {
                name,
                timestamp: timestamp.trim_end().to_string(),
                comment,
            },
        ));
    }
    found.sort_by_key(|(n, _)| *n);
    Ok(found.into_iter().map(|(_, snapshot)| snapshot).collect())
}

/// The name the next snapshot gets: the first `snapN` not taken, as LXC's `get_next_index`.
pub fn next_name(paths: &ContainerPaths) -> String {
    let snaps = snaps_lxcpath(paths);
    (0..)
        .map(|n| format!("snap{n}"))
        .find(|name| fs::symlink_metadata(snaps.join(name)).is_err())
        .unwrap_or_else(|| "snap0".into())
}

/// Takes the snapshot `snapshot` (from [`next_name`]) of `paths`; a running container is
/// frozen for it. The caller holds both operation locks.
pub fn create(
    paths: &ContainerPaths,
    snapshot: &ContainerPaths,
    comment_file: Option<&Path>,
    now: &str,
    lock: &OperationLock,
    snapshot_lock: &OperationLock,
) -> Result<PathBuf, SnapshotError> {
    let dir = paths.dir();
    if fs::symlink_metadata(&dir).is_err() {
        return Err(SnapshotError::NotDefined { dir });
    }
    let method = snapshot_method(paths)?;
    let mut extra_files = vec![("ts", now.to_string())];
    if let Some(path) = comment_file {
        let text = fs::read_to_string(path).map_err(|cause| SnapshotError::Comment {
            path: path.to_path_buf(),
            cause,
        })?;
        extra_files.push(("comment", text));
    }
    let request = CopyRequest {
        method,
        keep_name: true,
        keep_macs: true,
        extra_files,
        ..CopyRequest::new(paths, snapshot)
    };
    Ok(copy::copy(&request, lock, snapshot_lock)?.dir)
}

/// Restores `snapshot` of `paths` to `target`: `paths` itself (stopped; its rootfs and config
/// replaced, its snapshots kept) or a new container (named, and hostnamed, `target`).
pub fn restore(
    paths: &ContainerPaths,
    snapshot: &str,
    target: &ContainerPaths,
    snapshot_lock: &OperationLock,
    target_lock: &OperationLock,
) -> Result<PathBuf, SnapshotError> {
    let source = existing(paths, snapshot)?;
    let method = snapshot_method(&source)?;
    let in_place = target.dir() == paths.dir();
    let request = CopyRequest {
        method,
        // In place it keeps its name (the snapshot's config has it); as a new container it
        // is renamed from the original's name.
        keep_name: in_place,
        keep_macs: in_place,
        hostname: Some(&paths.name),
        replace: in_place,
        ..CopyRequest::new(&source, target)
    };
    Ok(copy::copy(&request, snapshot_lock, target_lock)?.dir)
}

/// Destroys the snapshot `snapshot` of `paths` (its lock held by the caller); the `snaps`
/// directory goes with the last one, as LXC's.
pub fn destroy(
    paths: &ContainerPaths,
    snapshot: &str,
    snapshot_lock: &OperationLock,
) -> Result<(), SnapshotError> {
    let source = existing(paths, snapshot)?;
    super::destroy(&source, DestroyOptions::default(), snapshot_lock)?;
    // Not empty (another snapshot, a staging directory): it stays.
    let _ = fs::remove_dir(snaps_lxcpath(paths));
    Ok(())
}

/// `ts` as LXC writes it (`%Y:%m:%d %H:%M:%S`), in local time as LXC's (`localtime_r`, which
/// reads `TZ` or `/etc/localtime`).
pub fn timestamp(at: std::time::SystemTime) -> String {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let time = libc::time_t::try_from(secs).unwrap_or(0);
    // SAFETY: `tm` is plain data (integers and a pointer), for which all zeroes is valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to live locals; localtime_r writes only `tm`, and a null
    // return (a time it cannot convert) is handled.
    let converted = unsafe { !libc::localtime_r(&time, &mut tm).is_null() };
    if !converted {
        return "1970:01:01 00:00:00".into();
    }
    format!(
        "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

fn existing(paths: &ContainerPaths, snapshot: &str) -> Result<ContainerPaths, SnapshotError> {
    if index(snapshot).is_none() {
        return Err(SnapshotError::BadName(snapshot.to_string()));
    }
    let source = snapshot_paths(paths, snapshot);
    if !source.config().is_file() {
        return Err(SnapshotError::NoSuchSnapshot {
            name: paths.name.clone(),
            snapshot: snapshot.to_string(),
        });
    }
    Ok(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_as_lxc_writes_them_in_local_time() {
        for secs in [0u64, 1_796_666_401] {
            let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            // date(1) as the oracle, in this process's time zone as localtime_r sees it.
            let date = std::process::Command::new("date")
                .arg(format!("-d@{secs}"))
                .arg("+%Y:%m:%d %H:%M:%S")
                .output()
                .expect("date");
            assert_eq!(timestamp(at), String::from_utf8_lossy(&date.stdout).trim());
        }
    }

    #[test]
    fn only_lxc_snapshot_names_count() {
        assert_eq!(index("snap0"), Some(0));
        assert_eq!(index("snap12"), Some(12));
        assert_eq!(index("snap"), None);
        assert_eq!(index("snap-1"), None);
        assert_eq!(index(".snap0.create-x"), None);
    }
}
