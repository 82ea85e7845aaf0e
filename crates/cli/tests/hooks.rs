//! Hooks with LXC's environment, wherever they run: Debian's own lxcfs hooks (which every
//! distro config includes) with and without a running lxcfs, the start hook inside the
//! container, and stop hooks handed the container's namespaces after init is gone.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use support::{assert_ok, World};

const LXCFS_CONFIG: &str = "/usr/share/lxc/config/common.conf.d/00-lxcfs.conf";

/// A process holding a private mount namespace of its own (the test's view of
/// `/var/lib/lxcfs`, whatever the host has there), killed when the test ends.
struct MountNamespace {
    holder: Child,
}

impl MountNamespace {
    /// `program` started by `unshare --mount --propagation private`, after `setup`.
    fn new(setup: &str, program: &str) -> MountNamespace {
        let holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!("{setup}; exec {program}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("unshare");
        MountNamespace { holder }
    }

    /// Waits (bounded, against a hang) until `/var/lib/lxcfs` is `fstype` or not a mount
    /// point at all (`None`) in this namespace.
    fn wait_for_lxcfs(&self, fstype: Option<&str>) {
        let mountinfo = format!("/proc/{}/mountinfo", self.holder.id());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let mounts = std::fs::read_to_string(&mountinfo).expect("mountinfo");
            let found = mounts
                .lines()
                .find(|line| line.split(' ').nth(4) == Some("/var/lib/lxcfs"))
                .and_then(|line| line.split(" - ").nth(1))
                .and_then(|rest| rest.split(' ').next())
                .map(str::to_string);
            if found.as_deref() == fstype {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "/var/lib/lxcfs is {found:?}, expected {fstype:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// `rlxc ARGS` run inside this mount namespace, with the world's places.
    fn rlxc(&self, world: &World, args: &[&str]) -> std::process::Output {
        support::rlxc_in_mount_namespace_of(self.holder.id(), world, args)
    }
}

impl Drop for MountNamespace {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

/// A busybox container configured as a distro config leaves it: `dir:` rootfs, and Debian's
/// lxcfs hooks included.
fn with_lxcfs_hooks(world: &World, base: &str) -> String {
    assert!(
        Path::new(LXCFS_CONFIG).exists(),
        "{LXCFS_CONFIG} is missing: scripts/lib.sh installs lxcfs"
    );
    let name = world.busybox(base);
    let config = std::fs::read_to_string(world.config(&name)).expect("config");
    let config = config.replace("lxc.rootfs.path = /", "lxc.rootfs.path = dir:/");
    assert!(config.contains("lxc.rootfs.path = dir:/"), "{config}");
    std::fs::write(
        world.config(&name),
        format!("{config}lxc.include = {LXCFS_CONFIG}\n"),
    )
    .expect("config");
    name
}

#[test]
fn debians_lxcfs_hooks_run_and_succeed_without_a_running_lxcfs() {
    let world = World::new();
    let name = with_lxcfs_hooks(&world, "nolxcfs");
    let namespace = MountNamespace::new("umount -l /var/lib/lxcfs 2>/dev/null; true", "sleep 600");
    namespace.wait_for_lxcfs(None);
    assert_ok(&namespace.rlxc(&world, &["start", "-n", &name]), "start");
    assert_eq!(world.state(&name), "RUNNING");
    // The post-stop hook (lxcfs's reboot hook) runs and succeeds too.
    assert_ok(
        &namespace.rlxc(&world, &["stop", "-n", &name, "-k"]),
        "stop",
    );
    world.assert_nothing_left(&name);
}

#[test]
fn debians_lxcfs_hooks_bind_lxcfs_files_where_lxcfs_runs() {
    let world = World::new();
    let name = with_lxcfs_hooks(&world, "withlxcfs");
    // Our own lxcfs, in a mount namespace of its own: the host's /var/lib/lxcfs is not ours.
    let namespace = MountNamespace::new(
        "umount -l /var/lib/lxcfs 2>/dev/null; mkdir -p /var/lib/lxcfs",
        "lxcfs -f /var/lib/lxcfs",
    );
    namespace.wait_for_lxcfs(Some("fuse.lxcfs"));
    assert_ok(&namespace.rlxc(&world, &["start", "-n", &name]), "start");
    let pid = world.init_pid(&name);
    let mounts = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).expect("mountinfo");
    let from_lxcfs: Vec<&str> = mounts
        .lines()
        .filter(|line| line.contains(" - fuse.lxcfs "))
        .filter_map(|line| line.split(' ').nth(4))
        .collect();
    assert!(
        from_lxcfs.contains(&"/proc/meminfo"),
        "the mount hook bound no lxcfs file over /proc: {from_lxcfs:?}\n{mounts}"
    );
    assert_ok(
        &namespace.rlxc(&world, &["stop", "-n", &name, "-k"]),
        "stop",
    );
    world.assert_nothing_left(&name);
}

#[test]
fn the_start_hook_runs_inside_with_lxcs_environment() {
    let world = World::new();
    let name = world.busybox("starthook");
    let hook = world.rootfs(&name).join("start-hook.sh");
    std::fs::write(
        &hook,
        "#!/bin/sh\n{ env; echo \"args=$*\"; } >/start-hook.out\n",
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    world.append_config(&name, "lxc.hook.start = /start-hook.sh\n");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let out = std::fs::read_to_string(world.rootfs(&name).join("start-hook.out")).expect("out");
    let rootfs = world.rootfs(&name);
    for line in [
        format!("LXC_NAME={name}"),
        "LXC_HOOK_TYPE=start".to_string(),
        "LXC_HOOK_SECTION=lxc".to_string(),
        "LXC_HOOK_VERSION=0".to_string(),
        "LXC_CGNS_AWARE=1".to_string(),
        format!("LXC_ROOTFS_MOUNT={}", rootfs.display()),
        format!("LXC_CONFIG_FILE={}", world.config(&name).display()),
        format!("args={name} lxc start"),
    ] {
        assert!(out.lines().any(|l| l == line), "no {line} in:\n{out}");
    }
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// What LXC gives stop hooks: the container's namespaces, still there after init's exit.
#[test]
fn stop_hooks_get_the_containers_namespaces_after_init_is_gone() {
    for version in [0, 1] {
        let world = World::new();
        let name = world.busybox(&format!("stopns{version}"));
        let out = world.dir.path().join("stop-hook.out");
        let hook = world.dir.path().join("stop-hook.sh");
        let script = match version {
            0 => format!(
                "#!/bin/sh\nfor a; do case $a in net:*|uts:*) echo \"${{a%%:*}} $(readlink ${{a#*:}})\";; esac; done >{}\n",
                out.display()
            ),
            _ => format!(
                "#!/bin/sh\n{{ echo \"net $(readlink $LXC_NET_NS)\"; echo \"uts $(readlink $LXC_UTS_NS)\"; }} >{}\n",
                out.display()
            ),
        };
        std::fs::write(&hook, script).expect("hook");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        world.append_config(
            &name,
            &format!(
                "lxc.hook.version = {version}\nlxc.hook.stop = {}\n",
                hook.display()
            ),
        );
        world.rlxc(&["start", "-n", &name]).assert().success();
        let pid = world.init_pid(&name);
        let ns = |kind: &str| {
            std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
                .expect("ns")
                .display()
                .to_string()
        };
        let expected = [format!("net {}", ns("net")), format!("uts {}", ns("uts"))];
        world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
        let text = std::fs::read_to_string(&out).expect("stop hook output");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, expected, "hook version {version}");
        world.assert_nothing_left(&name);
    }
}

/// `lxc.monitor.unshare = 1`: what a pre-start hook mounts stays in the monitor's own mount
/// namespace (and the container's, made from it), out of the host's.
#[test]
fn with_monitor_unshare_a_pre_start_hooks_mount_stays_out_of_the_host() {
    let world = World::new();
    let name = world.busybox("monunshare");
    let target = world.dir.path().join("pre-start-mount");
    std::fs::create_dir(&target).expect("mkdir");
    let marker = world.dir.path().join("hook-ran");
    let hook = world.dir.path().join("pre-start.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nmount -t tmpfs rlxc-test-tmpfs {} && touch {}\n",
            target.display(),
            marker.display()
        ),
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    world.append_config(
        &name,
        &format!(
            "lxc.monitor.unshare = 1\nlxc.hook.pre-start = {}\n",
            hook.display()
        ),
    );
    // Should the mount reach the host after all, it goes with the test.
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(target.clone());
    world.rlxc(&["start", "-n", &name]).assert().success();
    assert!(marker.exists(), "the pre-start hook did not run");
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !host_mounts.contains(target.to_str().expect("utf-8")),
        "the hook's mount reached the host"
    );
    let monitor = world.monitor_pid(&name);
    let monitor_mounts =
        std::fs::read_to_string(format!("/proc/{monitor}/mountinfo")).expect("mountinfo");
    assert!(
        monitor_mounts.contains(target.to_str().expect("utf-8")),
        "the hook's mount is not in the monitor's namespace"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}
