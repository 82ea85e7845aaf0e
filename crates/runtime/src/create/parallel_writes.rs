//! The regular files of an unpack, written by worker threads while the tar stream is read on.
//!
//! Creating a file costs this kernel and filesystem far more than decoding its bytes (about
//! 0.25 ms per file on ext4 here: a Debian rootfs's 8,600 members are two seconds of system
//! time), and those creates run in parallel ([`rlxc_storage::workers`], the pool a copy uses
//! too). The reading thread keeps everything whose order matters (directories, links,
//! devices, files too large to hold) and hands small regular files, read into memory, to the
//! workers.
//!
//! Workers resolve every path below the rootfs (`openat2` with `RESOLVE_BENEATH`), so a
//! symlink made by an earlier member cannot lead a write out of it, and create with
//! `O_NOFOLLOW | O_EXCL` after removing what was there. Two things must see finished files:
//! a hard link to one, and a later member of the same name; before either, the reader waits
//! until the workers are idle ([`FileWriters::wait_idle`]).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rlxc_storage::workers::{self, Failure, Job, Workers};
use rustix::fs::{
    fchmod, fchown, fsetxattr, futimens, mkdirat, openat2, unlinkat, AtFlags, Gid, Mode, OFlags,
    ResolveFlags, Timespec, Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;

/// Files up to this size go to the workers; a larger one is written by the reader (its bytes
/// would otherwise be held in memory while queued).
pub(crate) const LARGEST_QUEUED: u64 = 1 << 20;
/// Jobs waiting at most: with [`LARGEST_QUEUED`], at most 32 MiB held.
const QUEUE: usize = 32;

/// A regular file to write: its path below the rootfs, its metadata and its bytes.
pub(crate) struct FileJob {
    pub path: PathBuf,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub data: Vec<u8>,
}

impl Job for FileJob {
    /// The directory: its files on one worker.
    fn key(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.path.parent().hash(&mut hasher);
        hasher.finish()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) struct FileWriters {
    workers: Workers<FileJob>,
    /// Paths handed out since the workers were last idle.
    queued: HashSet<PathBuf>,
}

impl FileWriters {
    /// Workers writing below `root` (the directory the members are unpacked into). Where the
    /// kernel has no openat2 (before 5.6, or a seccomp profile that refuses it), there are
    /// none: [`FileWriters::active`] is false and the reader writes every member itself.
    pub(crate) fn start(root: &Path) -> io::Result<FileWriters> {
        let probe = OwnedFd::from(File::open(root)?);
        let here = open_below(
            &probe,
            Path::new("."),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        );
        let count = match here {
            Err(Errno::NOSYS | Errno::PERM) => 0,
            _ => workers::default_count(),
        };
        let workers = Workers::start(count, QUEUE / count.max(1), "rlxc-unpack", || {
            let root = OwnedFd::from(File::open(root)?);
            Ok(move |job: &FileJob| write_file(&root, job))
        })?;
        Ok(FileWriters {
            workers,
            queued: HashSet::new(),
        })
    }

    /// Whether there are workers to take files (see [`FileWriters::start`]).
    pub(crate) fn active(&self) -> bool {
        self.workers.active()
    }

    /// Whether `path` may still be in a worker's hands (then wait before touching it).
    pub(crate) fn may_hold(&self, path: &Path) -> bool {
        self.queued.contains(path)
    }

    /// Queues a file; fails with the first worker's failure, if any.
    pub(crate) fn write(&mut self, job: FileJob) -> Result<(), Failure> {
        self.queued.insert(job.path.clone());
        self.workers.submit(job)
    }

    /// Returns once every queued file is written.
    pub(crate) fn wait_idle(&mut self) -> Result<(), Failure> {
        let idle = self.workers.wait_idle();
        self.queued.clear();
        idle
    }

    /// Waits for the queued files and stops the workers.
    pub(crate) fn finish(self) -> Result<(), Failure> {
        self.workers.finish()
    }
}

/// As the tar crate's checks on the reading thread: a symlink may be followed while it stays
/// below the root, one that leads out (absolute, or `..` past the root) fails the write.
const BELOW_ROOT: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);
/// Tries of a lookup that a rename elsewhere on the system interrupted (`EAGAIN`).
const LOOKUP_TRIES: usize = 16;

/// `openat2` below the root. A lookup through `..` (a symlink such as `a -> ../b`) fails with
/// EAGAIN when any rename or mount on the system raced with it; openat2(2) says to try again.
fn open_below(root: &OwnedFd, path: &Path, flags: OFlags, mode: Mode) -> Result<OwnedFd, Errno> {
    let mut tries = 1;
    loop {
        match openat2(root, path, flags, mode, BELOW_ROOT) {
            Err(Errno::AGAIN) if tries < LOOKUP_TRIES => tries += 1,
            other => return other,
        }
    }
}

fn write_file(root: &OwnedFd, job: &FileJob) -> io::Result<()> {
    let file = File::from(create(root, &job.path)?);
    (&file).write_all(&job.data)?;
    // Owner before mode: a chown clears the set-id bits.
    fchown(
        file.as_fd(),
        Some(Uid::from_raw(job.uid)),
        Some(Gid::from_raw(job.gid)),
    )?;
    fchmod(file.as_fd(), Mode::from_raw_mode(job.mode & 0o7777))?;
    for (name, value) in &job.xattrs {
        fsetxattr(
            file.as_fd(),
            OsStr::from_bytes(name),
            value,
            XattrFlags::empty(),
        )?;
    }
    let time = Timespec {
        tv_sec: i64::try_from(job.mtime).unwrap_or(i64::MAX),
        tv_nsec: 0,
    };
    futimens(
        file.as_fd(),
        &Timestamps {
            last_access: time,
            last_modification: time,
        },
    )?;
    Ok(())
}

/// A new, empty file at `path` inside `root`: what was there is removed first (a file, or a
/// symlink, which is replaced and never followed); missing parents are made.
fn create(root: &OwnedFd, path: &Path) -> io::Result<OwnedFd> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_raw_mode(0o600);
    let mut made_parents = false;
    loop {
        match open_below(root, path, flags, mode) {
            Ok(fd) => return Ok(fd),
            Err(Errno::EXIST) => remove(root, path)?,
            Err(Errno::NOENT) if !made_parents => {
                make_parents(root, path)?;
                made_parents = true;
            }
            Err(errno) => return Err(errno.into()),
        }
    }
}

fn remove(root: &OwnedFd, path: &Path) -> io::Result<()> {
    let (parent, name) = split(path)?;
    let dir = open_below(
        root,
        parent,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    match unlinkat(&dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        // A directory where the file goes: the tar crate refuses that as well.
        Err(errno) => Err(errno.into()),
    }
}

/// `mkdir -p` of the parents, each step resolved inside the root; another worker making the
/// same directory at the same time is fine.
fn make_parents(root: &OwnedFd, path: &Path) -> io::Result<()> {
    let (parent, _) = split(path)?;
    let mut made = PathBuf::new();
    for component in parent.components() {
        let dir = if made.as_os_str().is_empty() {
            root.as_fd().try_clone_to_owned()?
        } else {
            open_below(
                root,
                &made,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?
        };
        match mkdirat(&dir, component.as_os_str(), Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(errno) => return Err(errno.into()),
        }
        made.push(component);
    }
    Ok(())
}

fn split(path: &Path) -> io::Result<(&Path, &OsStr)> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name)),
        _ => Err(io::Error::other("not a file's path")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn job(path: &str, data: &[u8]) -> FileJob {
        FileJob {
            path: PathBuf::from(path),
            mode: 0o4755,
            uid: 1234,
            gid: 5678,
            mtime: 1_000_000,
            xattrs: vec![(b"user.rlxc".to_vec(), b"yes".to_vec())],
            data: data.to_vec(),
        }
    }

    #[test]
    fn files_get_their_bytes_owner_mode_time_and_xattrs_and_parents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut writers = FileWriters::start(dir.path()).expect("start");
        for i in 0..200 {
            writers
                .write(job(
                    &format!("d{}/sub/f{i}", i % 7),
                    format!("{i}").as_bytes(),
                ))
                .expect("queue");
        }
        writers.finish().expect("finish");
        let path = dir.path().join("d3/sub/f10");
        assert_eq!(std::fs::read(&path).expect("read"), b"10");
        let meta = std::fs::metadata(&path).expect("meta");
        // Root may chown; elsewhere the test still checks the rest.
        if rustix::process::geteuid().is_root() {
            assert_eq!((meta.uid(), meta.gid()), (1234, 5678));
            assert_eq!(meta.mode() & 0o7777, 0o4755);
        }
        assert_eq!(meta.mtime(), 1_000_000);
    }

    #[test]
    fn a_lookup_through_dotdot_survives_renames_elsewhere() {
        // A RESOLVE_BENEATH lookup that goes through `..` fails with EAGAIN when any rename on
        // the system raced with it (the kernel cannot tell whether `..` left the root): an
        // unpack of a file below `a/link -> ../b` must not fail because of another process.
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a")).expect("mkdir a");
        std::fs::create_dir_all(root.join("b")).expect("mkdir b");
        std::os::unix::fs::symlink("../b", root.join("a/link")).expect("symlink");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, b"").expect("write");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let renamer = {
            let stop = std::sync::Arc::clone(&stop);
            let (from, to) = (elsewhere.clone(), dir.path().join("moved"));
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::rename(&from, &to);
                    let _ = std::fs::rename(&to, &from);
                }
            })
        };
        let mut writers = FileWriters::start(&root).expect("start");
        let mut queued = Ok(());
        for i in 0..3000 {
            queued = writers.write(job(&format!("a/link/f{}/g", i % 3), b"x"));
            if queued.is_err() {
                break;
            }
        }
        let finished = writers.finish();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        renamer.join().expect("renamer");
        if let Err((path, error)) = queued.and(finished) {
            panic!("{}: {error}", path.display());
        }
        assert_eq!(std::fs::read(root.join("b/f2/g")).expect("read"), b"x");
    }

    #[test]
    fn a_symlink_in_the_way_is_replaced_and_one_leading_out_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("outside");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        std::os::unix::fs::symlink(outside.path().join("victim"), root.join("etc/passwd"))
            .expect("symlink");
        std::os::unix::fs::symlink(outside.path(), root.join("out")).expect("dir symlink");
        let mut writers = FileWriters::start(&root).expect("start");
        writers.write(job("etc/passwd", b"root")).expect("queue");
        writers.finish().expect("finish");
        assert_eq!(
            std::fs::read(root.join("etc/passwd")).expect("read"),
            b"root"
        );
        assert!(!outside.path().join("victim").exists());

        // Through a directory symlink that leads out: refused, nothing written outside.
        let mut writers = FileWriters::start(&root).expect("start");
        writers.write(job("out/escaped", b"no")).expect("queue");
        let (path, _) = writers.finish().expect_err("written through the symlink");
        assert_eq!(path, Path::new("out/escaped"));
        assert!(!outside.path().join("escaped").exists());
    }
}
