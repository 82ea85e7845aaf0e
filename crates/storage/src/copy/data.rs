//! The bytes of a regular file, holes kept: a reflink where the filesystem shares extents,
//! else each data segment by `copy_file_range`.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{copy_file_range, ftruncate, ioctl_ficlone, seek, SeekFrom};
use rustix::io::Errno;

/// One `copy_file_range` call at most (it may copy less).
const CHUNK: usize = 1 << 30;

pub(super) enum Data {
    Reflinked,
    Copied(u64),
}

/// Whether reflinks are still worth trying: a filesystem that has none says so once
/// (`EOPNOTSUPP`, or `EXDEV` across filesystems), and the rest of the copy does without the
/// ioctl.
pub(super) struct Reflinks(AtomicBool);

impl Default for Reflinks {
    fn default() -> Self {
        Reflinks(AtomicBool::new(true))
    }
}

/// The bytes of a regular file of `size` bytes, holes kept: a reflink where the filesystem
/// shares extents, else by `copy_file_range` (which falls back to reads and writes across
/// filesystems that refuse it): the whole file, or where it may have holes (`sparse`: fewer
/// blocks than bytes), each data segment (`SEEK_DATA` to `SEEK_HOLE`).
pub(super) fn copy_data(
    src: &OwnedFd,
    dst: &OwnedFd,
    size: u64,
    sparse: bool,
    reflinks: &Reflinks,
) -> io::Result<Data> {
    if size == 0 {
        return Ok(Data::Copied(0));
    }
    if reflinks.0.load(Ordering::Relaxed) {
        match ioctl_ficlone(dst, src) {
            Ok(()) => return Ok(Data::Reflinked),
            Err(Errno::OPNOTSUPP | Errno::XDEV | Errno::NOTTY) => {
                reflinks.0.store(false, Ordering::Relaxed)
            }
            Err(_) => {}
        }
    }
    if !sparse {
        let copied = copy_range(src, dst, 0, size)?;
        // The file got shorter since it was read: as long as it was then, as the
        // segment-wise copy makes it.
        if copied < size {
            ftruncate(dst, size)?;
        }
        return Ok(Data::Copied(copied));
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
