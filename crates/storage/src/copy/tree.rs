//! A full copy of a directory tree (a `dir` rootfs) with syscalls only: owners, modes,
//! times, every xattr (`security.capability`, the `system.posix_acl_*` ACLs), device nodes,
//! FIFOs, sockets (recreated, as `rsync --specials` does), hard links, symlinks as they are,
//! and holes (`SEEK_DATA`/`SEEK_HOLE`; a reflink through `FICLONE` where the filesystem has
//! them, `copy_file_range` else).
//!
//! The source is walked through directory descriptors, one name at a time with `O_NOFOLLOW`
//! (and `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV)` for directories):
//! a symlink in the source is copied, never followed, so nothing outside the tree is read;
//! a mount point is copied as an empty directory and reported. The destination is made the
//! same way below a directory this copy created.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use rustix::fs::{
    chmodat, chownat, copy_file_range, fchmod, fchown, fgetxattr, flistxattr, fsetxattr, ftruncate,
    futimens, ioctl_ficlone, lgetxattr, linkat, llistxattr, lsetxattr, mkdirat, mknodat, openat,
    openat2, readlinkat, seek, statat, symlinkat, utimensat, AtFlags, Dir, FileType, Gid, Mode,
    OFlags, ResolveFlags, SeekFrom, Stat, Timespec, Timestamps, Uid, XattrFlags, CWD,
};
use rustix::io::Errno;

/// How deep directories may nest: two descriptors stay open per level (the default limit of
/// 1,024 open files), and no real rootfs comes near.
const MAX_DEPTH: usize = 400;
/// One `copy_file_range` call at most (it may copy less).
const CHUNK: usize = 1 << 30;

/// Why a copy failed; `path` is relative to the source tree.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("{path}: directories nest deeper than {MAX_DEPTH} levels")]
    TooDeep { path: PathBuf },
    #[error("interrupted")]
    Interrupted,
}

/// What a copy did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TreeReport {
    pub entries: u64,
    /// Bytes of data copied (holes not counted).
    pub bytes: u64,
    /// Files shared with the source through a reflink (`FICLONE`).
    pub reflinked: u64,
    /// Mount points below the source: copied as empty directories, not entered.
    pub mount_points: Vec<PathBuf>,
}

/// Copies the tree at `src` to `dst`, which must not exist (its parent must). `interrupted`
/// is asked between entries; when it says yes the copy stops with [`TreeError::Interrupted`]
/// and leaves what it made for the caller to remove.
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    interrupted: &dyn Fn() -> bool,
) -> Result<TreeReport, TreeError> {
    let at_top = |step| {
        move |errno: Errno| TreeError::Io {
            step,
            path: PathBuf::from("."),
            cause: errno.into(),
        }
    };
    // The top itself is the config's path: followed if it is a symlink, as a start does.
    let src_fd = openat(CWD, src, dir_flags(), Mode::empty()).map_err(at_top("opening"))?;
    let top = statat(&src_fd, c"", AtFlags::EMPTY_PATH).map_err(at_top("reading"))?;
    mkdirat(CWD, dst, Mode::from_raw_mode(0o700)).map_err(at_top("making the copy of"))?;
    let dst_fd = openat(CWD, dst, dir_flags() | OFlags::NOFOLLOW, Mode::empty())
        .map_err(at_top("opening the copy of"))?;
    let mut copy = Copier {
        interrupted,
        dst_root: dst_fd.try_clone().map_err(|cause| TreeError::Io {
            step: "opening the copy of",
            path: PathBuf::from("."),
            cause,
        })?,
        links: HashMap::new(),
        report: TreeReport::default(),
    };
    copy.dir_contents(&src_fd, &dst_fd, Path::new(""), 0)?;
    set_metadata(Node::Fd(&dst_fd), &top, Node::Fd(&src_fd)).map_err(|cause| TreeError::Io {
        step: "copying the owner, mode and xattrs of",
        path: PathBuf::from("."),
        cause,
    })?;
    Ok(copy.report)
}

/// Copies the regular file `rel` below `src_root` to the same place below `dst_root` (a
/// directory this copy owns; missing parents are made), with its owner, mode, xattrs and
/// times. `rel` is resolved below `src_root` without following any symlink; anything but a
/// regular file is refused.
pub fn copy_file_below(src_root: &Path, rel: &Path, dst_root: &Path) -> Result<(), TreeError> {
    let failed = |step: &'static str| {
        move |cause: io::Error| TreeError::Io {
            step,
            path: rel.to_path_buf(),
            cause,
        }
    };
    let root = openat(CWD, src_root, dir_flags(), Mode::empty())
        .map_err(|errno| failed("opening the directory of")(errno.into()))?;
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let src = openat2(
        &root,
        rel,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
        resolve,
    )
    .map_err(|errno| failed("opening")(errno.into()))?;
    let stat = statat(&src, c"", AtFlags::EMPTY_PATH).map_err(|e| failed("reading")(e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(failed("copying")(io::Error::other("not a regular file")));
    }
    let dst = dst_root.join(rel);
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(failed("making the directory for"))?;
    }
    let dst_file = openat(
        CWD,
        &dst,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|errno| failed("making the copy of")(errno.into()))?;
    let size = u64::try_from(stat.st_size).unwrap_or(0);
    copy_data(&src, &dst_file, size).map_err(failed("copying"))?;
    set_metadata(Node::Fd(&dst_file), &stat, Node::Fd(&src))
        .map_err(failed("copying the owner, mode and xattrs of"))
}

/// One inode, reached by a descriptor of it or by a name in a directory (devices, FIFOs and
/// symlinks, which are not opened).
#[derive(Clone, Copy)]
enum Node<'a> {
    Fd(&'a OwnedFd),
    At(&'a OwnedFd, &'a CStr),
}

impl Node<'_> {
    /// A path the `l*xattr` calls can use: the directory through its descriptor's magic link
    /// (followed, it is not the last component), the name itself not followed.
    fn proc_path(dir: &OwnedFd, name: &CStr) -> OsString {
        let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
        path.extend_from_slice(name.to_bytes());
        OsString::from_vec(path)
    }
}

struct Copier<'a> {
    interrupted: &'a dyn Fn() -> bool,
    dst_root: OwnedFd,
    /// Inodes with more than one link, by (device, inode): the path of their first copy,
    /// relative to the destination's root (all directories this copy made).
    links: HashMap<(u64, u64), PathBuf>,
    report: TreeReport,
}

impl Copier<'_> {
    fn dir_contents(
        &mut self,
        src: &OwnedFd,
        dst: &OwnedFd,
        rel: &Path,
        depth: usize,
    ) -> Result<(), TreeError> {
        if depth > MAX_DEPTH {
            return Err(TreeError::TooDeep {
                path: rel.to_path_buf(),
            });
        }
        let names = read_names(src).map_err(|errno| TreeError::Io {
            step: "listing",
            path: rel.to_path_buf(),
            cause: errno.into(),
        })?;
        for name in names {
            if (self.interrupted)() {
                return Err(TreeError::Interrupted);
            }
            let path = rel.join(OsStr::from_bytes(name.to_bytes()));
            self.entry(src, dst, &name, &path, depth)?;
            self.report.entries += 1;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: &OwnedFd,
        dst: &OwnedFd,
        name: &CStr,
        path: &Path,
        depth: usize,
    ) -> Result<(), TreeError> {
        let failed = |step: &'static str| {
            move |cause: io::Error| TreeError::Io {
                step,
                path: path.to_path_buf(),
                cause,
            }
        };
        let stat = statat(src, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|errno| failed("reading")(errno.into()))?;
        let file_type = FileType::from_raw_mode(stat.st_mode);
        if file_type != FileType::Directory && stat.st_nlink > 1 {
            let key = (stat.st_dev, stat.st_ino);
            if let Some(first) = self.links.get(&key) {
                return linkat(&self.dst_root, first, dst, name, AtFlags::empty())
                    .map_err(|errno| failed("linking")(errno.into()));
            }
            self.links.insert(key, path.to_path_buf());
        }
        match file_type {
            FileType::Directory => self.directory(src, dst, name, path, &stat, depth),
            FileType::RegularFile => self.file(src, dst, name, &stat).map_err(failed("copying")),
            FileType::Symlink => {
                let target = readlinkat(src, name, Vec::new())
                    .map_err(|errno| failed("reading the symlink")(errno.into()))?;
                symlinkat(target.as_c_str(), dst, name)
                    .map_err(|errno| failed("making the symlink")(errno.into()))?;
                set_metadata(Node::At(dst, name), &stat, Node::At(src, name))
                    .map_err(failed("copying the owner and xattrs of"))
            }
            // Devices, FIFOs and sockets: made anew (a socket inode without a listener, as
            // rsync's --specials makes it).
            special => {
                mknodat(dst, name, special, Mode::from_raw_mode(0o600), stat.st_rdev)
                    .map_err(|errno| failed("making the node")(errno.into()))?;
                set_metadata(Node::At(dst, name), &stat, Node::At(src, name))
                    .map_err(failed("copying the owner, mode and xattrs of"))
            }
        }
    }

    fn directory(
        &mut self,
        src: &OwnedFd,
        dst: &OwnedFd,
        name: &CStr,
        path: &Path,
        stat: &Stat,
        depth: usize,
    ) -> Result<(), TreeError> {
        let failed = |step: &'static str| {
            move |errno: Errno| TreeError::Io {
                step,
                path: path.to_path_buf(),
                cause: errno.into(),
            }
        };
        // Writable for the copy; the mode comes at the end, with the times.
        mkdirat(dst, name, Mode::from_raw_mode(0o700)).map_err(failed("making"))?;
        let dst_child = openat(dst, name, dir_flags() | OFlags::NOFOLLOW, Mode::empty())
            .map_err(failed("opening the copy of"))?;
        match open_subdir(src, name) {
            Ok(src_child) => {
                self.dir_contents(&src_child, &dst_child, path, depth + 1)?;
                set_metadata(Node::Fd(&dst_child), stat, Node::Fd(&src_child))
            }
            // A mount point: its own directory's metadata, none of what is mounted there.
            Err(Errno::XDEV) => {
                self.report.mount_points.push(path.to_path_buf());
                set_metadata(Node::Fd(&dst_child), stat, Node::At(src, name))
            }
            Err(errno) => return Err(failed("opening")(errno)),
        }
        .map_err(|cause| TreeError::Io {
            step: "copying the owner, mode and xattrs of",
            path: path.to_path_buf(),
            cause,
        })
    }

    fn file(&mut self, src: &OwnedFd, dst: &OwnedFd, name: &CStr, stat: &Stat) -> io::Result<()> {
        let src_file = openat(
            src,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let dst_file = openat(
            dst,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        let size = u64::try_from(stat.st_size).unwrap_or(0);
        match copy_data(&src_file, &dst_file, size)? {
            Data::Reflinked => self.report.reflinked += 1,
            Data::Copied(bytes) => self.report.bytes += bytes,
        }
        set_metadata(Node::Fd(&dst_file), stat, Node::Fd(&src_file))
    }
}

/// Owner, then mode (a chown clears the set-id bits), then xattrs (a chown drops
/// `security.capability`; an ACL sets the group bits), then times.
fn set_metadata(dst: Node<'_>, stat: &Stat, src: Node<'_>) -> io::Result<()> {
    let uid = Some(Uid::from_raw(stat.st_uid));
    let gid = Some(Gid::from_raw(stat.st_gid));
    let mode = Mode::from_raw_mode(stat.st_mode & 0o7777);
    let is_symlink = FileType::from_raw_mode(stat.st_mode) == FileType::Symlink;
    match dst {
        Node::Fd(fd) => {
            fchown(fd, uid, gid)?;
            fchmod(fd, mode)?;
        }
        Node::At(dir, name) => {
            chownat(dir, name, uid, gid, AtFlags::SYMLINK_NOFOLLOW)?;
            // Symlinks have no mode of their own; the node was made by this copy, in
            // a directory it made, so the name is that node.
            if !is_symlink {
                chmodat(dir, name, mode, AtFlags::empty())?;
            }
        }
    }
    copy_xattrs(src, dst)?;
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: stat.st_atime,
            tv_nsec: stat.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: stat.st_mtime,
            tv_nsec: stat.st_mtime_nsec as _,
        },
    };
    match dst {
        Node::Fd(fd) => futimens(fd, &times)?,
        Node::At(dir, name) => utimensat(dir, name, &times, AtFlags::SYMLINK_NOFOLLOW)?,
    }
    Ok(())
}

enum Data {
    Reflinked,
    Copied(u64),
}

/// The bytes of a regular file, holes kept: a reflink where the filesystem shares extents,
/// else each data segment (`SEEK_DATA` to `SEEK_HOLE`) by `copy_file_range`, which falls back
/// to reads and writes across filesystems that refuse it.
fn copy_data(src: &OwnedFd, dst: &OwnedFd, size: u64) -> io::Result<Data> {
    if size == 0 {
        return Ok(Data::Copied(0));
    }
    if ioctl_ficlone(dst, src).is_ok() {
        return Ok(Data::Reflinked);
    }
    let mut copied = 0;
    let mut offset = 0;
    while offset < size {
        let data = match seek(src, SeekFrom::Data(offset)) {
            Ok(data) => data,
            // Nothing but a hole up to the end.
            Err(Errno::NXIO) => break,
            // A filesystem without SEEK_DATA: all of it is data.
            Err(Errno::INVAL | Errno::OPNOTSUPP) => offset,
            Err(errno) => return Err(errno.into()),
        };
        let hole = match seek(src, SeekFrom::Hole(data)) {
            Ok(hole) => hole.min(size),
            Err(Errno::NXIO) => break,
            Err(Errno::INVAL | Errno::OPNOTSUPP) => size,
            Err(errno) => return Err(errno.into()),
        };
        if hole <= data {
            break;
        }
        copied += copy_range(src, dst, data, hole - data)?;
        offset = hole;
    }
    // A hole at the end has no data segment to make the file that long.
    ftruncate(dst, size)?;
    Ok(Data::Copied(copied))
}

fn copy_range(src: &OwnedFd, dst: &OwnedFd, start: u64, length: u64) -> io::Result<u64> {
    let (mut from, mut to) = (start, start);
    let end = start + length;
    while from < end {
        let want = usize::try_from(end - from).unwrap_or(CHUNK).min(CHUNK);
        match copy_file_range(src, Some(&mut from), dst, Some(&mut to), want) {
            // The file got shorter under us: what is there is copied.
            Ok(0) => break,
            Ok(_) => {}
            Err(Errno::XDEV | Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP | Errno::PERM) => {
                return read_write(src, dst, from, end).map(|rest| from - start + rest)
            }
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(from - start)
}

fn read_write(src: &OwnedFd, dst: &OwnedFd, mut from: u64, end: u64) -> io::Result<u64> {
    let (src, dst) = (File::from(src.try_clone()?), File::from(dst.try_clone()?));
    let start = from;
    let mut buffer = vec![0; 1 << 20];
    while from < end {
        let want = usize::try_from(end - from)
            .unwrap_or(buffer.len())
            .min(buffer.len());
        let read = src.read_at(&mut buffer[..want], from)?;
        if read == 0 {
            break;
        }
        dst.write_all_at(&buffer[..read], from)?;
        from += read as u64;
    }
    Ok(from - start)
}

/// Every xattr of `src` set on `dst`. A filesystem without xattrs has none to copy.
fn copy_xattrs(src: Node<'_>, dst: Node<'_>) -> io::Result<()> {
    let names = match list_xattrs(src) {
        Ok(names) => names,
        Err(Errno::OPNOTSUPP) => return Ok(()),
        Err(errno) => return Err(errno.into()),
    };
    for name in names
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
    {
        let name = OsStr::from_bytes(name);
        let value = match get_xattr(src, name) {
            Ok(value) => value,
            // Removed since the list was read.
            Err(Errno::NODATA) => continue,
            Err(errno) => return Err(errno.into()),
        };
        let set = match dst {
            Node::Fd(fd) => fsetxattr(fd, name, &value, XattrFlags::empty()),
            Node::At(dir, file) => lsetxattr(
                Node::proc_path(dir, file),
                name,
                &value,
                XattrFlags::empty(),
            ),
        };
        set.map_err(|errno| {
            let error = io::Error::from(errno);
            io::Error::new(
                error.kind(),
                format!("xattr {}: {error}", name.to_string_lossy()),
            )
        })?;
    }
    Ok(())
}

/// Reads a list or a value whose size may change between the size query and the read.
fn sized(mut read: impl FnMut(&mut [u8]) -> Result<usize, Errno>) -> Result<Vec<u8>, Errno> {
    let mut buffer = vec![0; 256];
    loop {
        match read(&mut buffer) {
            Ok(length) => {
                buffer.truncate(length);
                return Ok(buffer);
            }
            Err(Errno::RANGE) if buffer.len() < 1 << 24 => {
                let grown = buffer.len() * 4;
                buffer.resize(grown, 0);
            }
            Err(errno) => return Err(errno),
        }
    }
}

fn list_xattrs(node: Node<'_>) -> Result<Vec<u8>, Errno> {
    sized(|buffer| match node {
        Node::Fd(fd) => flistxattr(fd, buffer),
        Node::At(dir, name) => llistxattr(Node::proc_path(dir, name), buffer),
    })
}

fn get_xattr(node: Node<'_>, key: &OsStr) -> Result<Vec<u8>, Errno> {
    sized(|buffer| match node {
        Node::Fd(fd) => fgetxattr(fd, key, buffer),
        Node::At(dir, name) => lgetxattr(Node::proc_path(dir, name), key, buffer),
    })
}

fn dir_flags() -> OFlags {
    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC
}

/// Opens the directory `name` below `parent`: never through a symlink, never into another
/// mount (`EXDEV`), a bind mount of the same filesystem included.
fn open_subdir(parent: &OwnedFd, name: &CStr) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::NO_XDEV | ResolveFlags::NO_SYMLINKS | ResolveFlags::BENEATH;
    match openat2(
        parent,
        name,
        dir_flags() | OFlags::NOFOLLOW,
        Mode::empty(),
        resolve,
    ) {
        // Before 5.6: the device number tells a mount of another filesystem only.
        Err(Errno::NOSYS) => {
            let child = openat(parent, name, dir_flags() | OFlags::NOFOLLOW, Mode::empty())?;
            let device =
                |fd: BorrowedFd<'_>| statat(fd, c"", AtFlags::EMPTY_PATH).map(|s| s.st_dev);
            if device(parent.as_fd())? != device(child.as_fd())? {
                return Err(Errno::XDEV);
            }
            Ok(child)
        }
        other => other,
    }
}

fn read_names(dir: &OwnedFd) -> Result<Vec<CString>, Errno> {
    let mut reader = Dir::read_from(dir)?;
    let mut names = Vec::new();
    while let Some(entry) = reader.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    }
    // Sorted: a hard link's first copy is the same on every run.
    names.sort();
    Ok(names)
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
