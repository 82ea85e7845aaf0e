//! Copies and clones of a container (`rlxc copy`, LXC's `lxc-copy`): the full copy of a
//! `dir` rootfs ([`tree`]), the clone's config ([`config`]) and its name inside the rootfs
//! ([`hostname`]). Locks, staging and hooks are the runtime's (`rlxc_runtime::create::copy`).

pub mod config;
mod data;
pub mod hostname;
pub mod tree;

pub use config::{relocate, rewrite, Renaming, Rewritten};
pub use hostname::rename_in_rootfs;
pub use tree::{copy_file_below, copy_tree, copy_tree_into, TreeError, TreeReport};
