//! The staged start protocol between the monitor and the container's first process.
//!
//! ```text
//! monitor                          child (in its new namespaces)
//!   clone3 ──────────────────────►  waits
//!   cgroups (v1), prlimits
//!   Go (+ /dev/fuse fd) ─────────►  rootfs, /dev, ptys
//!                        ◄────────  Ptys + the pty masters (SCM_RIGHTS)
//!                                   with a /proc view: fuse mounted, detached;
//!                                   sysinfo filter installed (NEW_LISTENER)
//!                        ◄────────  ProcViewMounted + the listener (or ProcViewUnavailable)
//!   fork the view's server
//!   ProcViewServed ──────────────►  view files bound over /proc/...
//!                        ◄────────  ProcViewBound (or ProcViewUnavailable)
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
    /// The host side is ready: the child may set itself up. With `procview`, the monitor's
    /// /dev/fuse fd comes along for the child to mount.
    Go {
        procview: Option<crate::procview::ViewRequest>,
    },
    /// The view's server runs: the child may bind its files (each bind looks a file up).
    ProcViewServed,
    /// The start-host hooks ran: exec init.
    Exec,
}

/// Child to monitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildMessage {
    /// The pty masters come with this message: the console first when `console`, then ttys.
    Ptys { console: bool, ttys: u32 },
    /// The /proc view is mounted (detached): its server may start. The seccomp listener of
    /// the container's sysinfo calls comes along when the child installed that filter.
    ProcViewMounted,
    /// The view's files are bound over the kernel's.
    ProcViewBound,
    /// The /proc view could not be mounted or bound and was not required: the kernel's files
    /// stay.
    ProcViewUnavailable { reason: String },
    /// Everything is set up; exec follows.
    ReadyToExec,
    /// A step failed; the child exits after sending this.
    Failed { step: String, message: String },
}
