//! The container's own boot id, as LXC gives it one: a random id written to
//! `/dev/.lxc-boot-id` and bound read-only over `/proc/sys/kernel/random/boot_id`, so that
//! what keys on it (systemd's journal and `journalctl -b`, for one) sees a new boot at each
//! start of the container, not the host's boot.
//!
//! Bound after /proc/sys became read-only: that bind of /proc/sys onto itself is not
//! recursive, and would hide a bind made below it before.

use std::io::{self, Write};

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::mount::MountFlags;

use super::fdmount;
use super::resolve::RootDir;
use super::RootfsError;

const BOOT_ID: &str = "proc/sys/kernel/random/boot_id";
/// Where LXC keeps it (a file of the container's /dev tmpfs).
const OWN_BOOT_ID: &str = ".lxc-boot-id";
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// A random version-4 UUID, as the kernel's `boot_id` reads: 36 characters and a newline.
pub(crate) fn random_boot_id() -> io::Result<String> {
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        filled +=
            rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty())?;
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}\n",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// In the container's (pivoted) root: where it has a /proc with a `boot_id` and a /dev that
/// is a tmpfs (autodev's: nothing is written to a /dev on the rootfs's own disk), a boot id
/// of its own. Otherwise nothing.
pub(crate) fn bind_own_boot_id(root: &RootDir) -> Result<(), RootfsError> {
    let failed = |cause: io::Error| RootfsError::BootId { cause };
    let Ok(target) = root.resolve(BOOT_ID, None) else {
        return Ok(());
    };
    let Ok(dev) = root.resolve("dev", None) else {
        return Ok(());
    };
    #[allow(clippy::unnecessary_cast)]
    let on_tmpfs = rfs::fstatfs(&dev).is_ok_and(|fs| fs.f_type as i64 == TMPFS_MAGIC);
    if !on_tmpfs {
        return Ok(());
    }
    let file = rfs::openat(
        &dev,
        OWN_BOOT_ID,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o444),
    )
    .map_err(|e| failed(e.into()))?;
    std::fs::File::from(file)
        .write_all(random_boot_id().map_err(failed)?.as_bytes())
        .map_err(failed)?;
    let source = rfs::openat(
        &dev,
        OWN_BOOT_ID,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| failed(e.into()))?;
    let reopen = || Ok(root.resolve(BOOT_ID, None)?);
    let bound = fdmount::bind_own_group(&source, &target, reopen).map_err(failed)?;
    let flags = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    fdmount::remount_bind(&bound, flags).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boot_id_reads_as_the_kernels_a_random_version_4_uuid() {
        let id = random_boot_id().expect("getrandom");
        assert_eq!(id.len(), 37, "{id:?}");
        assert!(id.ends_with('\n'));
        let groups: Vec<&str> = id.trim_end().split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(id
            .trim_end()
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert!(groups[2].starts_with('4'), "version 4: {id}");
        assert!("89ab".contains(&groups[3][..1]), "variant: {id}");
        assert_ne!(random_boot_id().expect("getrandom"), id);
    }
}
