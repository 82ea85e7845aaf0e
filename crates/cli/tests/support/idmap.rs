//! Unprivileged busybox containers (`rlxc create --idmap`), each with a host id range of its
//! own: two containers sharing a range would be the same host uid, free to signal and trace
//! each other, and tests run in parallel.

use std::sync::atomic::{AtomicU32, Ordering};

use super::World;

/// The first host id of range `n`: 65536 ids from 200000 + n*65536.
pub fn base(n: u32) -> u32 {
    200_000 + n * 65_536
}

/// The `--idmap` option mapping the container's ids 0..65536 to range `n`.
pub fn option(n: u32) -> String {
    format!("u:0:{0}:65536,g:0:{0}:65536", base(n))
}

/// A range no other test of this process has: userns.rs numbers its tests' ranges by hand
/// (below 64); a binary that makes many containers passes its own block's first number.
pub fn fresh(block: u32) -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    block + NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `rlxc create -n NAME -t busybox --idmap IDMAP`.
pub fn create(world: &World, name: &str, idmap: &str) -> assert_cmd::assert::Assert {
    let args = ["create", "-n", name, "-t", "busybox", "--idmap", idmap];
    world.rlxc(&args).assert()
}

/// A busybox container made unprivileged (range `n`) by `rlxc create --idmap`.
pub fn unprivileged(world: &World, label: &str, n: u32) -> String {
    let name = world.name(label);
    create(world, &name, &option(n)).success();
    name
}
