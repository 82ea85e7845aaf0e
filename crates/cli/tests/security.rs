//! Safe defaults that hold with any config, the seed's included: the host's kernel log,
//! keys and memory stay out of reach, and rlxc's default seccomp policy applies to init and to
//! attached commands unless the config turns it off on purpose.

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
