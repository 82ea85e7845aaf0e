//! Loop devices through `/dev/loop-control` and `LOOP_CONFIGURE` (no `losetup`), always with
//! `LO_FLAGS_AUTOCLEAR`: the device lets go of its image when the last user closes it, so a
//! filesystem mounted from it leaves nothing once unmounted (or once its mount namespace is
//! gone), whoever crashes.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{open, Mode, OFlags};

use super::sys;

/// How often a free device that another process took meanwhile is looked for again.
const ATTEMPTS: usize = 16;

/// An attached loop device, open; its image goes once this and every mount of it are closed.
#[derive(Debug)]
pub struct LoopDevice {
    pub fd: OwnedFd,
    pub path: PathBuf,
}

/// Attaches `image` to a free loop device, read-only when asked.
pub fn attach(image: &Path, read_only: bool) -> io::Result<LoopDevice> {
    let access = if read_only {
        OFlags::RDONLY
    } else {
        OFlags::RDWR
    };
    let backing = open(image, access | OFlags::CLOEXEC, Mode::empty())?;
    let control = open(
        "/dev/loop-control",
        OFlags::RDWR | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut flags = sys::LO_FLAGS_AUTOCLEAR;
    if read_only {
        flags |= sys::LO_FLAGS_READ_ONLY;
    }
    let mut last = io::Error::from_raw_os_error(libc::EBUSY);
    for _ in 0..ATTEMPTS {
        let number = sys::loop_get_free(control.as_fd())?;
        let path = PathBuf::from(format!("/dev/loop{number}"));
        let device = open(&path, access | OFlags::CLOEXEC, Mode::empty())?;
        // Another process may configure the same free device between the two calls: EBUSY,
        // and the next free one is asked for.
        match sys::loop_configure(device.as_fd(), backing.as_fd(), flags, image.as_os_str()) {
            Ok(()) => return Ok(LoopDevice { fd: device, path }),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}
