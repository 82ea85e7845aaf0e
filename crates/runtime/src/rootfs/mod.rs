//! The container's filesystem, built from inside its new mount namespace.

mod error;
mod resolve;

pub use error::RootfsError;
pub use resolve::Resolver;
