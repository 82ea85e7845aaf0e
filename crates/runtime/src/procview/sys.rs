//! The view's few raw calls: the memory it shares across server restarts, and the fd table
//! a server starts with.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// Anonymous `MAP_SHARED` memory made by the monitor before it forks a server: every server
/// of the container sees the same pages, so what one read from /dev/fuse (or computed) is
/// still there for the next one after a crash. Untouched pages cost nothing.
pub struct SharedPages {
    address: std::ptr::NonNull<u8>,
    len: usize,
}

impl SharedPages {
    pub fn new(len: usize) -> io::Result<SharedPages> {
        // SAFETY: a fresh anonymous mapping; no existing memory is referred to or replaced.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let address = std::ptr::NonNull::new(address.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned a null address"))?;
        Ok(SharedPages { address, len })
    }

    /// The pages as bytes. Only one process uses them at a time: the server, while the
    /// monitor merely keeps them mapped for the next one.
    pub fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `address` maps `len` readable and writable bytes for as long as `self`
        // lives, and `&mut self` makes this the only reference in this process.
        unsafe { std::slice::from_raw_parts_mut(self.address.as_ptr(), self.len) }
    }
}

impl Drop for SharedPages {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`; no reference outlives `self`.
        unsafe { libc::munmap(self.address.as_ptr().cast(), self.len) };
    }
}

/// In a freshly forked server: `fd` becomes fd 3 and every other fd above stdio is closed, so
/// the server holds nothing of the monitor's (status pipe, control socket, pty masters).
pub fn keep_only(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    const TARGET: libc::c_int = 3;
    if fd.as_raw_fd() != TARGET {
        // SAFETY: dup2 onto fd 3 of this process; whatever was there is replaced on purpose
        // (it is closed below in any case).
        if unsafe { libc::dup2(fd.as_raw_fd(), TARGET) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // SAFETY: close_range with integer arguments only; the owners of the closed fds are the
    // monitor's copies, which this process never uses or drops (it leaves with _exit).
    if unsafe { libc::syscall(libc::SYS_close_range, TARGET as u32 + 1, u32::MAX, 0u32) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd 3 is open (dup2 above, or it was `fd` itself) and owned by nobody else now.
    Ok(unsafe { OwnedFd::from_raw_fd(TARGET) })
}
