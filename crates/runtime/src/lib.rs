//! rlxc-runtime: making and running containers — the container's places on disk and its state
//! file, and (growing) spawn, rootfs, console and monitor.

pub mod channel;
mod error;
pub mod namespaces;
pub mod paths;
pub mod monitor;
pub mod rootfs;
pub mod spawn;
pub mod state;
pub mod status;
pub mod stop;
mod sys;

pub use error::Error;
