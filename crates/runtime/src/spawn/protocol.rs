//! The staged start protocol between the monitor and the container's first process.
//!
//! ```text
//! monitor                          child (in its new namespaces)
//!   clone3 ──────────────────────►  waits
//!   uid_map, gid_map (lxc.idmap)
//!   cgroups (v1), prlimits
//!   Go ──────────────────────────►  rootfs opened (user namespace: then become its root),
//!                                   rootfs bind, /dev, ptys
//!                        ◄────────  Ptys + the pty masters (SCM_RIGHTS)
//!                                   hostname, sysctls, console, caps, ids, cwd
//!                        ◄────────  ReadyToExec
//!   start-host hooks
//!   Exec (only when there are start-host hooks) ─►
//!                                   execve(init): the channel closes (CLOEXEC)
//!   EOF = init runs      ◄────────  or Failed { step, message }
//! ```
//! Any step that fails sends `Failed` naming the step; the monitor then undoes the start.
//! With `lxc.idmap` the child is cloned into a new user namespace along with the others, so
//! they all belong to it (sysfs needs a netns owned by it, proc a pid namespace); it has no
//! ids there until the monitor writes its maps, which is why that comes before `Go`.

use serde::{Deserialize, Serialize};

/// Monitor to child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParentMessage {
    /// The host side is ready: the child may set itself up.
    Go,
    /// The start-host hooks ran: exec init.
    Exec,
}

/// Child to monitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildMessage {
    /// The pty masters come with this message: the console first when `console`, then ttys.
    Ptys { console: bool, ttys: u32 },
    /// Everything is set up; exec follows.
    ReadyToExec,
    /// A step failed; the child exits after sending this.
    Failed { step: String, message: String },
}
