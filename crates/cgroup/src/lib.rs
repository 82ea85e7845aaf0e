//! rlxc-cgroup
