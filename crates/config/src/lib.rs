//! rlxc-config

pub mod values;
