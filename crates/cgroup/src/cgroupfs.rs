//! The few kernel calls that change the cgroup tree, behind a trait so unit tests can run on
//! a tempdir that imitates cgroupfs (where a new directory comes with its files), and the
//! guard that removes what a failed creation made.

use std::io;
use std::path::{Path, PathBuf};

use crate::files;
use crate::Error;

pub(crate) trait CgroupFs {
    fn mkdir(&self, path: &Path) -> io::Result<()>;
    fn rmdir(&self, path: &Path) -> io::Result<()>;
    fn write(&self, dir: &Path, key: &str, value: &str) -> Result<(), Error>;
}

/// The kernel.
pub(crate) struct RealFs;

impl CgroupFs for RealFs {
    fn mkdir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }
    fn rmdir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }
    fn write(&self, dir: &Path, key: &str, value: &str) -> Result<(), Error> {
        files::write_key(dir, key, value)
    }
}

/// Directories made so far, registered the moment `mkdir` returns; removed (deepest first)
/// on drop unless committed.
pub(crate) struct CreatedDirs<'fs> {
    fs: &'fs dyn CgroupFs,
    dirs: Vec<PathBuf>,
}

impl<'fs> CreatedDirs<'fs> {
    pub(crate) fn new(fs: &'fs dyn CgroupFs) -> Self {
        Self {
            fs,
            dirs: Vec::new(),
        }
    }

    pub(crate) fn register(&mut self, dir: PathBuf) {
        self.dirs.push(dir);
    }

    pub(crate) fn contains(&self, dir: &Path) -> bool {
        self.dirs.iter().any(|made| made == dir)
    }

    /// The directories stay; the caller owns them now.
    pub(crate) fn commit(mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.dirs)
    }
}

impl Drop for CreatedDirs<'_> {
    fn drop(&mut self) {
        // Fresh cgroups hold no process yet, so rmdir succeeds at once. An error here has
        // nowhere to go: the error that caused the unwind is the one the caller needs.
        for dir in self.dirs.iter().rev() {
            let _ = self.fs.rmdir(dir);
        }
    }
}
