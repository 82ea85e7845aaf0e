//! Throwaway network namespaces for probes and tests.

use crate::{sys, Error, Operation};

/// Runs `work` on a fresh thread that has first moved itself into a new, empty network
/// namespace (only `lo`, down), and returns its result.
///
/// Namespaces belong to threads, so the rest of the process, and the host, never see the
/// namespace; when the thread ends the kernel destroys the namespace together with every link
/// still in it. That makes it safe to experiment: even a panic in `work` leaks nothing. A
/// [`Netlink`](crate::Netlink) handle must be opened inside `work` to talk to the new
/// namespace.
pub fn run_in_throwaway_netns<T, F>(work: F) -> Result<T, Error>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            sys::unshare_network_namespace().map_err(|cause| Error::Netns {
                op: Operation::EnterNewNetns,
                cause,
            })?;
            Ok(work())
        });
        worker.join().map_err(|_| Error::NetnsThreadPanicked)?
    })
}

/// Opens a [`Netlink`](crate::Netlink) handle that talks to the network namespace of `netns`
/// (an open `/proc/PID/ns/net` or a bind mount of one).
///
/// A socket belongs to the namespace it was made in, for its whole life, so the calling
/// thread steps into the namespace, opens the socket and steps back: two `setns`. (A helper
/// thread that did it instead cost 0.2 ms of a 1.3 ms `rlxc info`.) The socket also keeps the
/// namespace alive after its last process is gone, which is what lets a stop return a
/// physical NIC to the host after init exited.
pub fn open_netlink_in(netns: std::os::fd::BorrowedFd<'_>) -> Result<crate::Netlink, Error> {
    use std::os::fd::AsFd;
    let entering = |cause| Error::Netns {
        op: Operation::EnterNetns,
        cause,
    };
    let home = std::fs::File::open("/proc/thread-self/ns/net").map_err(entering)?;
    sys::enter_network_namespace(netns).map_err(entering)?;
    let opened = crate::Netlink::open();
    if let Err(error) = sys::enter_network_namespace(home.as_fd()) {
        // The way back is the way this thread came, with the same privileges: only a kernel
        // out of memory could refuse it. A thread left in the container's namespace would
        // make its later sockets and links there, on the wrong side: stop rather than that.
        eprintln!("rlxc: cannot return to the network namespace it came from: {error}");
        std::process::abort();
    }
    opened
}

/// The inode of the calling thread's network namespace: two namespaces are the same when
/// their inodes are. The state file records the monitor's, so a clean-up run from another
/// namespace never deletes links of the same name there.
pub fn current_netns_id() -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}
