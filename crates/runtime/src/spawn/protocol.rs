//! The staged start protocol between the monitor and the container's first process.
//!
//! ```text
//! monitor                          child (in its new namespaces)
//!   clone3 ──────────────────────►  enters its v1 cgroups itself, waits
//!   network, lxc.proc.*, prlimits
//!   Go ──────────────────────────►  cgroup namespace, rootfs, /dev, ptys
//!                        ◄────────  Ptys + the pty masters (SCM_RIGHTS)
//!                                   hostname, sysctls, console, caps, ids, cwd
//!                        ◄────────  ReadyToExec
//!   start-host hooks
//!   Exec (only when there are start-host hooks) ─►
//!                                   execve(init): the channel closes (CLOEXEC)
//!   EOF = init runs      ◄────────  or Failed { step, message }
//! ```
//! Any step that fails sends `Failed` naming the step; the monitor then undoes the start.
//! The host setup before `Go` is also where user-namespace id maps will be written.

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
