//! Copies and clones of a container (`rlxc copy`, LXC's `lxc-copy`).
