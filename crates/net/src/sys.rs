//! The crate's only `unsafe`: raw syscalls the netlink crates do not wrap.

use std::io;

/// Moves the calling thread (only it) into a new, empty network namespace.
pub(crate) fn unshare_network_namespace() -> io::Result<()> {
    // SAFETY: `unshare` takes a plain flag word and touches no memory of ours. CLONE_NEWNET
    // changes only the calling thread's network namespace; file descriptors and memory stay
    // shared, so no Rust invariant depends on it.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Moves the calling thread (only it) into the network namespace of `fd`.
pub(crate) fn enter_network_namespace(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `setns` reads only its two integer arguments; `fd` is borrowed, so it stays open
    // for the call. CLONE_NEWNET switches only this thread's network namespace, which no
    // Rust invariant depends on.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
