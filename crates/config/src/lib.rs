//! rlxc-config: LXC's container config language, today's keys and the legacy ones, read into a
//! typed [`ContainerSpec`].
//!
//! The pipeline: [`source`] reads lines and follows includes, [`legacy`] translates old key
//! names, [`keys`] (the one key table) parses each value into the spec, and [`load`] checks
//! what only the whole file can tell. [`render`] writes a spec back in today's keys, and
//! [`update`] rewrites a legacy file in place.

pub mod audit;
pub mod docs;
pub mod error;
pub mod grammar;
pub mod keys;
pub mod legacy;
pub mod limits;
pub mod load;
pub mod render;
pub mod seccomp_profile;
pub mod source;
pub mod spec;
pub mod system;
pub mod update;
pub mod values;

pub use error::{ConfigError, LoadFailure, Origin, Warning};
pub use load::{load_file, load_str, AppliedLine, Loaded};
pub use spec::ContainerSpec;
