//! Killing every process of a container. cgroup2's `cgroup.kill` does it in one write, fork
//! races included. Otherwise (and for processes only in v1 cgroups): freeze, SIGKILL every
//! listed process through a pidfd, thaw, wait on the pidfds, and look again, until empty.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::process::{pidfd_send_signal, Signal};

use crate::files::{read_procs_below, write_key};
use crate::wait::{busy, open_pidfds, wait_for_exit};
use crate::Error;

/// How long [`crate::ContainerCgroups::kill_all`] waits for killed processes to exit: they
/// cannot refuse SIGKILL, so only a process stuck in the kernel (D state) takes this long.
pub(crate) const KILL_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn kill_all(leaves: &[(PathBuf, bool)], timeout: Duration) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let unified = leaves.iter().find(|(_, unified)| *unified).map(|(d, _)| d);
    // Only when something is left: a cgroup.kill write takes the global threadgroup lock,
    // whose first taker waits an RCU grace period (~10 ms), and after a container's init
    // exited its pid namespace is empty already, so a stop usually finds nothing here.
    let nothing_left = processes(leaves)?.is_empty();
    if let Some(dir) = unified.filter(|dir| !nothing_left && dir.join("cgroup.kill").exists()) {
        write_key(dir, "cgroup.kill", "1")?;
    }
    let first = leaves
        .first()
        .map(|(dir, _)| dir.as_path())
        .unwrap_or(Path::new("/"));
    loop {
        let pids = processes(leaves)?;
        if pids.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(busy(first));
        }
        let freezer = Freezer::freeze(leaves)?;
        let pidfds = open_pidfds(first, &pids)?;
        // A pid read from cgroup.procs may have been reused by an unrelated process before
        // pidfd_open; if it is still listed now that the pidfd pins it, it is ours.
        let still_listed = processes(leaves)?;
        for (pid, pidfd) in &pidfds {
            if !still_listed.contains(pid) {
                continue;
            }
            match pidfd_send_signal(pidfd, Signal::KILL) {
                Ok(()) | Err(Errno::SRCH) => {}
                Err(errno) => {
                    return Err(Error::Signal {
                        path: first.to_owned(),
                        pid: *pid,
                        cause: errno.into(),
                    })
                }
            }
        }
        // Frozen tasks on v1 act on SIGKILL only once thawed.
        drop(freezer);
        wait_for_exit(first, pidfds, deadline)?;
    }
}

fn processes(leaves: &[(PathBuf, bool)]) -> Result<Vec<i32>, Error> {
    let mut pids = Vec::new();
    for (dir, _) in leaves {
        pids.extend(read_procs_below(dir)?);
    }
    pids.sort_unstable();
    pids.dedup();
    Ok(pids)
}

/// Frozen tasks cannot fork, so the list read while frozen is complete. Not waiting for
/// FREEZING to become FROZEN (v1 has no notification for it): a task that forks before it
/// freezes is found in the next round. Thaws on drop.
struct Freezer {
    thaw: Option<(PathBuf, &'static str, &'static str)>,
}

impl Freezer {
    fn freeze(leaves: &[(PathBuf, bool)]) -> Result<Self, Error> {
        let v1 = leaves
            .iter()
            .find(|(dir, unified)| !unified && dir.join("freezer.state").exists())
            .map(|(dir, _)| (dir.clone(), "freezer.state", "FROZEN", "THAWED"));
        let v2 = leaves
            .iter()
            .find(|(dir, unified)| *unified && dir.join("cgroup.freeze").exists())
            .map(|(dir, _)| (dir.clone(), "cgroup.freeze", "1", "0"));
        let Some((dir, key, frozen, thawed)) = v1.or(v2) else {
            return Ok(Self { thaw: None });
        };
        write_key(&dir, key, frozen)?;
        Ok(Self {
            thaw: Some((dir, key, thawed)),
        })
    }
}

impl Drop for Freezer {
    fn drop(&mut self) {
        if let Some((dir, key, thawed)) = &self.thaw {
            // A failed thaw leaves SIGKILLed tasks frozen; the wait then times out with
            // Error::Busy naming them, which is where this shows.
            let _ = write_key(dir, key, thawed);
        }
    }
}
