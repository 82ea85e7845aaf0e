//! Backing stores of a container's rootfs (`dir`, `overlay`, `btrfs`, `loop`, `best`) and what
//! is done with them: copy, copy-on-write clone, snapshot, ephemeral containers.
//!
//! [`backend`] holds one module per kind (parse `lxc.rootfs.path`, make, mount, remove);
//! [`copy`] clones and copies containers; `snapshot` keeps their snapshots; [`workers`] are
//! the threads that create files in parallel (a copy's, a create's unpack).

pub mod backend;
pub mod copy;
pub mod workers;
