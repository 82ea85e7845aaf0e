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
            sys::unshare_network_namespace().map_err(|source| Error::Netns {
                op: Operation::EnterNewNetns,
                source,
            })?;
            Ok(work())
        });
        worker.join().map_err(|_| Error::NetnsThreadPanicked)?
    })
}
