//! Reading and writing cgroup files, each error naming the directory, the file and the value.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::Error;

pub(crate) fn read_key(dir: &Path, key: &str) -> Result<String, Error> {
    fs::read_to_string(dir.join(key)).map_err(|cause| Error::Read {
        path: dir.to_owned(),
        key: key.to_owned(),
        cause,
    })
}

/// One `write(2)` of the whole value: cgroup files act on each write, so a value must not be
/// split (which `fs::write` could do for long values) or appended to.
pub(crate) fn write_key(dir: &Path, key: &str, value: &str) -> Result<(), Error> {
    let write = || -> io::Result<()> {
        let mut file = fs::OpenOptions::new().write(true).open(dir.join(key))?;
        let written = file.write(value.as_bytes())?;
        if written != value.len() {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
        }
        Ok(())
    };
    write().map_err(|cause| Error::Write {
        path: dir.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        cause,
    })
}

/// The pids in `cgroup.procs` of `dir` only.
pub(crate) fn read_procs(dir: &Path) -> Result<Vec<i32>, Error> {
    Ok(read_key(dir, "cgroup.procs")?
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect())
}

/// The pids in `dir` and every cgroup below it (a container with its own cgroup namespace
/// makes sub-cgroups, and on v1 the parent's `cgroup.procs` does not list their processes).
/// A sub-cgroup that vanishes while we look was emptied and removed by its owner: skip it.
pub(crate) fn read_procs_below(dir: &Path) -> Result<Vec<i32>, Error> {
    let mut pids = Vec::new();
    for cgroup in subtree(dir)? {
        match read_procs(&cgroup) {
            Ok(found) => pids.extend(found),
            Err(Error::Read { cause: source, .. })
                if cgroup != dir && source.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// `dir` and all cgroup directories below it, parents before children.
pub(crate) fn subtree(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut found = vec![dir.to_owned()];
    let mut index = 0;
    while index < found.len() {
        let entries = match fs::read_dir(&found[index]) {
            Ok(entries) => entries,
            Err(source) if index > 0 && source.kind() == io::ErrorKind::NotFound => {
                index += 1;
                continue;
            }
            Err(source) => {
                return Err(Error::Read {
                    path: found[index].clone(),
                    key: String::from("(directory listing)"),
                    cause: source,
                })
            }
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                found.push(entry.path());
            }
        }
        index += 1;
    }
    Ok(found)
}

/// A key is one file name in the cgroup directory: never a path that leaves it.
pub(crate) fn check_key(key: &str) -> Result<(), Error> {
    let plain = !key.is_empty() && !key.contains('/') && !key.starts_with('.');
    if plain {
        Ok(())
    } else {
        Err(Error::InvalidKey {
            key: key.to_owned(),
        })
    }
}
