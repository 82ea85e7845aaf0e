//! rlxc-config
