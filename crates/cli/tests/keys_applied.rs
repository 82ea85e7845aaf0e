//! Keys that change how the container's processes run, checked on real busybox containers
//! from outside or through `rlxc attach`: `lxc.arch` (the personality of init and of
//! attached commands), `lxc.sched.core` (a core-scheduling cookie of the container's own, or
//! a refused start where the kernel has no core scheduling), `lxc.rootfs.mount` (where the
//! rootfs is bound before the pivot, as the mount hooks see it), `lxc.tty.dir` (the ttys
//! and console under `/dev/DIR/`, still reached by `rlxc console`),
//! `lxc.cgroup.dir.monitor.pivot` (where the monitor ends), and keys set by `start -s`
//! (held by the verbs that come later).

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use predicates::prelude::*;

use support::{assert_ok, Gathered, World, RLXC};

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// `rlxc ARGS` run under `setarch linux32`: a caller whose own personality is 32-bit.
fn rlxc_under_linux32(world: &World, args: &[&str]) -> Output {
    let mut argv = vec!["linux32", RLXC];
    argv.extend_from_slice(args);
    world
        .process(Path::new("setarch"), &argv)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("setarch linux32 rlxc")
}

/// `/proc/PID/personality` of a host process, as the kernel shows it (hex).
fn personality_of(pid: i32) -> u32 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/personality")).expect("personality");
    u32::from_str_radix(text.trim(), 16).expect("hex")
}

const PER_LINUX32: u32 = 0x0008;

#[cfg(target_arch = "x86_64")]
#[test]
fn arch_i686_is_what_init_and_attached_commands_see() {
    let world = World::new();
    let name = world.busybox("arch32");
    world.append_config(&name, "lxc.arch = i686\n");
    world.start_with_init_script(&name, "uname -m > /init-arch");
    let seen = std::fs::read_to_string(world.rootfs(&name).join("init-arch")).expect("init-arch");
    assert_eq!(seen.trim(), "i686", "init's uname -m");
    assert_eq!(personality_of(world.init_pid(&name)), PER_LINUX32);
    // An attached command runs as init does; `-a` says otherwise for one command.
    let attached = world.output(&["attach", "-n", &name, "--", "uname", "-m"]);
    assert_ok(&attached, "attach");
    assert_eq!(text(&attached), "i686", "an attached command's uname -m");
    let native = world.output(&["attach", "-n", &name, "-a", "x86_64", "--", "uname", "-m"]);
    assert_ok(&native, "attach -a x86_64");
    assert_eq!(text(&native), "x86_64");
    let foreign = world.output(&["attach", "-n", &name, "-a", "aarch64", "--", "true"]);
    assert!(!foreign.status.success(), "attach -a aarch64 ran");
    let stderr = String::from_utf8_lossy(&foreign.stderr);
    assert!(
        stderr.contains("attach -a = aarch64: this host"),
        "{stderr}"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// `lxc.arch = x86_64` is the native personality even for an rlxc that was itself started
/// under `linux32`, and attach gives init's, not its caller's.
#[cfg(target_arch = "x86_64")]
#[test]
fn arch_x86_64_is_native_whatever_rlxc_runs_under() {
    let world = World::new();
    let name = world.busybox("arch64");
    world.append_config(&name, "lxc.arch = x86_64\n");
    let started = rlxc_under_linux32(&world, &["start", "-n", &name]);
    assert_ok(&started, "linux32 rlxc start");
    assert_eq!(
        personality_of(world.init_pid(&name)),
        0,
        "init's personality"
    );
    let attached = rlxc_under_linux32(&world, &["attach", "-n", &name, "--", "uname", "-m"]);
    assert_ok(&attached, "linux32 rlxc attach");
    assert_eq!(text(&attached), "x86_64", "an attached command's uname -m");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// An architecture this host cannot run is refused before anything is made.
#[cfg(target_arch = "x86_64")]
#[test]
fn arch_the_host_cannot_run_is_refused() {
    let world = World::new();
    let name = world.busybox("archarm");
    world.append_config(&name, "lxc.arch = aarch64\n");
    let started = world.output(&["start", "-n", &name]);
    assert!(!started.status.success(), "an aarch64 container started");
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(
        stderr.contains("lxc.arch = aarch64: this host (x86_64) cannot run aarch64"),
        "{stderr}"
    );
    assert_eq!(world.state(&name), "STOPPED");
    world.assert_nothing_left(&name);
    // `config check` refuses it too, at its line, before any start.
    let checked = world.output(&["config", "check", "-n", &name]);
    assert!(!checked.status.success(), "config check accepted it");
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(
        stderr.contains(&format!("error: {}:", world.config(&name).display()))
            && stderr.contains("lxc.arch = aarch64: this host (x86_64) cannot run aarch64"),
        "{stderr}"
    );
}

/// The core-scheduling cookie of a host process, or the errno of a kernel that has none.
fn core_cookie(pid: i32) -> Result<u64, rustix::io::Errno> {
    let pid = rustix::process::Pid::from_raw(pid).expect("pid");
    rustix::thread::core_scheduling_cookie(pid, rustix::thread::CoreSchedulingScope::Thread)
}

/// Waits (bounded) for the command `attach` runs: its child (a sibling of the confiner, which
/// has exited) that has exec'd `comm`.
fn attached_command(attach: &std::process::Child, comm: &str) -> i32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", attach.id()))
            .unwrap_or_default();
        let found = children.split_whitespace().find_map(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (name.trim() == comm).then(|| pid.parse().ok()).flatten()
        });
        if let Some(pid) = found {
            return pid;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "attach never ran {comm}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `lxc.sched.core = 1`: init gets a cookie that is neither zero nor the caller's, and an
/// attached command shares it. Where the kernel has no core scheduling (built without
/// CONFIG_SCHED_CORE: EINVAL, or no SMT: ENODEV) the start is refused, saying why, and leaves
/// nothing: both are what the key promises, and which one this host gets is the kernel's.
#[test]
fn sched_core_is_a_cookie_of_the_containers_own_or_a_refused_start() {
    let world = World::new();
    let name = world.busybox("core");
    world.append_config(&name, "lxc.sched.core = 1\n");
    let ours = core_cookie(std::process::id() as i32);
    let started = world.output(&["start", "-n", &name]);
    let ours = match ours {
        Ok(cookie) => cookie,
        Err(errno) => {
            assert!(!started.status.success(), "started without core scheduling");
            let stderr = String::from_utf8_lossy(&started.stderr);
            let reason = match errno {
                rustix::io::Errno::INVAL => "this kernel has no core scheduling",
                rustix::io::Errno::NODEV => "this machine has no SMT",
                _ => "core scheduling",
            };
            assert!(
                stderr.contains("lxc.sched.core = 1: ") && stderr.contains(reason),
                "{errno}: {stderr}"
            );
            world.assert_nothing_left(&name);
            let checked = world.output(&["config", "check", "-n", &name]);
            assert!(!checked.status.success(), "config check accepted it");
            let stderr = String::from_utf8_lossy(&checked.stderr);
            assert!(stderr.contains("lxc.sched.core = 1: "), "{stderr}");
            return;
        }
    };
    assert_ok(&started, "start");
    let init = core_cookie(world.init_pid(&name)).expect("init's cookie");
    assert_ne!(init, 0, "init has no cookie");
    assert_ne!(init, ours, "init shares its starter's cookie");
    let mut attach = world
        .process(
            Path::new(RLXC),
            &["attach", "-n", &name, "--", "sleep", "60"],
        )
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("rlxc attach");
    let command = attached_command(&attach, "sleep");
    let shared = core_cookie(command);
    let _ = attach.kill();
    let _ = std::process::Command::new("kill")
        .arg(command.to_string())
        .status();
    let _ = attach.wait();
    assert_eq!(shared, Ok(init), "the attached command's cookie");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// `lxc.rootfs.mount`: the mount hooks find the container's rootfs (the same tree, not a
/// copy) mounted at `$LXC_ROOTFS_MOUNT`, the container runs, and the host's view of that
/// directory is unchanged: the mount exists only in the container's namespace.
#[test]
fn rootfs_mount_is_where_the_mount_hooks_find_the_rootfs() {
    let world = World::new();
    let name = world.busybox("rmount");
    let at = world.dir.path().join("rootfs-mount");
    std::fs::create_dir(&at).expect("mkdir");
    let hook = world.dir.path().join("mount-hook");
    std::fs::write(
        &hook,
        "#!/bin/sh\nset -e\ntest \"$LXC_ROOTFS_MOUNT\" = \"$1\"\n\
         test -e \"$LXC_ROOTFS_MOUNT/bin/busybox\"\n\
         grep -q \" $LXC_ROOTFS_MOUNT \" /proc/self/mountinfo\n\
         touch \"$LXC_ROOTFS_MOUNT/from-mount-hook\"\n",
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    world.append_config(
        &name,
        &format!(
            "lxc.rootfs.mount = {at}\nlxc.hook.mount = {hook} {at}\n",
            at = at.display(),
            hook = hook.display()
        ),
    );
    let started = world.output(&["start", "-n", &name]);
    assert_ok(&started, "start with lxc.rootfs.mount");
    // What the hook made at the mount is in the rootfs itself.
    assert!(world.rootfs(&name).join("from-mount-hook").exists());
    let seen = world.sh(&name, "test -e /from-mount-hook && echo in-the-container");
    assert_eq!(text(&seen), "in-the-container");
    let host_view: Vec<_> = std::fs::read_dir(&at).expect("read_dir").collect();
    assert!(
        host_view.is_empty(),
        "the host sees {host_view:?} at {}",
        at.display()
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(at.to_string_lossy().as_ref()),
        "the host has a mount at {}",
        at.display()
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// A `lxc.rootfs.mount` that does not exist is refused before anything is made.
#[test]
fn rootfs_mount_must_exist() {
    let world = World::new();
    let name = world.busybox("rmissing");
    let at = world.dir.path().join("missing");
    world.append_config(&name, &format!("lxc.rootfs.mount = {}\n", at.display()));
    let started = world.output(&["start", "-n", &name]);
    assert!(
        !started.status.success(),
        "started on a missing rootfs.mount"
    );
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert!(
        stderr.contains(&format!(
            "lxc.rootfs.mount = {}: no such directory",
            at.display()
        )),
        "{stderr}"
    );
    world.assert_nothing_left(&name);
}

/// `lxc.tty.dir = lxc`: the ttys are pty slaves in `/dev/lxc/` with `/dev/ttyN` symlinks to
/// them, the console is `/dev/lxc/console` and the same pty at `/dev/console`, and
/// `rlxc console -t 1` reaches the getty that busybox's init runs on tty1 through the link.
#[test]
fn tty_dir_puts_the_ttys_in_dev_lxc_and_the_console_still_reaches_them() {
    use std::io::Write;
    let world = World::new();
    let name = world.busybox("ttydir");
    world.append_config(&name, "lxc.tty.max = 2\nlxc.tty.dir = lxc\n");
    let started = world.output(&["start", "-n", &name]);
    assert_ok(&started, "start with lxc.tty.dir");
    // Major 136 (0x88): a slave of the container's devpts.
    let seen = world.sh(
        &name,
        "readlink /dev/tty1; readlink /dev/tty2; stat -c '%F %t' /dev/lxc/tty1 /dev/lxc/tty2 \
         /dev/lxc/console /dev/console; stat -c %t:%T /dev/lxc/console /dev/console | uniq | wc -l",
    );
    assert_ok(&seen, "attach");
    assert_eq!(
        text(&seen),
        "lxc/tty1\nlxc/tty2\ncharacter special file 88\ncharacter special file 88\n\
         character special file 88\ncharacter special file 88\n1"
    );
    let mut console = world
        .process(Path::new(RLXC), &["console", "-n", &name, "-t", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rlxc console -t 1");
    let output = Gathered::from(console.stdout.take().expect("stdout"));
    let keyboard = console.stdin.as_mut().expect("stdin");
    // getty flushes what was typed before its prompt; a newline makes it prompt again.
    keyboard.write_all(b"\n").expect("type");
    let prompt = output.wait_for("login:");
    assert!(
        prompt.contains("login:"),
        "no getty prompt on tty1: {prompt:?}"
    );
    keyboard.write_all(b"root\n").expect("type");
    let shell = output.wait_for("# ");
    assert!(shell.contains("# "), "no shell after login: {shell:?}");
    keyboard
        .write_all(b"echo on-$(tty)-$((6*7))\n")
        .expect("type");
    let answer = output.wait_for("on-/dev/lxc/tty1-42");
    assert!(answer.contains("on-/dev/lxc/tty1-42"), "{answer:?}");
    let _ = console.kill();
    let _ = console.wait();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// `lxc.cgroup.dir.monitor.pivot`: at the container's end the monitor moves to that cgroup
/// (made below the cgroup rlxc runs in), so its own cgroup goes before it exits; a post-stop
/// hook, run after the move, is born there.
#[test]
fn the_monitor_ends_in_its_pivot_cgroup_and_its_own_goes() {
    let world = World::new();
    let name = world.busybox("monpivot");
    let pivot = format!("rlxc-test-pivot-{name}");
    let record = world.dir.path().join("post-stop.cgroup");
    let hook = world.dir.path().join("post-stop.sh");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh
cat /proc/self/cgroup > {}
",
            record.display()
        ),
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    world.append_config(
        &name,
        &format!(
            "lxc.cgroup.dir.monitor.pivot = {pivot}\nlxc.hook.post-stop = {}\n",
            hook.display()
        ),
    );
    // The pivot cgroups the monitor makes go with the test, pass or fail.
    let ours = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
    let unified_home = support::unified_cgroup_dir(std::process::id() as i32);
    struct Remove(Vec<std::path::PathBuf>);
    impl Drop for Remove {
        fn drop(&mut self) {
            for dir in &self.0 {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
    let _remove = Remove(vec![unified_home.join(&pivot)]);
    world.rlxc(&["start", "-n", &name]).assert().success();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    let seen = std::fs::read_to_string(&record).expect("post-stop hook ran");
    let unified_line = seen
        .lines()
        .find(|line| line.starts_with("0::"))
        .expect("a cgroup2 line");
    let our_unified = ours
        .lines()
        .find(|line| line.starts_with("0::"))
        .expect("our cgroup2 line");
    assert_eq!(
        unified_line,
        format!("{}/{pivot}", our_unified.trim_end_matches('/')),
        "the post-stop hook (the monitor's child) is not in the pivot"
    );
    assert!(unified_home.join(&pivot).is_dir());
    world.assert_nothing_left(&name);
}

/// What `start -s` changed holds for the verbs that come later: `stop` sends the halt signal
/// the container started with, `attach` runs as its `lxc.init.uid`, `info -c` shows its
/// values; the config file, which says otherwise, is not read again.
#[test]
fn a_starts_overrides_hold_for_stop_attach_and_info() {
    let world = World::new();
    let name = world.busybox("overrides");
    let init = world.rootfs(&name).join("sbin/signal-init");
    std::fs::write(
        &init,
        "#!/bin/sh\ntrap 'echo USR1 >/tmp/got; exit 0' USR1\ntrap 'echo PWR >/tmp/got; exit 0' PWR\n\
         while :; do sleep 600 & wait; done\n",
    )
    .expect("init");
    std::fs::set_permissions(&init, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    world
        .rlxc(&[
            "start",
            "-n",
            &name,
            "-s",
            "lxc.init.cmd=/sbin/signal-init",
            "-s",
            "lxc.signal.halt=SIGUSR1",
            "-s",
            "lxc.init.uid=1000",
        ])
        .assert()
        .success();
    world
        .rlxc(&["info", "-n", &name, "-c", "lxc.signal.halt"])
        .assert()
        .success()
        .stdout(predicate::str::contains("lxc.signal.halt = SIGUSR1"));
    world
        .rlxc(&[
            "attach",
            "-n",
            &name,
            "--",
            "/bin/sh",
            "-c",
            "echo $(id -u)",
        ])
        .assert()
        .success()
        .stdout("1000\n");
    world
        .rlxc(&["stop", "-n", &name, "-t", "30"])
        .assert()
        .success();
    let got = std::fs::read_to_string(world.rootfs(&name).join("tmp/got")).expect("init's record");
    assert_eq!(got, "USR1\n", "stop sent the config file's halt signal");
    world.assert_nothing_left(&name);
}

/// Device rules that deny the ptys (sabayon.common.conf allows only null, zero, full and the
/// randoms): the container starts without a console and ttys, which it could not open, and
/// start and `config check` both say so at the deny rule's line.
#[test]
fn device_rules_that_deny_the_ptys_start_it_without_console_and_ttys_said_at_the_line() {
    let world = World::new();
    let name = world.busybox("noptys");
    world.append_config(
        &name,
        "lxc.tty.max = 1\nlxc.cgroup.devices.deny = a\nlxc.cgroup.devices.allow = c 1:3 rwm\n\
         lxc.cgroup.devices.allow = c 1:9 rwm\n",
    );
    let origin = world.config_origin(&name, "lxc.cgroup.devices.deny = a");
    let said = format!("{origin}: lxc.cgroup.devices.deny = a: the device rules deny /dev/ptmx");
    let check = world.output(&["config", "check", "-n", &name]);
    assert_ok(&check, "config check");
    assert!(text(&check).contains(&said), "{}", text(&check));
    let started = world.output(&["start", "-n", &name]);
    assert_ok(&started, "start");
    let stderr = String::from_utf8_lossy(&started.stderr);
    assert_eq!(stderr.matches(&said).count(), 1, "{stderr}");
    let inside = world.sh(
        &name,
        "ls /dev/console /dev/tty1 2>&1; readlink /proc/1/fd/0",
    );
    let seen = text(&inside);
    assert!(seen.contains("/dev/console: No such file"), "{seen}");
    assert!(seen.contains("/dev/tty1: No such file"), "{seen}");
    assert!(seen.trim_end().ends_with("/dev/null"), "{seen}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}
