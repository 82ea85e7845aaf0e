//! rlxc-net
