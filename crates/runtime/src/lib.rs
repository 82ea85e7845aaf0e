//! rlxc-runtime: spawning and setting up containers. For now: the namespace kinds and a probe
//! that asks the running kernel whether each kind can be created.

mod error;
pub mod namespaces;
mod sys;

pub use error::Error;
