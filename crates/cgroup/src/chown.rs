//! An unprivileged container's cgroups belong to its root, as LXC does it: the directory and
//! the files that manage membership and delegation, so that where the kernel allows delegation
//! (cgroup2, or a v1 hierarchy mounted writable) the container's root can make child cgroups
//! and move its own processes between them. The limit files stay host root's: the container
//! cannot raise what the host set.

use std::path::Path;

use rustix::fs::{chown, Gid, Uid};
use rustix::io::Errno;

use crate::Error;

/// The files a delegated cgroup's owner needs (cgroups(7), "Cgroups v2 delegation"; the v1
/// ones where they exist). A file the hierarchy lacks is skipped.
pub(crate) const DELEGATED_FILES: [&str; 5] = [
    "cgroup.procs",
    "tasks",
    "cgroup.threads",
    "cgroup.subtree_control",
    "cgroup.clone_children",
];

pub(crate) fn give_to<'a>(
    dirs: impl Iterator<Item = &'a Path>,
    uid: u32,
    gid: u32,
) -> Result<(), Error> {
    let (uid, gid) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
    for dir in dirs {
        let failed = |path: &Path, e: Errno| Error::Chown {
            path: path.to_path_buf(),
            cause: e.into(),
        };
        chown(dir, uid, gid).map_err(|e| failed(dir, e))?;
        for name in DELEGATED_FILES {
            let file = dir.join(name);
            match chown(&file, uid, gid) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(failed(&file, e)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn the_directory_and_delegation_files_change_owner_limits_do_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cgroup = dir.path().join("payload");
        std::fs::create_dir(&cgroup).expect("mkdir");
        for file in ["cgroup.procs", "cgroup.subtree_control", "memory.max"] {
            std::fs::write(cgroup.join(file), "").expect("write");
        }
        give_to(std::iter::once(cgroup.as_path()), 200000, 200001).expect("chown");
        let owner = |name: &str| {
            let meta = std::fs::metadata(cgroup.join(name)).expect("stat");
            (meta.uid(), meta.gid())
        };
        assert_eq!(owner(""), (200000, 200001));
        assert_eq!(owner("cgroup.procs"), (200000, 200001));
        assert_eq!(owner("cgroup.subtree_control"), (200000, 200001));
        assert_eq!(owner("memory.max"), (0, 0));
    }
}
