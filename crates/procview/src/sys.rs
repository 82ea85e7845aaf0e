//! The view's few raw calls: the memory it shares across server restarts, and the fd table
//! a server starts with.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

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

/// In a freshly forked server: a copy of each of `fds`, and every other fd above stdio
/// closed, so the server holds nothing of the monitor's (status pipe, control socket, pty
/// masters, its own copies of the listeners).
pub fn keep_only(fds: &[BorrowedFd<'_>]) -> io::Result<Vec<OwnedFd>> {
    let copies = fds
        .iter()
        .map(|fd| fd.try_clone_to_owned())
        .collect::<io::Result<Vec<_>>>()?;
    let keep: Vec<_> = copies.iter().map(AsRawFd::as_raw_fd).collect();
    rlxc_process::fds::close_fds_from_3_except(&keep)?;
    Ok(copies)
}

/// One seccomp notification, as much of it as sysinfo's answer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification {
    pub id: u64,
    /// In the server's pid namespace (the host's).
    pub pid: u32,
    pub nr: i32,
    pub arch: u32,
    pub args: [u64; 6],
}

/// `SECCOMP_GET_NOTIF_SIZES`: the kernel's `struct seccomp_notif` may be larger than ours,
/// and RECV writes the kernel's size.
fn notification_len() -> usize {
    let mut sizes = libc::seccomp_notif_sizes {
        seccomp_notif: 0,
        seccomp_notif_resp: 0,
        seccomp_data: 0,
    };
    // SAFETY: SECCOMP_GET_NOTIF_SIZES writes exactly a seccomp_notif_sizes into `sizes`.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut libc::seccomp_notif_sizes,
        )
    };
    let ours = std::mem::size_of::<libc::seccomp_notif>();
    if rc == 0 {
        ours.max(usize::from(sizes.seccomp_notif))
    } else {
        ours
    }
}

/// `SECCOMP_IOCTL_NOTIF_RECV`: the next notification (blocks if none is pending).
pub fn receive(listener: BorrowedFd<'_>) -> io::Result<Notification> {
    // Zeroed, as the kernel requires, and as long as the kernel's struct.
    let mut buffer = vec![0u64; notification_len().div_ceil(8)];
    // SAFETY: NOTIF_RECV writes at most the kernel's seccomp_notif size, which `buffer`
    // holds (rounded up to whole u64s, so it is aligned for the struct).
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            buffer.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the buffer is at least size_of::<seccomp_notif>() bytes, 8-aligned, and the
    // kernel filled it; every bit pattern is a valid seccomp_notif (plain integers).
    let notif: libc::seccomp_notif =
        unsafe { std::ptr::read(buffer.as_ptr().cast::<libc::seccomp_notif>()) };
    Ok(Notification {
        id: notif.id,
        pid: notif.pid,
        nr: notif.data.nr,
        arch: notif.data.arch,
        args: notif.data.args,
    })
}

/// `SECCOMP_IOCTL_NOTIF_ID_VALID`: the caller still waits for this answer (its pid was not
/// reused for another process in between).
pub fn still_waiting(listener: BorrowedFd<'_>, id: u64) -> bool {
    let mut id = id;
    // SAFETY: NOTIF_ID_VALID reads one u64.
    unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &mut id as *mut u64,
        ) == 0
    }
}

/// How a notification is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The call returns this value (0: success).
    Value(i64),
    /// The call fails with this errno.
    Errno(i32),
    /// The kernel runs the call itself.
    Continue,
}

/// `SECCOMP_IOCTL_NOTIF_SEND`. ENOENT: the caller is gone or was interrupted.
pub fn reply(listener: BorrowedFd<'_>, id: u64, reply: Reply) -> io::Result<()> {
    let (val, error, flags) = match reply {
        Reply::Value(val) => (val, 0, 0),
        Reply::Errno(errno) => (0, -errno, 0),
        Reply::Continue => (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
    };
    let mut response = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: NOTIF_SEND reads exactly a seccomp_notif_resp.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut response as *mut libc::seccomp_notif_resp,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes `bytes` at `address` in process `pid` (process_vm_writev): EFAULT for an address
/// that is not writable there, a short write included.
pub fn write_to_process(pid: u32, address: u64, bytes: &[u8]) -> io::Result<()> {
    let local = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    let remote = libc::iovec {
        iov_base: address as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: the local iovec covers `bytes`, which the kernel only reads; the remote one
    // names memory of the other process, which the kernel checks.
    let written = unsafe { libc::process_vm_writev(pid as libc::pid_t, &local, 1, &remote, 1, 0) };
    match usize::try_from(written) {
        Ok(n) if n == bytes.len() => Ok(()),
        Ok(_) => Err(io::Error::from_raw_os_error(libc::EFAULT)),
        Err(_) => Err(io::Error::last_os_error()),
    }
}
