//! rlxc-cgroup: cgroup v1, v2 and hybrid behind one small interface. For now: [`layout`],
//! which finds out what is mounted where.

mod error;
pub mod layout;
mod mountinfo;

pub use error::Error;
pub use layout::{CgroupLayout, LayoutKind, V1Hierarchy, V2Mount};
