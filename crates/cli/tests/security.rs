//! Safe defaults that hold with any config, the seed's included: the host's kernel log,
//! keys and memory stay out of reach, rlxc's default seccomp policy applies to init and to
//! attached commands unless the config turns it off on purpose, and a guest cannot make the
//! host's filesystem under its rootfs read-only.

mod support;

use std::path::Path;

use support::World;

fn seed_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tests/fixtures/funtoo0.conf")
}

/// Runs `script` in the container through attach and returns its stdout.
fn inside(world: &World, name: &str, script: &str) -> String {
    let out = world.output(&["attach", "-n", name, "--", "/bin/sh", "-c", script]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Files of /proc that show the host's kernel or other users' secrets.
const HOST_SECRETS: [&str; 5] = [
    "/proc/keys",
    "/proc/timer_list",
    "/proc/kcore",
    "/proc/sched_debug",
    "/proc/kmsg",
];

/// Whether the host's `file` has something to read (/proc/kmsg may have nothing new, and
/// then a read waits: it is polled instead).
fn host_has_content(file: &str) -> bool {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(mut f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(file)
    else {
        return false;
    };
    let mut buffer = [0u8; 16];
    f.read(&mut buffer).is_ok_and(|n| n > 0)
}

fn assert_host_secrets_are_out_of_reach(world: &World, name: &str) {
    let pid = world.init_pid(name);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    assert!(status.contains("Seccomp:\t2"), "init has no seccomp filter");
    let script = format!(
        "grep Seccomp: /proc/self/status; \
         dmesg 2>/dev/null | grep -q . && echo dmesg-readable; \
         for f in {secrets}; do \
           [ -e $f ] || continue; echo present:$f; \
           [ \"$(timeout 10 head -c 16 $f 2>/dev/null | wc -c)\" -eq 0 ] || echo readable:$f; \
         done; \
         ls -A /sys/firmware 2>/dev/null | head -1 | grep -q . && echo firmware-visible; \
         echo done",
        secrets = HOST_SECRETS.join(" ")
    );
    let report = inside(world, name, &script);
    assert!(
        report.contains("Seccomp:\t2"),
        "attach runs without seccomp: {report}"
    );
    assert!(report.ends_with("done\n"), "{report}");
    // procfs reports a size of 0 for all of these: their content is what tells. Each one
    // the host has, and has something in, must be there (masked, not gone) and read empty.
    let mut checked = 0;
    for file in HOST_SECRETS {
        if host_has_content(file) {
            assert!(
                report.contains(&format!("present:{file}\n")),
                "{file}: {report}"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "none of {HOST_SECRETS:?} has content on this host"
    );
    for leak in ["dmesg-readable", "readable:", "firmware-visible"] {
        assert!(!report.contains(leak), "{leak} in {report}");
    }
}

#[test]
fn a_default_container_reads_nothing_of_the_hosts_kernel() {
    let world = World::new();
    let name = world.busybox("secdef");
    world.rlxc(&["start", "-n", &name]).assert().success();
    assert_host_secrets_are_out_of_reach(&world, &name);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn the_seeds_config_with_its_own_proc_mount_is_masked_too() {
    let world = World::new();
    let owner = world.busybox("secseedroot");
    let rootfs = world.lxcpath().join(&owner).join("rootfs");
    let name = world.name("secseed");
    let log = world.dir.path().join("console.log");
    world
        .rlxc(&[
            "start",
            "-n",
            &name,
            "--rcfile",
            &seed_config().display().to_string(),
            "-s",
            &format!("lxc.rootfs.path={}", rootfs.display()),
            "-s",
            "lxc.net.0.type=empty",
            "-s",
            &format!("lxc.console.logfile={}", log.display()),
        ])
        .assert()
        .success();
    assert_host_secrets_are_out_of_reach(&world, &name);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn an_empty_seccomp_profile_turns_the_default_policy_off_on_purpose() {
    let world = World::new();
    let name = world.busybox("secoff");
    world.append_config(&name, "lxc.seccomp.profile =\n");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    assert!(status.contains("Seccomp:\t0"), "{status}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

/// A tmpfs of the test's own, unmounted when dropped (a failing test included).
struct OwnFilesystem(std::path::PathBuf);

impl OwnFilesystem {
    fn mount(at: std::path::PathBuf) -> OwnFilesystem {
        std::fs::create_dir_all(&at).expect("mount point");
        rustix::mount::mount(
            "tmpfs",
            &at,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            None,
        )
        .expect("mounting a tmpfs");
        OwnFilesystem(at)
    }
}

impl Drop for OwnFilesystem {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

/// A privileged guest's `mount -o remount,ro /` (what Debian's shutdown does) would
/// reconfigure the superblock its rootfs shares with the host: the monitor pins it, as LXC
/// does, so the remount fails and the host's filesystem stays writable. The rootfs is moved
/// to a tmpfs of the test's own, which nothing else writes to (the container's directory,
/// with its log, stays elsewhere).
#[test]
fn a_guest_cannot_remount_the_filesystem_under_its_rootfs_read_only() {
    let world = World::new();
    let name = world.busybox("pinned");
    let own = OwnFilesystem::mount(world.dir.path().join("own-fs"));
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(world.rootfs(&name).join("."))
        .arg(&own.0)
        .status()
        .expect("cp");
    assert!(copied.success());
    world.append_config(
        &name,
        &format!("lxc.rootfs.path = dir:{}\n", own.0.display()),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    let out = world.output(&[
        "attach",
        "-n",
        &name,
        "--",
        "mount",
        "-o",
        "remount,ro",
        "/",
    ]);
    assert!(!out.status.success(), "the remount went through: {out:?}");
    assert!(!support::superblock_read_only(&own.0));
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
    // Let go of with the container: the host may remount it again.
    rustix::mount::mount_remount(&own.0, rustix::mount::MountFlags::RDONLY, "")
        .expect("a read-only remount once the container is gone");
}
