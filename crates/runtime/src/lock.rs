//! A container's two locks.
//!
//! - The *lifetime* lock, `RUN_DIR/lock`: `rlxc start` takes it, the monitor holds it for the
//!   container's whole life, and the monitor's last child (see `monitor::teardown`) until
//!   nothing of the container is left. So "nobody holds the lifetime lock" is "fully
//!   stopped", and a run directory whose lifetime lock nobody holds is what a crash left.
//! - The *operation* lock, `RUN_ROOT/.locks/INSTANCE` ([`OperationLock`]): every verb that
//!   changes a container (create, start, stop, destroy, freeze, ...) holds it for as long as
//!   it works, so that two of them on one container run one after the other, and none sees
//!   another's half-made state. It lives outside the run directory because it is taken
//!   before that exists and held after it is gone.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

use crate::paths::ContainerPaths;

/// A handle on one run's lock file, opened while the container runs: it stays that run's
/// lock even after the run directory is renamed away and a new start made another.
#[derive(Debug)]
pub struct TeardownWatch(Option<File>);

impl TeardownWatch {
    /// No lock file (the container is gone already) makes a watch that does not wait.
    pub fn open(paths: &ContainerPaths) -> Self {
        Self(File::open(paths.lock_file()).ok())
    }

    /// Blocks until the monitor and its last child have let go of the lock.
    pub fn wait(self) {
        if let Some(file) = self.0 {
            while let Err(rustix::io::Errno::INTR) = flock(&file, FlockOperation::LockShared) {}
        }
    }

    /// As [`Self::wait`], for at most `limit`; false when the lock is still held then.
    pub fn wait_for(self, limit: std::time::Duration) -> bool {
        let Some(file) = self.0 else {
            return true;
        };
        let deadline = std::time::Instant::now() + limit;
        loop {
            match flock(&file, FlockOperation::NonBlockingLockShared) {
                Ok(()) => return true,
                Err(rustix::io::Errno::WOULDBLOCK) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => return false,
            }
        }
    }
}

/// Whether a monitor (or its last child) still holds the container's lifetime lock.
pub fn is_held(paths: &ContainerPaths) -> bool {
    let Ok(file) = File::open(paths.lock_file()) else {
        return false;
    };
    matches!(
        flock(&file, FlockOperation::NonBlockingLockShared),
        Err(rustix::io::Errno::WOULDBLOCK)
    )
}

/// Opens (making it if missing) and locks `path` exclusively, for a cache's lock file: held
/// until the returned file is dropped. The wait ends with the holder, or, when a signal
/// interrupts it and `give_up()` says so, with an `Interrupted` error.
pub fn lock_exclusive(path: &Path, give_up: impl Fn() -> bool) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)?;
    loop {
        match flock(&file, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(file),
            Err(rustix::io::Errno::INTR) if give_up() => {
                return Err(std::io::ErrorKind::Interrupted.into())
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(errno) => return Err(errno.into()),
        }
    }
}

/// Why the operation lock could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockError {
    #[error("{step} the lock file {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// Who holds a container's operation lock, as the holder wrote it into the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<i32>,
    /// The verb, as `rlxc stop`.
    pub what: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "`{}` (pid {pid})", self.what),
            None => write!(f, "another rlxc command"),
        }
    }
}

impl Holder {
    fn parse(text: &str) -> Holder {
        let (pid, what) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
        match pid.parse() {
            Ok(pid) if !what.is_empty() => Holder {
                pid: Some(pid),
                what: what.to_string(),
            },
            _ => Holder {
                pid: None,
                what: String::new(),
            },
        }
    }
}

/// The operation lock of one container, held until dropped (see the module's text). The
/// file is removed by its holder on the way out, so no lock file outlives the operations;
/// one a killed holder left is taken over by the next.
#[derive(Debug)]
pub struct OperationLock {
    file: Option<File>,
    path: PathBuf,
    instance: String,
}

impl OperationLock {
    /// Takes the lock, waiting for a holder to finish; `waiting` is told once who that is,
    /// before the wait. `what` names the operation for a waiter (`rlxc stop`). The wait ends
    /// only with the holder, or with a signal that ends this process.
    pub fn take(
        paths: &ContainerPaths,
        what: &str,
        waiting: impl FnOnce(&Holder),
    ) -> Result<OperationLock, LockError> {
        let mut waiting = Some(waiting);
        loop {
            let (file, path) = open(paths)?;
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    if let Some(waiting) = waiting.take() {
                        waiting(&holder_of(&file));
                    }
                    lock_blocking(&file, &path)?;
                }
                Err(e) => return Err(io("locking", &path)(e.into())),
            }
            if let Some(lock) = Self::claim(file, path, paths, what)? {
                return Ok(lock);
            }
        }
    }

    /// The lock if nobody holds it now; `Err(holder)` if somebody does.
    pub fn try_take(
        paths: &ContainerPaths,
        what: &str,
    ) -> Result<Result<OperationLock, Holder>, LockError> {
        loop {
            let (file, path) = open(paths)?;
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => return Ok(Err(holder_of(&file))),
                Err(e) => return Err(io("locking", &path)(e.into())),
            }
            if let Some(lock) = Self::claim(file, path, paths, what)? {
                return Ok(Ok(lock));
            }
        }
    }

    /// Whether this is the lock of the container at `paths`.
    pub fn is_for(&self, paths: &ContainerPaths) -> bool {
        self.instance == paths.instance_name() && self.path == lock_path(paths)
    }

    /// Closes this process's copy of the lock without letting go of it: for a child forked
    /// while the lock was held that lives on after the operation (the monitor), which must
    /// not keep the operation's lock.
    pub(crate) fn close_inherited(&self) {
        if let Some(file) = &self.file {
            use std::os::fd::AsRawFd;
            // SAFETY: called in a forked child that never returns to the code owning `self`
            // (it exits through `process::exit`, which runs no destructors), so the closed
            // descriptor is never used or closed again.
            unsafe { libc::close(file.as_raw_fd()) };
        }
    }

    /// The lock is ours once the file we locked is still the one at the path: a holder
    /// removes the file before it lets go, and whoever waited on that old file must open the
    /// new one. Then who we are goes in, for waiters to name.
    fn claim(
        mut file: File,
        path: PathBuf,
        paths: &ContainerPaths,
        what: &str,
    ) -> Result<Option<OperationLock>, LockError> {
        let ours = file.metadata().map_err(io("reading", &path))?;
        match std::fs::metadata(&path) {
            Ok(there) if there.ino() == ours.ino() && there.dev() == ours.dev() => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("reading", &path)(e)),
        }
        // Only for a waiter's message: a full filesystem must not keep anyone from the lock.
        let holder = format!("{} {what}\n", std::process::id());
        let _ = file
            .set_len(0)
            .and_then(|()| file.write_all(holder.as_bytes()));
        Ok(Some(OperationLock {
            file: Some(file),
            path,
            instance: paths.instance_name(),
        }))
    }
}

impl Drop for OperationLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Removed while still held, so that nobody can take the lock on a file that is
            // going (a waiter that wakes on it finds it gone and opens the new one).
            let _ = std::fs::remove_file(&self.path);
            drop(file);
        }
    }
}

/// `RUN_ROOT/.locks/INSTANCE` (container names never start with '.', so no container's run
/// directory is ever called `.locks`).
fn lock_path(paths: &ContainerPaths) -> PathBuf {
    paths.run_root().join(".locks").join(paths.instance_name())
}

fn open(paths: &ContainerPaths) -> Result<(File, PathBuf), LockError> {
    let path = lock_path(paths);
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("creating the directory of", &path))?;
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(&path)
        .map_err(io("opening", &path))?;
    Ok((file, path))
}

fn lock_blocking(file: &File, path: &Path) -> Result<(), LockError> {
    loop {
        match flock(file, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io("locking", path)(e.into())),
        }
    }
}

fn holder_of(mut file: &File) -> Holder {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    Holder::parse(&text)
}

fn io<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> LockError + 'a {
    move |cause| LockError::Io {
        step,
        path: path.to_path_buf(),
        cause,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(run_root: &Path) -> ContainerPaths {
        ContainerPaths::with_run_root(Path::new("/var/lib/rlxc"), "web", run_root)
    }

    #[test]
    fn a_second_taker_learns_who_holds_it_and_the_file_goes_with_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = paths(dir.path());
        let held =
            OperationLock::take(&paths, "rlxc start", |_| panic!("nobody held it")).expect("take");
        match OperationLock::try_take(&paths, "rlxc stop").expect("try") {
            Err(holder) => assert_eq!(
                holder,
                Holder {
                    pid: Some(std::process::id() as i32),
                    what: "rlxc start".into()
                }
            ),
            Ok(_) => panic!("taken twice"),
        }
        assert!(lock_path(&paths).exists());
        drop(held);
        assert!(!lock_path(&paths).exists(), "the holder removes the file");
        let again = OperationLock::try_take(&paths, "rlxc stop").expect("try");
        assert!(again.is_ok(), "free once the holder let go");
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = paths(dir.path());
        let held = OperationLock::take(&paths, "rlxc start", |_| {}).expect("take");
        let waiter_paths = paths.clone();
        let (told, heard) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let lock = OperationLock::take(&waiter_paths, "rlxc stop", |holder| {
                let _ = told.send(holder.what.clone());
            })
            .expect("take after wait");
            lock.is_for(&waiter_paths)
        });
        assert_eq!(heard.recv().expect("told"), "rlxc start");
        drop(held);
        assert!(waiter.join().expect("waiter"));
    }

    /// Many takers, each holding the lock a moment: never two at once (the file is removed
    /// while still held, so a taker that wakes on the old file must not win alongside one
    /// that opened the new).
    #[test]
    fn never_two_holders_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = paths(dir.path());
        let inside = std::sync::Arc::new(AtomicUsize::new(0));
        let takers: Vec<_> = (0..6)
            .map(|_| {
                let (paths, inside) = (paths.clone(), inside.clone());
                std::thread::spawn(move || {
                    for _ in 0..40 {
                        let lock = OperationLock::take(&paths, "rlxc test", |_| {}).expect("take");
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        std::thread::sleep(std::time::Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(lock);
                    }
                })
            })
            .collect();
        for taker in takers {
            taker.join().expect("taker");
        }
    }

    #[test]
    fn a_file_left_by_a_killed_holder_is_taken_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = paths(dir.path());
        std::fs::create_dir_all(lock_path(&paths).parent().expect("parent")).expect("mkdir");
        std::fs::write(lock_path(&paths), "12345 rlxc start\n").expect("stale file");
        let lock = OperationLock::try_take(&paths, "rlxc stop").expect("try");
        assert!(lock.is_ok());
        drop(lock);
        assert!(!lock_path(&paths).exists());
    }

    #[test]
    fn holder_text_that_is_not_ours_names_nobody() {
        assert_eq!(Holder::parse("garbage").pid, None);
        assert_eq!(Holder::parse("").to_string(), "another rlxc command");
    }
}
