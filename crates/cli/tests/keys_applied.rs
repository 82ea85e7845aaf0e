//! Keys that change how the container's processes run, checked on real busybox containers
//! from outside or through `rlxc attach`: `lxc.arch` (the personality of init and of
//! attached commands).

mod support;

use std::path::Path;
use std::process::Output;

use support::{World, RLXC};

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
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
    // `config check` says so before any start.
    let checked = world.output(&["config", "check", "-n", &name]);
    assert_ok(&checked, "config check");
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(
        stdout.contains("warning: lxc.arch = aarch64: this host (x86_64) cannot run aarch64")
            && stdout.contains("a start on this host fails"),
        "{stdout}"
    );
}
