//! rlxc-runtime
