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
//!
//! Files, symlinks and nodes are copied by worker threads ([`crate::workers`]: creating an
//! inode is most of a copy's time, and creates run in parallel), each job naming its entry by
//! the descriptors of its source and destination directories. The walker keeps what must be
//! in order: the directories, hard links, and the first name of an inode with more than one
//! link (copied at once, so that its other names can be linked to it). A directory's owner, mode, xattrs (its default
//! ACL would be inherited by files made in it) and times are set once all is copied, deepest
//! first, from what was read of its source during the walk.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::data::{copy_data, Data, Reflinks};
use crate::workers::{self, Failure, Job, Workers};

use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fgetxattr, flistxattr, fsetxattr, futimens, lgetxattr,
    linkat, llistxattr, lsetxattr, mkdirat, mknodat, openat, openat2, readlinkat, statat,
    symlinkat, utimensat, AtFlags, Dir, FileType, Gid, Mode, OFlags, ResolveFlags, Stat, Timespec,
    Timestamps, Uid, XattrFlags, CWD,
};
use rustix::io::Errno;

/// How deep directories may nest: two descriptors stay open per level (the default limit of
/// 1,024 open files), and no real rootfs comes near.
const MAX_DEPTH: usize = 400;
/// Files queued per worker at most. A job holds its two directories open, and every level
/// of the walk two more: with four workers, 256 descriptors at most for the queues.
const QUEUE: usize = 32;

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

fn at_top(step: &'static str) -> impl Fn(Errno) -> TreeError {
    move |errno: Errno| TreeError::Io {
        step,
        path: PathBuf::from("."),
        cause: errno.into(),
    }
}

/// Copies the tree at `src` to `dst`, which must not exist (its parent must). `interrupted`
/// is asked between entries; when it says yes the copy stops with [`TreeError::Interrupted`]
/// and leaves what it made for the caller to remove.
pub fn copy_tree(
    src: &Path,
    dst: &Path,
    interrupted: &dyn Fn() -> bool,
) -> Result<TreeReport, TreeError> {
    mkdirat(CWD, dst, Mode::from_raw_mode(0o700)).map_err(at_top("making the copy of"))?;
    let dst_fd = openat(CWD, dst, dir_flags() | OFlags::NOFOLLOW, Mode::empty())
        .map_err(at_top("opening the copy of"))?;
    copy_to(src, dst_fd, interrupted)
}

/// [`copy_tree`] into `dst`, an empty directory that exists already (the root of a new
/// filesystem, a new subvolume; also a detached mount's descriptor), which takes the owner,
/// mode and xattrs of `src`'s top.
pub fn copy_tree_into(
    src: &Path,
    dst: BorrowedFd<'_>,
    interrupted: &dyn Fn() -> bool,
) -> Result<TreeReport, TreeError> {
    // Opened anew: a mount's descriptor is an O_PATH one, which cannot be read.
    let dst_fd =
        openat(dst, c".", dir_flags(), Mode::empty()).map_err(at_top("opening the copy of"))?;
    copy_to(src, dst_fd, interrupted)
}

fn copy_to(
    src: &Path,
    dst_fd: OwnedFd,
    interrupted: &dyn Fn() -> bool,
) -> Result<TreeReport, TreeError> {
    // The top itself is the config's path: followed if it is a symlink, as a start does.
    let src_fd = openat(CWD, src, dir_flags(), Mode::empty()).map_err(at_top("opening"))?;
    let top = statat(&src_fd, c"", AtFlags::EMPTY_PATH).map_err(at_top("reading"))?;
    let counts = Arc::new(Counts::default());
    let files = Workers::start(workers::default_count(), QUEUE, "rlxc-copy", || {
        let counts = Arc::clone(&counts);
        Ok(move |job: &NodeCopy| job.run(&counts))
    })
    .map_err(|cause| TreeError::Io {
        step: "starting the threads to copy",
        path: PathBuf::from("."),
        cause,
    })?;
    let mut copy = Copier {
        interrupted,
        dst_root: dst_fd,
        links: HashMap::new(),
        report: TreeReport::default(),
        files,
        counts,
        dirs: Vec::new(),
        next_dir: 0,
    };
    let src_fd = Arc::new(src_fd);
    let dst_fd = Arc::new(copy.dst_root.try_clone().map_err(|cause| TreeError::Io {
        step: "opening the copy of",
        path: PathBuf::from("."),
        cause,
    })?);
    copy.dir_contents(&src_fd, &dst_fd, Path::new(""), 0)?;
    let top_xattrs = read_xattrs(Node::Fd(&src_fd)).map_err(|cause| TreeError::Io {
        step: "reading the xattrs of",
        path: PathBuf::from("."),
        cause,
    })?;
    copy.dirs.push(DirMeta {
        path: PathBuf::new(),
        stat: top,
        xattrs: top_xattrs,
    });
    copy.finish()
}

/// What the copies of files did, on any thread.
#[derive(Default)]
struct Counts {
    bytes: AtomicU64,
    reflinked: AtomicU64,
    reflinks: Reflinks,
}

/// A file, symlink or node for a worker: its name in the source and destination
/// directories.
struct NodeCopy {
    src_dir: Arc<OwnedFd>,
    dst_dir: Arc<OwnedFd>,
    name: CString,
    /// Relative to the source tree, for errors.
    path: PathBuf,
    stat: Stat,
    /// The directory's number in the walk: its files on one worker.
    dir: u64,
}

impl Job for NodeCopy {
    fn key(&self) -> u64 {
        self.dir
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl NodeCopy {
    fn run(&self, counts: &Counts) -> io::Result<()> {
        copy_node(&self.src_dir, &self.dst_dir, &self.name, &self.stat, counts)
    }
}

/// A directory whose owner, mode, xattrs and times are set at the end.
struct DirMeta {
    /// Relative to the roots; empty for the top.
    path: PathBuf,
    stat: Stat,
    xattrs: Xattrs,
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
    copy_data(&src, &dst_file, size, true, &Reflinks::default()).map_err(failed("copying"))?;
    let xattrs = read_xattrs(Node::Fd(&src)).map_err(failed("reading the xattrs of"))?;
    set_metadata(Node::Fd(&dst_file), &stat, &xattrs)
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
    files: Workers<NodeCopy>,
    counts: Arc<Counts>,
    /// Directories walked, deepest first within each branch (a directory after its
    /// contents), for [`Copier::finish`].
    dirs: Vec<DirMeta>,
    next_dir: u64,
}

impl Copier<'_> {
    /// Waits for the workers, then sets the directories' metadata, deepest first: a
    /// directory's times after everything made in it.
    fn finish(mut self) -> Result<TreeReport, TreeError> {
        let failed = |(path, cause): Failure| TreeError::Io {
            step: "copying",
            path,
            cause,
        };
        self.files.wait_idle().map_err(failed)?;
        for dir in &self.dirs {
            if (self.interrupted)() {
                return Err(TreeError::Interrupted);
            }
            let failed = |step: &'static str| {
                move |cause: io::Error| TreeError::Io {
                    step,
                    path: dir.path.clone(),
                    cause,
                }
            };
            let opened;
            let fd = match dir.path.as_os_str().is_empty() {
                true => &self.dst_root,
                false => {
                    opened = open_below(&self.dst_root, &dir.path)
                        .map_err(|errno| failed("opening the copy of")(errno.into()))?;
                    &opened
                }
            };
            set_metadata(Node::Fd(fd), &dir.stat, &dir.xattrs)
                .map_err(failed("copying the owner, mode and xattrs of"))?;
        }
        self.files.finish().map_err(failed)?;
        self.report.bytes = self.counts.bytes.load(Ordering::Relaxed);
        self.report.reflinked = self.counts.reflinked.load(Ordering::Relaxed);
        Ok(self.report)
    }

    fn dir_contents(
        &mut self,
        src: &Arc<OwnedFd>,
        dst: &Arc<OwnedFd>,
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
        let dir = self.next_dir;
        self.next_dir += 1;
        for name in names {
            if (self.interrupted)() {
                return Err(TreeError::Interrupted);
            }
            let path = rel.join(OsStr::from_bytes(name.to_bytes()));
            self.entry(src, dst, &name, &path, depth, dir)?;
            self.report.entries += 1;
        }
        Ok(())
    }

    fn entry(
        &mut self,
        src: &Arc<OwnedFd>,
        dst: &Arc<OwnedFd>,
        name: &CStr,
        path: &Path,
        depth: usize,
        dir: u64,
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
            // The first name of an inode with more links is copied now: the others link to it.
            _ if stat.st_nlink > 1 || !self.files.active() => {
                copy_node(src, dst, name, &stat, &self.counts).map_err(failed("copying"))
            }
            _ => {
                let job = NodeCopy {
                    src_dir: Arc::clone(src),
                    dst_dir: Arc::clone(dst),
                    name: name.to_owned(),
                    path: path.to_path_buf(),
                    stat,
                    dir,
                };
                self.files
                    .submit(job)
                    .map_err(|(path, cause)| TreeError::Io {
                        step: "copying",
                        path,
                        cause,
                    })
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
        let xattrs = match open_subdir(src, name) {
            Ok(src_child) => {
                let dst_child = openat(dst, name, dir_flags() | OFlags::NOFOLLOW, Mode::empty())
                    .map_err(failed("opening the copy of"))?;
                let src_child = Arc::new(src_child);
                self.dir_contents(&src_child, &Arc::new(dst_child), path, depth + 1)?;
                read_xattrs(Node::Fd(&src_child))
            }
            // A mount point: its own directory's metadata, none of what is mounted there.
            Err(Errno::XDEV) => {
                self.report.mount_points.push(path.to_path_buf());
                read_xattrs(Node::At(src, name))
            }
            Err(errno) => return Err(failed("opening")(errno)),
        }
        .map_err(|cause| TreeError::Io {
            step: "reading the xattrs of",
            path: path.to_path_buf(),
            cause,
        })?;
        self.dirs.push(DirMeta {
            path: path.to_path_buf(),
            stat: *stat,
            xattrs,
        });
        Ok(())
    }
}

/// Copies `name` of `src`, anything but a directory, to `dst`, with its metadata.
fn copy_node(
    src: &OwnedFd,
    dst: &OwnedFd,
    name: &CStr,
    stat: &Stat,
    counts: &Counts,
) -> io::Result<()> {
    let step = |step: &'static str| {
        move |error: io::Error| io::Error::new(error.kind(), format!("{step}: {error}"))
    };
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => {
            match copy_file(src, dst, name, stat, &counts.reflinks)? {
                Data::Reflinked => counts.reflinked.fetch_add(1, Ordering::Relaxed),
                Data::Copied(bytes) => counts.bytes.fetch_add(bytes, Ordering::Relaxed),
            };
            Ok(())
        }
        FileType::Symlink => {
            let target = readlinkat(src, name, Vec::new())
                .map_err(|errno| step("reading the symlink")(errno.into()))?;
            symlinkat(target.as_c_str(), dst, name)
                .map_err(|errno| step("making the symlink")(errno.into()))?;
            copy_metadata(Node::At(dst, name), stat, Node::At(src, name))
                .map_err(step("copying the owner and xattrs"))
        }
        // Devices, FIFOs and sockets: made anew (a socket inode without a listener, as
        // rsync's --specials makes it).
        special => {
            mknodat(dst, name, special, Mode::from_raw_mode(0o600), stat.st_rdev)
                .map_err(|errno| step("making the node")(errno.into()))?;
            copy_metadata(Node::At(dst, name), stat, Node::At(src, name))
                .map_err(step("copying the owner, mode and xattrs"))
        }
    }
}

/// Copies the regular file `name` of `src` to `dst`, with its metadata.
fn copy_file(
    src: &OwnedFd,
    dst: &OwnedFd,
    name: &CStr,
    stat: &Stat,
    reflinks: &Reflinks,
) -> io::Result<Data> {
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
    // Fewer 512-byte blocks than bytes: there may be holes to keep.
    let sparse = u64::try_from(stat.st_blocks)
        .unwrap_or(0)
        .saturating_mul(512)
        < size;
    let data = copy_data(&src_file, &dst_file, size, sparse, reflinks)?;
    copy_metadata(Node::Fd(&dst_file), stat, Node::Fd(&src_file))?;
    Ok(data)
}

/// [`set_metadata`] with the xattrs `src` has.
fn copy_metadata(dst: Node<'_>, stat: &Stat, src: Node<'_>) -> io::Result<()> {
    set_metadata(dst, stat, &read_xattrs(src)?)
}

/// Owner, then mode (a chown clears the set-id bits), then xattrs (a chown drops
/// `security.capability`; an ACL sets the group bits), then times.
fn set_metadata(dst: Node<'_>, stat: &Stat, xattrs: &Xattrs) -> io::Result<()> {
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
    set_xattrs(dst, xattrs)?;
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

/// Names and values of an inode's xattrs.
type Xattrs = Vec<(OsString, Vec<u8>)>;

/// Every xattr of `src`. A filesystem without xattrs has none.
fn read_xattrs(src: Node<'_>) -> io::Result<Xattrs> {
    let names = match list_xattrs(src) {
        Ok(names) => names,
        Err(Errno::OPNOTSUPP) => return Ok(Vec::new()),
        Err(errno) => return Err(errno.into()),
    };
    let mut xattrs = Vec::new();
    for name in names
        .split(|&byte| byte == 0)
        .filter(|name| !name.is_empty())
    {
        let name = OsStr::from_bytes(name);
        match get_xattr(src, name) {
            Ok(value) => xattrs.push((name.to_os_string(), value)),
            // Removed since the list was read.
            Err(Errno::NODATA) => continue,
            Err(errno) => return Err(errno.into()),
        }
    }
    Ok(xattrs)
}

fn set_xattrs(dst: Node<'_>, xattrs: &Xattrs) -> io::Result<()> {
    for (name, value) in xattrs {
        let set = match dst {
            Node::Fd(fd) => fsetxattr(fd, name, value, XattrFlags::empty()),
            Node::At(dir, file) => {
                lsetxattr(Node::proc_path(dir, file), name, value, XattrFlags::empty())
            }
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

/// Opens `path`, a directory this copy made below `root`, without following a symlink.
fn open_below(root: &OwnedFd, path: &Path) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_XDEV;
    let flags = dir_flags() | OFlags::NOFOLLOW;
    match openat2(root, path, flags, Mode::empty(), resolve) {
        // Before 5.6: the directories on the way are this copy's, made by mkdirat.
        Err(Errno::NOSYS) => openat(root, path, flags, Mode::empty()),
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
