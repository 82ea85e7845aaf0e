//! rlxc-cgroup: cgroup v1, v2 and hybrid behind one small interface.
//!
//! - [`layout`]: which hierarchies are mounted where.
//! - [`own_cgroups`]: the cgroup the calling process runs in, per hierarchy; container
//!   cgroups go below it and nowhere else.
//! - [`ContainerCgroups`]: create a container's cgroups, place processes, set and get
//!   controller files, kill everything in them, and remove them; [`ContainerCgroups::freeze`],
//!   [`ContainerCgroups::stats`].
//! - [`LimitPlan`]: the config's `lxc.cgroup.*` / `lxc.cgroup2.*` settings on this host's
//!   layout, translated between v1 and v2 where the controller is on the other side
//!   ([`translate`]); cgroup2 device rules as an eBPF program ([`devices`]).
//!
//! rlxc writes only into cgroups it created, with one exception: enabling a requested
//! cgroup2 controller in the caller's own `cgroup.subtree_control` (see [`CgroupRequest`]).

mod bpf;
mod bpf_replace;
mod cgroupfs;
mod chown;
mod container;
mod create;
mod defaults;
mod delegate;
pub mod devices;
mod error;
#[cfg(test)]
mod fake_cgroupfs;
mod files;
mod freeze;
mod kill;
pub mod layout;
pub mod limits;
mod mountinfo;
mod own;
mod remove;
mod stats;
pub mod translate;
mod wait;

pub use bpf::bpf_denied;
pub use container::{self_entry_key, ContainerCgroups, LeafRecord, Placement, SelfEntry};
pub use create::{controller_of, leaf_dirs, monitor_path, payload_path, CgroupRequest};
pub use defaults::{DEFAULT_DEVICE_RULES, DEFAULT_PIDS_MAX};
pub use delegate::{NotDelegated, Undelegated, V2Delegation};
pub use error::Error;
pub use freeze::{Freezer, FreezerState};
pub use layout::{CgroupLayout, LayoutKind, V1Hierarchy, V2Mount};
pub use limits::LimitPlan;
pub use own::{own_cgroups, OwnCgroups, PROC_SELF_CGROUP};
pub use stats::{IoBytes, Stats};
