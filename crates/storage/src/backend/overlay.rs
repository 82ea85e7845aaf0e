//! `overlay:LOWER:UPPER`: the container sees LOWER with its own changes kept in UPPER.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::ParseError;

/// Name of the overlay's work directory, next to the upper (LXC 5's `ovl_mount`: an upper
/// of `/var/lib/lxc/c2/overlay/delta` works in `/var/lib/lxc/c2/overlay/work`).
pub const WORK_DIR: &str = "work";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    pub lower: PathBuf,
    pub upper: PathBuf,
}

impl Overlay {
    /// `LOWER:UPPER` (after `overlay:`), split at the first colon as LXC does: neither path
    /// can hold one.
    pub fn parse(paths: &str) -> Result<Overlay, ParseError> {
        let (lower, upper) = paths.split_once(':').ok_or(ParseError::OverlayPaths)?;
        if !lower.starts_with('/') || !upper.starts_with('/') || upper.contains(':') {
            return Err(ParseError::OverlayPaths);
        }
        Ok(Overlay {
            lower: PathBuf::from(lower),
            upper: PathBuf::from(upper),
        })
    }

    /// `UPPER/../work`; overlayfs needs an empty directory on the upper's filesystem.
    pub fn workdir(&self) -> PathBuf {
        match self.upper.parent() {
            Some(parent) => parent.join(WORK_DIR),
            None => Path::new("/").join(WORK_DIR),
        }
    }

    /// The upper and work directories, made (mode 0755) when missing, as LXC makes them at
    /// mount time.
    pub fn make_dirs(&self) -> io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true).mode(0o755);
        builder.create(&self.upper)?;
        builder.create(self.workdir())
    }
}

/// `f_type` of a tmpfs (statfs(2)).
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// Mounts a fresh tmpfs (mode 0755) on the directory `dir`, in the caller's mount namespace:
/// `copy -e -t` keeps an ephemeral clone's upper and work directories there.
pub fn mount_tmpfs(dir: &Path) -> io::Result<()> {
    use rustix::mount::{mount, MountFlags};
    mount(
        "tmpfs",
        dir,
        "tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV,
        c"mode=0755",
    )?;
    Ok(())
}

/// Unmounts (lazily: the monitor may let go a moment later) the tmpfs that
/// [`mount_tmpfs`] put on `dir`, if `dir` is a directory (not a symlink) holding the root of
/// a tmpfs other than its parent's filesystem. True when one was unmounted.
pub fn unmount_tmpfs(dir: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(false);
    };
    let parent = dir.parent().unwrap_or(Path::new("/"));
    if !meta.is_dir() || std::fs::metadata(parent)?.dev() == meta.dev() {
        return Ok(false);
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between architectures.
    let tmpfs = rustix::fs::statfs(dir)?.f_type as i64 == TMPFS_MAGIC;
    if !tmpfs {
        return Ok(false);
    }
    rustix::mount::unmount(dir, rustix::mount::UnmountFlags::DETACH)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdir_is_next_to_the_upper() {
        let overlay = Overlay::parse("/srv/base/rootfs:/srv/web/overlay/delta").unwrap();
        assert_eq!(overlay.lower, Path::new("/srv/base/rootfs"));
        assert_eq!(overlay.workdir(), Path::new("/srv/web/overlay/work"));
    }
}
