//! A small tmpfs of a test's own, to fill: what rlxc does on a full filesystem.

use std::io::Write;
use std::path::PathBuf;

/// A tmpfs of 64 KiB of this test's own, unmounted when dropped (pass or fail). Made before
/// the test's `World`, so it is dropped after the world has stopped its containers, whose
/// monitors may hold files in it open.
pub struct SmallTmpfs {
    dir: tempfile::TempDir,
}

impl SmallTmpfs {
    pub fn new() -> SmallTmpfs {
        let dir = tempfile::Builder::new()
            .prefix("rlxc-test-full-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k,mode=0755", "rlxc-test-full"])
            .arg(dir.path())
            .status()
            .expect("mount");
        assert!(status.success(), "mount -t tmpfs: {status}");
        SmallTmpfs { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Fills it to the brim: a file of zeros written until the kernel says ENOSPC.
    pub fn fill(&self) {
        let mut filler = std::fs::File::create(self.path("filler")).expect("filler");
        let block = [0u8; 4096];
        loop {
            match filler.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
        // Less than a block may be left by a short write: fill that too.
        while let Ok(n) = filler.write(&[0u8]) {
            if n == 0 {
                break;
            }
        }
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let unmounted = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Still held (a test failed with a monitor alive): detached now, freed once
            // the last file in it is closed.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}
