//! `rlxc shift-rootfs`: chowns a rootfs into the container's id map, so that the container's
//! root owns what host root owned and every other id moves along with it.
//!
//! The rootfs is untrusted: everything is done on directory fds, a symlink is chowned itself
//! and never followed, and a mount point (another filesystem, or a bind mount) is not entered.
//! A file's ids are read relative to the owner of the rootfs's top directory (0 for a rootfs
//! made by host root; another map's root for a rootfs shifted before; 0 again once the top
//! belongs to the map, for files left behind) and looked up in the map; an id that is
//! already one of the map's host ids stays, so a shift that was cut short, or a rootfs whose
//! top alone was chowned by hand, is finished by running it again. Every id is checked before the first chown, so a rootfs with an id the
//! map cannot hold is refused untouched. chown clears setuid/setgid bits and file
//! capabilities: both are put back (capabilities as version 3, owned by the mapped root, the
//! only form the kernel honours inside a user namespace).

use std::collections::HashSet;
use std::ffi::CStr;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rlxc_config::values::{host_id, IdKind, IdMap};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat, XattrFlags};
use rustix::io::Errno;

use crate::create::remove_tree::{open_subdir, read_names};

const FILE_CAPS: &CStr = c"security.capability";
/// `VFS_CAP_REVISION_2` / `_3` of linux/capability.h, in the top byte of `magic_etc`.
const CAP_REVISION_MASK: u32 = 0xFF00_0000;
const CAP_REVISION_2: u32 = 0x0200_0000;
const CAP_REVISION_3: u32 = 0x0300_0000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShiftError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },
    #[error(
        "{path} is owned by {kind} {id}, which lxc.idmap does not cover (read as container id \
         {container_id}, relative to the rootfs's owner {base}); extend the map or chown it first"
    )]
    Unmapped {
        path: PathBuf,
        kind: &'static str,
        id: u32,
        container_id: u32,
        base: u32,
    },
    #[error(
        "{path} is owned by {kind} {id}, below the owner of the rootfs's top directory ({base}): \
         the rootfs does not look like a tree of one owner range"
    )]
    BelowBase {
        path: PathBuf,
        kind: &'static str,
        id: u32,
        base: u32,
    },
}

/// What a shift did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShiftReport {
    /// Entries chowned.
    pub changed: u64,
    /// Everything belonged to the map already: nothing was changed.
    pub already_shifted: bool,
    /// Mount points below the rootfs: not entered, not changed.
    pub mount_points: Vec<PathBuf>,
}

/// Shifts the tree at `root` into `maps`.
pub fn shift_tree(root: &Path, maps: &[IdMap]) -> Result<ShiftReport, ShiftError> {
    let io_at = |path: &Path| {
        let path = path.to_path_buf();
        move |e: Errno| ShiftError::Io {
            path,
            cause: e.into(),
        }
    };
    let top = rfs::open(
        root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_at(root))?;
    let stat = rfs::fstat(&top).map_err(io_at(root))?;
    let top_shifted =
        is_host_id(maps, IdKind::Uid, stat.st_uid) && is_host_id(maps, IdKind::Gid, stat.st_gid);
    let (base_uid, base_gid) = if top_shifted {
        (0, 0)
    } else {
        (stat.st_uid, stat.st_gid)
    };
    let shifter = Shifter {
        maps,
        base_uid,
        base_gid,
    };
    let (top_uid, top_gid) = shifter.target(root, &stat)?;
    let mut report = ShiftReport::default();
    // Pass 1: every id is checked, nothing is changed (mount points are noted here).
    shifter.walk(&top, root, &mut report, &mut |_, path, stat| {
        shifter.target(path, stat).map(|_| ())
    })?;
    // Pass 2: chown, each inode once (a hard link is met once per name).
    let mut seen = HashSet::new();
    shifter.walk(
        &top,
        root,
        &mut ShiftReport::default(),
        &mut |(dir, name), path, stat| {
            if stat.st_nlink > 1 && !seen.insert(stat.st_ino) {
                return Ok(());
            }
            let (uid, gid) = shifter.target(path, stat)?;
            if (uid, gid) != (stat.st_uid, stat.st_gid) {
                chown_entry((dir, name), stat, (uid, gid)).map_err(io_at(path))?;
                report.changed += 1;
            }
            Ok(())
        },
    )?;
    // The top directory last: until it changes, running the shift again finds the same base.
    if (top_uid, top_gid) != (stat.st_uid, stat.st_gid) {
        rfs::fchown(
            &top,
            Some(rfs::Uid::from_raw(top_uid)),
            Some(rfs::Gid::from_raw(top_gid)),
        )
        .map_err(io_at(root))?;
        rfs::fchmod(&top, Mode::from_raw_mode(stat.st_mode & 0o7777)).map_err(io_at(root))?;
        report.changed += 1;
    }
    report.already_shifted = report.changed == 0;
    Ok(report)
}

/// Whether `id` is one of the host ids the map hands out.
fn is_host_id(maps: &[IdMap], kind: IdKind, id: u32) -> bool {
    maps.iter()
        .any(|m| m.kind == kind && id >= m.host_first && id - m.host_first < m.count)
}

type Visit<'a> = dyn FnMut((&OwnedFd, &CStr), &Path, &Stat) -> Result<(), ShiftError> + 'a;

struct Shifter<'a> {
    maps: &'a [IdMap],
    base_uid: u32,
    base_gid: u32,
}

impl Shifter<'_> {
    /// The new `(uid, gid)` of an entry, or why it has none.
    fn target(&self, path: &Path, stat: &Stat) -> Result<(u32, u32), ShiftError> {
        Ok((
            self.shift(path, IdKind::Uid, "uid", stat.st_uid, self.base_uid)?,
            self.shift(path, IdKind::Gid, "gid", stat.st_gid, self.base_gid)?,
        ))
    }

    fn shift(
        &self,
        path: &Path,
        kind: IdKind,
        name: &'static str,
        id: u32,
        base: u32,
    ) -> Result<u32, ShiftError> {
        let in_target = self
            .maps
            .iter()
            .any(|m| m.kind == kind && id >= m.host_first && id - m.host_first < m.count);
        if in_target {
            return Ok(id);
        }
        let container_id = id.checked_sub(base).ok_or(ShiftError::BelowBase {
            path: path.to_path_buf(),
            kind: name,
            id,
            base,
        })?;
        host_id(self.maps, kind, container_id).ok_or(ShiftError::Unmapped {
            path: path.to_path_buf(),
            kind: name,
            id,
            container_id,
            base,
        })
    }

    /// Calls `visit` for every entry below `dir` (not `dir` itself), children of a directory
    /// before the directory, never crossing a mount point (recorded in `report`).
    fn walk(
        &self,
        dir: &OwnedFd,
        path: &Path,
        report: &mut ShiftReport,
        visit: &mut Visit<'_>,
    ) -> Result<(), ShiftError> {
        let io_at = |path: &Path, e: Errno| ShiftError::Io {
            path: path.to_path_buf(),
            cause: e.into(),
        };
        for name in read_names(dir).map_err(|e| io_at(path, e))? {
            let child = path.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
            let stat = match rfs::statat(dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => stat,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(io_at(&child, e)),
            };
            if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
                match open_subdir(dir, &name) {
                    Ok(sub) => self.walk(&sub, &child, report, visit)?,
                    Err(Errno::XDEV) => {
                        report.mount_points.push(child);
                        continue;
                    }
                    Err(e) => return Err(io_at(&child, e)),
                }
            }
            visit((dir, &name), &child, &stat)?;
        }
        Ok(())
    }
}

/// chowns one entry without following it. A regular file is opened (never a device node or
/// FIFO: opening those talks to a driver or blocks) so its mode bits and capabilities, which
/// chown clears, can be put back on the very same inode.
fn chown_entry(
    (dir, name): (&OwnedFd, &CStr),
    stat: &Stat,
    (uid, gid): (u32, u32),
) -> Result<(), Errno> {
    let (uid, gid) = (Some(rfs::Uid::from_raw(uid)), Some(rfs::Gid::from_raw(gid)));
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return rfs::chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW);
    }
    let file = rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let caps = read_file_caps(&file)?;
    rfs::fchown(&file, uid, gid)?;
    if stat.st_mode & 0o6000 != 0 {
        rfs::fchmod(&file, Mode::from_raw_mode(stat.st_mode & 0o7777))?;
    }
    if let (Some(caps), Some(root)) = (caps, uid) {
        rfs::fsetxattr(
            &file,
            FILE_CAPS,
            &caps_owned_by(&caps, root.as_raw()),
            XattrFlags::empty(),
        )?;
    }
    Ok(())
}

fn read_file_caps(file: &OwnedFd) -> Result<Option<Vec<u8>>, Errno> {
    let mut buf = vec![0u8; 64];
    match rfs::fgetxattr(file, FILE_CAPS, &mut buf) {
        Ok(len) => {
            buf.truncate(len);
            Ok(Some(buf))
        }
        Err(Errno::NODATA | Errno::OPNOTSUPP) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A `security.capability` value as version 3 with `rootid`: the capabilities apply to
/// whoever is root of the user namespace whose root is host id `rootid`. Version 2 values
/// (20 bytes) grow a rootid; anything unknown is kept as it was.
fn caps_owned_by(caps: &[u8], rootid: u32) -> Vec<u8> {
    let Some(magic) = caps.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
        return caps.to_vec();
    };
    let magic = u32::from_le_bytes(magic);
    let revision = magic & CAP_REVISION_MASK;
    if !(revision == CAP_REVISION_2 && caps.len() == 20
        || revision == CAP_REVISION_3 && caps.len() == 24)
    {
        return caps.to_vec();
    }
    let mut v3 = ((magic & !CAP_REVISION_MASK) | CAP_REVISION_3)
        .to_le_bytes()
        .to_vec();
    v3.extend_from_slice(&caps[4..20]);
    v3.extend_from_slice(&rootid.to_le_bytes());
    v3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_caps_become_version_3_of_the_mapped_root() {
        let mut v2 = (CAP_REVISION_2 | 1).to_le_bytes().to_vec();
        v2.extend_from_slice(&[0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let v3 = caps_owned_by(&v2, 200000);
        assert_eq!(v3.len(), 24);
        assert_eq!(
            u32::from_le_bytes([v3[0], v3[1], v3[2], v3[3]]),
            CAP_REVISION_3 | 1
        );
        assert_eq!(&v3[4..20], &v2[4..20]);
        assert_eq!(&v3[20..], &200000u32.to_le_bytes());
        // Shifting again only changes the rootid.
        assert_eq!(&caps_owned_by(&v3, 300000)[..20], &v3[..20]);
        assert_eq!(caps_owned_by(b"junk", 1), b"junk");
    }
}
