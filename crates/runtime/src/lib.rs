//! rlxc-runtime: making and running containers — the container's places on disk and its state
//! file, and (growing) spawn, rootfs, console and monitor.

pub mod create;
mod error;
pub mod namespaces;
pub mod paths;
pub mod state;
mod sys;

pub use error::Error;
