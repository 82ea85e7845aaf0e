//! rlxc-runtime: making and running containers — the container's places on disk and its state
//! file, spawning init (`spawn`), its filesystem (`rootfs`), the per-container `monitor`, and
//! the verbs' runtime halves (`stop`, `status`), the log of every rlxc process (`log`),
//! unprivileged containers' id maps (`userns`). The process primitives all of them use
//! (`process`: fork/clone3, exec, signalfd, fds, pidfds) are rlxc-process's, re-exported.

pub mod attach;
mod confine;
pub mod create;
pub mod device;
mod error;
pub mod events;
pub mod exec;
pub mod fetch;
pub mod hooks;
pub mod initctl;
pub mod leftovers;
pub mod lock;
pub mod log;
pub mod lsm;
pub mod monitor;
pub mod name;
pub mod namespaces;
pub mod paths;
pub mod personality;
pub mod resources;
pub mod rootfs;
pub mod sched_core;
pub mod seccomp;
pub mod spawn;
pub mod state;
pub mod status;
pub mod stop;
pub mod unenforced;
pub mod unshare;
pub mod unwritten;
pub mod userns;
pub mod usernsexec;
pub mod utc;

pub use error::Error;
// The process primitives and the channel live in rlxc-process (the /proc view uses them
// too); under their old paths here, for the runtime's modules and its users.
pub use rlxc_process as process;
pub use rlxc_process::channel;
use rlxc_process::sys;
// The /proc view is rlxc-procview's; the monitor serves it, spawn mounts it.
pub use rlxc_procview as procview;
