//! The ioctls of btrfs and of the loop driver, with their structs as `<linux/btrfs.h>` and
//! `<linux/loop.h>` define them (the libc crate has neither). Every `unsafe` of the crate.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;

/// `_IOW(type, nr, size)`.
const fn iow(kind: u32, nr: u32, size: usize) -> libc::c_ulong {
    ((1u32 << 30) | ((size as u32) << 16) | (kind << 8) | nr) as libc::c_ulong
}

const BTRFS_IOCTL_MAGIC: u32 = 0x94;
const BTRFS_PATH_NAME_MAX: usize = 4087;
const BTRFS_SUBVOL_NAME_MAX: usize = 4039;
/// `BTRFS_SUBVOL_RDONLY`: a read-only snapshot.
pub(super) const BTRFS_SUBVOL_RDONLY: u64 = 1 << 1;

/// `struct btrfs_ioctl_vol_args`.
#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; BTRFS_PATH_NAME_MAX + 1],
}

/// `struct btrfs_ioctl_vol_args_v2`.
#[repr(C)]
struct VolArgsV2 {
    fd: i64,
    transid: u64,
    flags: u64,
    unused: [u64; 4],
    name: [u8; BTRFS_SUBVOL_NAME_MAX + 1],
}

const BTRFS_IOC_SUBVOL_CREATE: libc::c_ulong =
    iow(BTRFS_IOCTL_MAGIC, 14, std::mem::size_of::<VolArgs>());
const BTRFS_IOC_SNAP_DESTROY: libc::c_ulong =
    iow(BTRFS_IOCTL_MAGIC, 15, std::mem::size_of::<VolArgs>());
const BTRFS_IOC_SNAP_CREATE_V2: libc::c_ulong =
    iow(BTRFS_IOCTL_MAGIC, 23, std::mem::size_of::<VolArgsV2>());

/// Copies `name` into a NUL-terminated field; a name that does not fit, or holds a `/` or a
/// NUL, is refused (the kernel takes one path component).
fn fill_name(field: &mut [u8], name: &OsStr) -> io::Result<()> {
    let bytes = name.as_bytes();
    let bad = bytes.is_empty() || bytes.contains(&b'/') || bytes.contains(&0);
    if bad || bytes.len() >= field.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a subvolume name"),
        ));
    }
    field[..bytes.len()].copy_from_slice(bytes);
    Ok(())
}

fn vol_args(name: &OsStr) -> io::Result<Box<VolArgs>> {
    let mut args = Box::new(VolArgs {
        fd: 0,
        name: [0; BTRFS_PATH_NAME_MAX + 1],
    });
    fill_name(&mut args.name, name)?;
    Ok(args)
}

fn ioctl_ptr<T>(
    fd: BorrowedFd<'_>,
    request: libc::c_ulong,
    arg: &mut T,
) -> io::Result<libc::c_int> {
    // SAFETY: `arg` is a live, exclusively borrowed value of the struct the request takes
    // (the request numbers above are built from these structs' sizes), for the whole call.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request, arg as *mut T) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

/// `BTRFS_IOC_SUBVOL_CREATE`: a new, empty subvolume `name` in the directory `parent`.
pub(super) fn subvol_create(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let mut args = vol_args(name)?;
    ioctl_ptr(parent, BTRFS_IOC_SUBVOL_CREATE, &mut *args).map(drop)
}

/// `BTRFS_IOC_SNAP_DESTROY`: removes the subvolume `name` of `parent`, contents and all.
pub(super) fn snap_destroy(parent: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let mut args = vol_args(name)?;
    ioctl_ptr(parent, BTRFS_IOC_SNAP_DESTROY, &mut *args).map(drop)
}

/// `BTRFS_IOC_SNAP_CREATE_V2`: `name` in `parent` becomes a snapshot of the subvolume open
/// as `source`.
pub(super) fn snap_create(
    parent: BorrowedFd<'_>,
    source: BorrowedFd<'_>,
    name: &OsStr,
    flags: u64,
) -> io::Result<()> {
    let mut args = Box::new(VolArgsV2 {
        fd: i64::from(source.as_raw_fd()),
        transid: 0,
        flags,
        unused: [0; 4],
        name: [0; BTRFS_SUBVOL_NAME_MAX + 1],
    });
    fill_name(&mut args.name, name)?;
    ioctl_ptr(parent, BTRFS_IOC_SNAP_CREATE_V2, &mut *args).map(drop)
}

const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
pub(super) const LO_FLAGS_READ_ONLY: u32 = 1;
pub(super) const LO_FLAGS_AUTOCLEAR: u32 = 4;
const LO_NAME_SIZE: usize = 64;

/// `struct loop_info64`.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; LO_NAME_SIZE],
    lo_crypt_name: [u8; LO_NAME_SIZE],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

/// `struct loop_config`.
#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

/// `LOOP_CTL_GET_FREE` on `/dev/loop-control`: the number of a free loop device (made if
/// need be).
pub(super) fn loop_get_free(control: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a device number or -1.
    let ret = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) };
    u32::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// `LOOP_CONFIGURE`: binds `backing` to the loop device `device` with `flags` in one call
/// (Linux 5.8), the file's name recorded for `losetup -l` (truncated as the kernel does).
pub(super) fn loop_configure(
    device: BorrowedFd<'_>,
    backing: BorrowedFd<'_>,
    flags: u32,
    name: &OsStr,
) -> io::Result<()> {
    let backing = u32::try_from(backing.as_fd().as_raw_fd())
        .map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    let mut file_name = [0u8; LO_NAME_SIZE];
    let bytes = name.as_bytes();
    let len = bytes.len().min(LO_NAME_SIZE - 1);
    file_name[..len].copy_from_slice(&bytes[..len]);
    let mut config = LoopConfig {
        fd: backing,
        block_size: 0,
        info: LoopInfo64 {
            lo_device: 0,
            lo_inode: 0,
            lo_rdevice: 0,
            lo_offset: 0,
            lo_sizelimit: 0,
            lo_number: 0,
            lo_encrypt_type: 0,
            lo_encrypt_key_size: 0,
            lo_flags: flags,
            lo_file_name: file_name,
            lo_crypt_name: [0; LO_NAME_SIZE],
            lo_encrypt_key: [0; 32],
            lo_init: [0; 2],
        },
        reserved: [0; 8],
    };
    ioctl_ptr(device, LOOP_CONFIGURE, &mut config).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_match_the_kernel_headers() {
        assert_eq!(std::mem::size_of::<VolArgs>(), 4096);
        assert_eq!(std::mem::size_of::<VolArgsV2>(), 4096);
        assert_eq!(BTRFS_IOC_SUBVOL_CREATE, 0x5000_940E);
        assert_eq!(BTRFS_IOC_SNAP_DESTROY, 0x5000_940F);
        assert_eq!(BTRFS_IOC_SNAP_CREATE_V2, 0x5000_9417);
        assert_eq!(std::mem::size_of::<LoopInfo64>(), 232);
        assert_eq!(std::mem::size_of::<LoopConfig>(), 304);
    }
}
