//! The rootfs's filesystem pinned against a read-only remount from inside, as LXC pins it
//! (`.lxc_keep`). A distribution's shutdown remounts `/` read-only (Debian's umountroot does):
//! without a bind flag that remount reconfigures the superblock, which the container's root
//! shares with the host's directory, so the host's filesystem holding the rootfs turns
//! read-only for everyone wherever nothing else happens to write to it. The kernel refuses
//! such a remount (EBUSY) while a file of the filesystem is open for writing, or open and
//! unlinked: the monitor holds one for the container's run, an `O_TMPFILE` where the
//! filesystem makes them (no name in the guest's tree, nothing left behind if the monitor
//! dies), else a file it makes under LXC's name and unlinks at once.

use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags};
use rustix::io::Errno;

/// LXC's name for its pin, where the filesystem makes no `O_TMPFILE` (hostfs, NFS).
const NAMED_PIN: &str = ".lxc_keep";

/// The pin of `rootfs`'s filesystem, or `None` where none is needed, or none can be made
/// (then `warnings` says so). A container with its own user namespace needs none: its root
/// has no say over the host's superblock.
pub(super) fn pin(
    rootfs: &Path,
    user_namespace: bool,
    warnings: &mut Vec<String>,
) -> Option<OwnedFd> {
    if user_namespace {
        return None;
    }
    let mode = Mode::RUSR | Mode::WUSR;
    let pinned = match rfs::open(
        rootfs,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        mode,
    ) {
        Err(Errno::OPNOTSUPP | Errno::ISDIR) => pin_by_name(rootfs, mode),
        pinned => pinned,
    };
    match pinned {
        Ok(pin) => Some(pin),
        // Nothing to protect on a read-only filesystem.
        Err(Errno::ROFS) => None,
        Err(e) => {
            warnings.push(format!(
                "cannot pin the filesystem of the rootfs {} ({e}): a shutdown inside the \
                 container may remount it read-only for the host too",
                rootfs.display()
            ));
            None
        }
    }
}

/// Made new (`O_EXCL`: never a file, FIFO or link the guest left there), then unlinked.
fn pin_by_name(rootfs: &Path, mode: Mode) -> Result<OwnedFd, Errno> {
    let dir = rfs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let create = || {
        rfs::openat(
            &dir,
            NAMED_PIN,
            OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            mode,
        )
    };
    let pin = match create() {
        // Left by a monitor that died between the two steps, or by LXC on NFS.
        Err(Errno::EXIST) => {
            rfs::unlinkat(&dir, NAMED_PIN, AtFlags::empty())?;
            create()?
        }
        pin => pin?,
    };
    rfs::unlinkat(&dir, NAMED_PIN, AtFlags::empty())?;
    Ok(pin)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tmpfs of the test's own, unmounted when dropped (a failing test included).
    struct Tmpfs(tempfile::TempDir);

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = rustix::mount::unmount(self.0.path(), rustix::mount::UnmountFlags::DETACH);
        }
    }

    /// Nothing else writes to the test's own tmpfs, so only the pin can keep a read-only
    /// remount of its superblock from going through.
    #[test]
    fn a_pinned_filesystem_cannot_be_remounted_read_only() {
        use rustix::mount::{mount, mount_remount, MountFlags};
        let tmpfs = Tmpfs(tempfile::tempdir().unwrap());
        let dir = tmpfs.0.path();
        mount("tmpfs", dir, "tmpfs", MountFlags::empty(), None)
            .expect("mounting a tmpfs (the tests run as root)");
        let mut warnings = Vec::new();
        let remount = |flags| mount_remount(dir, flags, "");
        let pins: [&dyn Fn() -> Option<OwnedFd>; 2] =
            [&|| pin(dir, false, &mut Vec::new()), &|| {
                pin_by_name(dir, Mode::RUSR).ok()
            }];
        for make in pins {
            let pinned = make().expect("a pin on tmpfs");
            assert_eq!(remount(MountFlags::RDONLY), Err(Errno::BUSY));
            drop(pinned);
            assert_eq!(remount(MountFlags::RDONLY), Ok(()));
            assert_eq!(remount(MountFlags::empty()), Ok(()));
        }
        // The named pin leaves no name behind.
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
        assert!(pin(dir, true, &mut warnings).is_none());
        assert_eq!(remount(MountFlags::RDONLY), Ok(()));
        assert!(
            pin(dir, false, &mut warnings).is_none(),
            "read-only: nothing to pin"
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
