//! `btrfs:PATH`: the rootfs is a subvolume, made, snapshotted and removed through the
//! kernel's ioctls (no `btrfs` binary). At start it is a directory like any other.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use rustix::fs::{openat, statat, AtFlags, FileType, Mode, OFlags, CWD};

use super::sys;

/// `BTRFS_SUPER_MAGIC`, the `f_type` of statfs(2).
const BTRFS_SUPER_MAGIC: i64 = 0x9123_683E;
/// `BTRFS_FIRST_FREE_OBJECTID`: the inode number of every subvolume's root directory.
const SUBVOLUME_ROOT_INODE: u64 = 256;

/// Whether `path` is on a btrfs filesystem.
pub fn is_btrfs(path: &Path) -> io::Result<bool> {
    let stat = rustix::fs::statfs(path)?;
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between architectures.
    Ok(stat.f_type as i64 == BTRFS_SUPER_MAGIC)
}

/// Whether `path` (not followed if a symlink) is the root of a btrfs subvolume.
pub fn is_subvolume(path: &Path) -> io::Result<bool> {
    let (parent, name) = split(path)?;
    let parent = open_dir(CWD, parent)?;
    is_subvolume_at(parent.as_fd(), name)
}

fn is_subvolume_at(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<bool> {
    let stat = statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::Directory
        || stat.st_ino != SUBVOLUME_ROOT_INODE
    {
        return Ok(false);
    }
    let dir = openat(parent, name, dir_flags(), Mode::empty())?;
    let fs = rustix::fs::fstatfs(&dir)?;
    #[allow(clippy::unnecessary_cast)]
    Ok(fs.f_type as i64 == BTRFS_SUPER_MAGIC)
}

/// A new, empty subvolume at `path` (its parent must exist, on btrfs).
pub fn create_subvolume(path: &Path) -> io::Result<()> {
    let (parent, name) = split(path)?;
    let parent = open_dir(CWD, parent)?;
    sys::subvol_create(parent.as_fd(), name)
}

/// `dst` becomes a copy-on-write snapshot of the subvolume `src` (`BTRFS_IOC_SNAP_CREATE_V2`),
/// read-only when asked. Both must be on the same btrfs filesystem; `dst` must not exist.
pub fn snapshot(src: &Path, dst: &Path, read_only: bool) -> io::Result<()> {
    let source = open_dir(CWD, src)?;
    let (parent, name) = split(dst)?;
    let parent = open_dir(CWD, parent)?;
    let flags = if read_only {
        sys::BTRFS_SUBVOL_RDONLY
    } else {
        0
    };
    sys::snap_create(parent.as_fd(), source.as_fd(), name, flags)
}

/// Removes the subvolume `path`, contents and all (`BTRFS_IOC_SNAP_DESTROY`; root, or a
/// filesystem mounted with `user_subvol_rm_allowed`). The last component is never followed:
/// a symlink, or a directory that is not a subvolume's root, is refused with `EINVAL`.
pub fn destroy_subvolume(path: &Path) -> io::Result<()> {
    let (parent, name) = split(path)?;
    let parent = open_dir(CWD, parent)?;
    destroy_subvolume_at(parent.as_fd(), name)
}

/// [`destroy_subvolume`] of `name` in the open directory `parent`.
pub fn destroy_subvolume_at(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    if !is_subvolume_at(parent, name)? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a btrfs subvolume"),
        ));
    }
    sys::snap_destroy(parent, name)
}

fn split(path: &Path) -> io::Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            Ok((parent, name))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no directory entry", path.display()),
        )),
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW
}

fn open_dir<Fd: AsFd>(at: Fd, path: &Path) -> io::Result<OwnedFd> {
    Ok(openat(at, path, dir_flags(), Mode::empty())?)
}
