//! The staged start protocol between the monitor and the container's first process.
//!
//! ```text
//! monitor                          child (in its new namespaces)
//!   clone3 ──────────────────────►  enters its v1 cgroups itself, waits
//!   uid_map, gid_map (lxc.idmap)
//!   cgroup ownership, network, lxc.proc.*, prlimits
//!   Go (+ /dev/fuse fd) ─────────►  cgroup namespace; with a /proc view: fuse mounted,
//!                                   detached; sysinfo filter installed (NEW_LISTENER)
//!                        ◄────────  ProcViewMounted + its own fuse fd (user namespace) and
//!                                   the listener (or ProcViewUnavailable)
//!   fork the view's server          rootfs opened (user namespace: then become its root),
//!   ProcViewServed ──────────────►  rootfs bind, /dev, ptys
//!                        ◄────────  Ptys + the pty masters (SCM_RIGHTS)
//!                                   view files bound over /proc/...
//!                        ◄────────  ProcViewBound (or ProcViewUnavailable)
//!                                   hostname, sysctls, read-only /proc/sys
//!                        ◄────────  MountsMade (user namespace only)
//!   helper: copy of the child's
//!   mounts into its user namespace
//!   through the host's: all locked
//!   LockedMounts + its ns fd ────►  setns into it, chdir /
//!                                   console, caps, ids, cwd
//!                        ◄────────  ReadyToExec
//!   start-host hooks
//!   Exec (only when there are start-host hooks) ─►
//!                                   execve(init): the channel closes (CLOEXEC)
//!   EOF = init runs      ◄────────  or Failed { step, message, config }
//! ```
//! Any step that fails sends `Failed` naming the step (and the config line it was about,
//! where the child knows it); the monitor then undoes the start.
//! With `lxc.idmap` the child is cloned into a new user namespace along with the others, so
//! they all belong to it (sysfs needs a netns owned by it, proc a pid namespace); it has no
//! ids there until the monitor writes its maps, which is why that comes before `Go`.

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
    /// With a user namespace: a mount namespace holding the child's mounts, locked, comes
    /// along for the child to enter (see `spawn::lock`).
    LockedMounts,
    /// The start-host hooks ran: exec init.
    Exec,
}

impl ParentMessage {
    /// The step the child was at when this was sent, as a failed send names it.
    pub fn step(&self) -> &'static str {
        match self {
            ParentMessage::Go { .. } => "go",
            ParentMessage::ProcViewServed => "procviewserved",
            ParentMessage::LockedMounts => "lockedmounts",
            ParentMessage::Exec => "exec",
        }
    }
}

/// Child to monitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildMessage {
    /// The pty masters come with this message: the console first when `console`, then ttys.
    Ptys { console: bool, ttys: u32 },
    /// The /proc view is mounted (detached): its server may start. Along come, in this
    /// order, the FUSE connection the child opened in its own user namespace
    /// (`own_device`), and the seccomp listener of its sysinfo calls when it installed
    /// that filter (`sysinfo`).
    ProcViewMounted { own_device: bool, sysinfo: bool },
    /// The view's files are bound over the kernel's.
    ProcViewBound,
    /// The /proc view could not be mounted or bound and was not required: the kernel's files
    /// stay.
    ProcViewUnavailable { reason: String },
    /// With a user namespace: every mount of the set-up is made (rootfs, /dev, masks, the
    /// /proc view, read-only /proc/sys); the monitor may lock them.
    MountsMade,
    /// Everything is set up; exec follows.
    ReadyToExec,
    /// A step failed; the child exits after sending this. `config`: the config line the
    /// step was about, where the child knows it (a mount entry).
    Failed {
        step: String,
        message: String,
        config: Option<ConfigLine>,
    },
}

/// A config key, with the value where several lines may set it (a mount entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigLine {
    pub key: String,
    pub value: Option<String>,
}
