//! rlxc-cgroup: cgroup v1, v2 and hybrid behind one small interface.
//!
//! - [`layout`]: which hierarchies are mounted where.
//! - [`own_cgroups`]: the cgroup the calling process runs in, per hierarchy; container
//!   cgroups go below it and nowhere else.
//! - [`ContainerCgroups`]: create a container's cgroups, place processes, set and get
//!   controller files, kill everything in them, and remove them.
//!
//! rlxc writes only into cgroups it created, with one exception: enabling a requested
//! cgroup2 controller in the caller's own `cgroup.subtree_control` (see [`CgroupRequest`]).

mod cgroupfs;
mod container;
mod create;
mod delegate;
mod error;
#[cfg(test)]
mod fake_cgroupfs;
mod files;
mod kill;
pub mod layout;
mod mountinfo;
mod own;
mod remove;
mod wait;

pub use container::{ContainerCgroups, Placement};
pub use create::{controller_of, monitor_path, payload_path, CgroupRequest};
pub use delegate::{NotDelegated, Undelegated, V2Delegation};
pub use error::Error;
pub use layout::{CgroupLayout, LayoutKind, V1Hierarchy, V2Mount};
pub use own::{own_cgroups, OwnCgroups, PROC_SELF_CGROUP};
