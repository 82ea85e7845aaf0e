//! Removing a container's directory without trusting what is inside it.
//!
//! Everything is done relative to open directory descriptors: a directory is entered with
//! `openat2(RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH)`, so a symlink is never
//! followed (it is unlinked like a file) and a mount point, a bind mount of the same
//! filesystem included, is never entered: it is left alone and reported. Files and
//! directories marked immutable or append-only (`chattr +i`/`+a`) lose those flags first.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{
    ioctl_getflags, ioctl_setflags, openat, openat2, statat, unlinkat, AtFlags, Dir, FileType,
    IFlags, Mode, OFlags, ResolveFlags, CWD,
};
use rustix::io::Errno;

/// What a removal left behind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removal {
    /// Mount points found below the directory: not entered, not removed.
    pub mount_points: Vec<PathBuf>,
    /// The top-level entry the caller asked to keep, if it existed.
    pub kept: Option<PathBuf>,
    /// True when the directory itself is gone.
    pub removed: bool,
}

/// Removes `dir` and everything below it, except the top-level entry `keep` and mount points.
/// `config` at the top is removed last, so a failure midway leaves a container that is still
/// defined and can be destroyed again.
pub(crate) fn remove_container_dir(dir: &Path, keep: Option<&OsStr>) -> io::Result<Removal> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(io::Error::other(format!(
            "{} has no parent directory",
            dir.display()
        )));
    };
    let parent_fd = openat(CWD, parent, dir_flags(), Mode::empty())?;
    // The container directory itself may be a mount point (a volume per container); it must
    // not be a symlink.
    let dir_fd = openat(
        &parent_fd,
        name,
        dir_flags() | OFlags::NOFOLLOW,
        Mode::empty(),
    )
    .map_err(|errno| with_path(errno, dir))?;
    let mut removal = Removal::default();
    let mut walker = Walker {
        removal: &mut removal,
    };
    walker.empty_dir(&dir_fd, dir, Level::Top { keep })?;
    drop(dir_fd);
    let left_something = removal.kept.is_some() || !removal.mount_points.is_empty();
    if !left_something {
        unlink_dir(&parent_fd, name, dir)?;
        removal.removed = true;
    }
    Ok(removal)
}

/// The container directory itself, or a directory below it.
#[derive(Clone, Copy)]
enum Level<'a> {
    Top { keep: Option<&'a OsStr> },
    Below,
}

struct Walker<'a> {
    removal: &'a mut Removal,
}

impl Walker<'_> {
    fn empty_dir(&mut self, dir: &OwnedFd, path: &Path, level: Level) -> io::Result<()> {
        // An immutable or append-only directory refuses every unlink inside it.
        clear_protection(dir)?;
        let mut names = read_names(dir).map_err(|errno| with_path(errno, path))?;
        let keep = match level {
            Level::Top { keep } => {
                // The container's config goes last.
                names.sort_by_key(|name| name.as_bytes() == b"config");
                keep
            }
            Level::Below => None,
        };
        for name in names {
            let os_name = OsStr::from_bytes(name.as_bytes());
            let child = path.join(os_name);
            if keep == Some(os_name) {
                if statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW).is_ok() {
                    self.removal.kept = Some(child);
                }
                continue;
            }
            let stat = match statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(Errno::NOENT) => continue,
                Err(errno) => return Err(with_path(errno, &child)),
            };
            if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
                self.remove_subdir(dir, &name, &child)?;
            } else {
                self.remove_file(dir, &name, &child, stat.st_mode)?;
            }
        }
        Ok(())
    }

    fn remove_subdir(&mut self, parent: &OwnedFd, name: &CStr, path: &Path) -> io::Result<()> {
        let child = match open_subdir(parent, name) {
            Ok(child) => child,
            Err(Errno::XDEV) => {
                self.removal.mount_points.push(path.to_path_buf());
                return Ok(());
            }
            // Replaced by something else since the stat: not ours to chase.
            Err(Errno::NOENT) => return Ok(()),
            Err(errno) => return Err(with_path(errno, path)),
        };
        let mounts_before = self.removal.mount_points.len();
        self.empty_dir(&child, path, Level::Below)?;
        drop(child);
        if self.removal.mount_points.len() > mounts_before {
            // A mount point below keeps this directory non-empty; it is already reported.
            return Ok(());
        }
        unlink_dir(parent, name, path)
    }

    fn remove_file(
        &mut self,
        dir: &OwnedFd,
        name: &CStr,
        path: &Path,
        mode: u32,
    ) -> io::Result<()> {
        match unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            // A file bind-mounted over: leave it, as a directory mount point.
            Err(Errno::BUSY) => {
                self.removal.mount_points.push(path.to_path_buf());
                Ok(())
            }
            Err(Errno::PERM) if FileType::from_raw_mode(mode) == FileType::RegularFile => {
                // Only regular files: opening a device node would talk to its driver.
                let file = openat(
                    dir,
                    name,
                    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|errno| with_path(errno, path))?;
                clear_protection(&file)?;
                unlinkat(dir, name, AtFlags::empty()).map_err(|errno| with_path(errno, path))
            }
            Err(errno) => Err(with_path(errno, path)),
        }
    }
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Opens `name` below `parent` only if it is a directory on the same mount and not a symlink.
/// `EXDEV` means a mount point.
pub(crate) fn open_subdir(parent: &OwnedFd, name: &CStr) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::NO_XDEV | ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH;
    match openat2(
        parent,
        name,
        dir_flags() | OFlags::NOFOLLOW,
        Mode::empty(),
        resolve,
    ) {
        Err(Errno::NOSYS) => open_subdir_without_openat2(parent, name),
        other => other,
    }
}

/// Kernels before 5.6: `O_NOFOLLOW`, then the mount ids of parent and child compared
/// (`statx` with `STATX_MNT_ID`, 5.8; older kernels fall back to the device number, which
/// misses bind mounts of the same filesystem).
fn open_subdir_without_openat2(parent: &OwnedFd, name: &CStr) -> Result<OwnedFd, Errno> {
    use rustix::fs::{statx, StatxFlags};
    let child = openat(parent, name, dir_flags() | OFlags::NOFOLLOW, Mode::empty())?;
    let mount_of = |fd: &OwnedFd| {
        statx(fd, c"", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID)
            .map(|s| (s.stx_mnt_id, s.stx_dev_major, s.stx_dev_minor))
    };
    if mount_of(parent)? != mount_of(&child)? {
        return Err(Errno::XDEV);
    }
    Ok(child)
}

pub(crate) fn read_names(dir: &OwnedFd) -> Result<Vec<CString>, Errno> {
    let mut reader = Dir::read_from(dir)?;
    let mut names = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Drops the immutable and append-only flags, when set. Filesystems without inode flags
/// answer ENOTTY or EOPNOTSUPP: nothing to clear there.
fn clear_protection(fd: &impl AsFd) -> io::Result<()> {
    let flags = match ioctl_getflags(fd) {
        Ok(flags) => flags,
        Err(Errno::NOTTY | Errno::OPNOTSUPP | Errno::INVAL) => return Ok(()),
        Err(errno) => return Err(errno.into()),
    };
    let protection = IFlags::IMMUTABLE | IFlags::APPEND;
    if flags.intersects(protection) {
        ioctl_setflags(fd, flags - protection)?;
    }
    Ok(())
}

fn unlink_dir(parent: &impl AsFd, name: impl rustix::path::Arg, path: &Path) -> io::Result<()> {
    match unlinkat(parent, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(errno) => Err(with_path(errno, path)),
    }
}

fn with_path(errno: Errno, path: &Path) -> io::Error {
    let error = io::Error::from(errno);
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}
