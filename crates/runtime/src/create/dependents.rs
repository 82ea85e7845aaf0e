//! What LXC 5 records of an overlay clone, so that the container under it is not destroyed
//! while the clone uses its rootfs: the clone's `lxc_rdepends` names its source (`LXCPATH\n
//! NAME\n`), the source's `lxc_snapshots` its clones (the same pairs). `lxc-destroy` of the
//! source says "has clones"; rlxc reads and writes the same files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::paths::ContainerPaths;

pub const RDEPENDS: &str = "lxc_rdepends";
pub const SNAPSHOTS: &str = "lxc_snapshots";

fn pair(paths: &ContainerPaths) -> String {
    format!("{}\n{}\n", paths.lxcpath.display(), paths.name)
}

fn pairs(text: &str) -> Vec<(PathBuf, String)> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .filter_map(|chunk| match chunk {
            [lxcpath, name] => Some((PathBuf::from(lxcpath), name.to_string())),
            _ => None,
        })
        .collect()
}

/// Writes the clone's `lxc_rdepends` (in `staged`, its directory until it is moved into
/// place) and adds it to the `lxc_snapshots` of the container whose rootfs it sits on: the
/// source, or, for a source that is an overlay clone itself, the one under it (the copy shares
/// that lower, not the source's upper).
pub(crate) fn record(
    source: &ContainerPaths,
    clone: &ContainerPaths,
    staged: &Path,
) -> std::io::Result<()> {
    let owner = fs::read_to_string(source.dir().join(RDEPENDS))
        .ok()
        .and_then(|text| pairs(&text).into_iter().next())
        .map(|(lxcpath, name)| ContainerPaths::with_run_root(&lxcpath, &name, source.run_root()))
        .unwrap_or_else(|| source.clone());
    fs::write(staged.join(RDEPENDS), pair(&owner))?;
    let list = owner.dir().join(SNAPSHOTS);
    // A restore in place records the same clone again.
    if fs::read_to_string(&list)
        .is_ok_and(|text| pairs(&text).contains(&(clone.lxcpath.clone(), clone.name.clone())))
    {
        return Ok(());
    }
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&list)?
        .write_all(pair(clone).as_bytes())
}

/// The clones of `paths` that still exist (an entry whose clone is gone, as a failed copy or
/// a crash leaves, does not count).
pub fn clones(paths: &ContainerPaths) -> Vec<ContainerPaths> {
    let text = fs::read_to_string(paths.dir().join(SNAPSHOTS)).unwrap_or_default();
    pairs(&text)
        .into_iter()
        .map(|(lxcpath, name)| ContainerPaths::with_run_root(&lxcpath, &name, paths.run_root()))
        .filter(|clone| clone.dir().join(RDEPENDS).is_file())
        .collect()
}

/// The clone `paths` is going: its entry leaves its source's `lxc_snapshots` (the file goes
/// with the last entry, as LXC's).
pub(crate) fn forget(paths: &ContainerPaths) {
    let Ok(text) = fs::read_to_string(paths.dir().join(RDEPENDS)) else {
        return;
    };
    let Some((lxcpath, name)) = pairs(&text).into_iter().next() else {
        return;
    };
    let list = lxcpath.join(name).join(SNAPSHOTS);
    let Ok(text) = fs::read_to_string(&list) else {
        return;
    };
    let kept: String = pairs(&text)
        .into_iter()
        .filter(|(l, n)| !(l == &paths.lxcpath && n == &paths.name))
        .map(|(l, n)| format!("{}\n{n}\n", l.display()))
        .collect();
    let _ = if kept.is_empty() {
        fs::remove_file(&list)
    } else {
        fs::write(&list, kept)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_as_lxc_writes_them() {
        assert_eq!(
            pairs("/var/lib/lxc\nweb1\n/srv/lxc\nweb2\n"),
            vec![
                (PathBuf::from("/var/lib/lxc"), "web1".to_string()),
                (PathBuf::from("/srv/lxc"), "web2".to_string())
            ]
        );
        assert_eq!(pairs("/var/lib/lxc\n"), vec![]);
    }
}
