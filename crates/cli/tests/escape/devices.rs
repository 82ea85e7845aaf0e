//! Device nodes the container makes itself (the seed keeps CAP_MKNOD and allows `mknod` of
//! every device): opening one must still be refused for the host's disks and its console.
//! In a user namespace it is stricter: the node cannot even be made.

use std::os::unix::fs::MetadataExt;

use crate::{Container, Setup};

escape_tests!(host_disk, host_console);

/// The block device the host's root file system lives on, as (major, minor).
fn host_root_device() -> (u64, u64) {
    let dev = std::fs::metadata("/").expect("stat /").dev();
    (libc::major(dev) as u64, libc::minor(dev) as u64)
}

/// The device `spec` ("c 5 1") cannot be opened through a node the container makes; in a
/// user namespace, mknod itself is refused.
fn assert_unreachable(c: &Container, setup: Setup, spec: &str) {
    c.assert_refused(&format!("device {spec}"), "EPERM");
    if setup == Setup::Unprivileged {
        c.assert_refused(&format!("mknod {spec}"), "EPERM");
    }
}

fn host_disk(setup: Setup) {
    let c = Container::start(setup, "esc-disk", &[]);
    let (major, minor) = host_root_device();
    assert_unreachable(&c, setup, &format!("b {major} {minor}"));
    // /dev/mem and /dev/port likewise (char 1:1, 1:4).
    assert_unreachable(&c, setup, "c 1 1");
    assert_unreachable(&c, setup, "c 1 4");
    c.stop();
}

/// The seed allows `c 5:1 rwm` for its /dev/console. The container's /dev/console is a pty
/// of its own devpts, so 5:1 would only ever be the host's console: rlxc refuses it.
fn host_console(setup: Setup) {
    let c = Container::start(setup, "esc-console", &[]);
    assert_unreachable(&c, setup, "c 5 1");
    // Its own console works: a pty slave (major 136) bound over /dev/console.
    let out = c.sh_ok("stat -c %t /dev/console; echo hello > /dev/console && echo wrote");
    assert_eq!(out, "88\nwrote\n", "{out}");
    c.stop();
}

/// A container made by `rlxc create -t busybox` has no device rules in its config and is
/// privileged (CAP_MKNOD kept): rlxc's default device list applies, so the host's disk and
/// console can be made but not opened, while /dev/null and the ptys still work.
#[test]
fn a_default_container_gets_a_device_policy() {
    let world = crate::support::World::new();
    let name = world.busybox("esc-devdef");
    let rootfs = world.lxcpath().join(&name).join("rootfs");
    std::fs::copy(crate::probe(), rootfs.join("bin/probe")).expect("copy the probe");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let sh = |script: &str| {
        let out = world.output(&["attach", "-n", &name, "--", "/bin/sh", "-c", script]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (major, minor) = host_root_device();
    assert_eq!(
        sh(&format!(
            "probe device b {major} {minor}; probe device c 5 1; probe device c 1 1; \
             echo x > /dev/null && echo null-ok"
        )),
        "EPERM\nEPERM\nEPERM\nnull-ok\n"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}
