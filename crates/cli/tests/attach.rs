//! `rlxc attach` into real busybox containers (as root): the command runs in the container's
//! namespaces, cgroups and bounding set, with the asked identity and environment, and its exit
//! status comes back.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use predicates::prelude::*;
use support::World;

/// A busybox container of our own making (`rlxc create -t busybox` lands later): the host's
/// static busybox with a link per applet, an init that idles, and a passwd whose root shell
/// is `/bin/ash` (so the default-shell test can tell it from the `/bin/sh` fallback).
fn busybox_container(world: &World, base: &str, extra_config: &str) -> String {
    let name = world.name(base);
    let rootfs = world.lxcpath().join(&name).join("rootfs");
    for dir in ["bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        std::fs::create_dir_all(rootfs.join(dir)).expect("mkdir");
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("a static busybox on the host");
    std::fs::copy(busybox, rootfs.join("bin/busybox")).expect("copy busybox");
    let applets = std::process::Command::new(busybox)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&applets.stdout).lines() {
        if applet != "busybox" && !applet.is_empty() {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet))
                .expect("applet link");
        }
    }
    let idle = rootfs.join("sbin/idle");
    std::fs::write(
        &idle,
        "#!/bin/sh\ntrap 'exit 0' PWR TERM\nwhile :; do sleep 1; done\n",
    )
    .expect("init");
    std::fs::set_permissions(&idle, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/ash\nweb:x:1000:1000::/:/bin/sh\n",
    )
    .expect("passwd");
    let config = format!(
        "lxc.uts.name = {name}\nlxc.rootfs.path = {}\nlxc.init.cmd = /sbin/idle\n\
         lxc.mount.auto = proc:rw sys:ro\nlxc.pty.max = 16\nlxc.net.0.type = empty\n{extra_config}",
        rootfs.display()
    );
    std::fs::write(world.config(&name), config).expect("config");
    name
}

fn running(world: &World, base: &str, extra_config: &str) -> String {
    let name = busybox_container(world, base, extra_config);
    world.rlxc(&["start", "-n", &name, "-d"]).assert().success();
    name
}

/// `rlxc attach -n NAME -P LXCPATH ARGS...`: `-P` goes before the command (World::rlxc puts
/// it last, where it would become an argument of the command).
fn attach(world: &World, name: &str, args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(support::RLXC);
    command
        .args(["attach", "-n", name, "-P"])
        .arg(world.lxcpath())
        .args(args)
        .env("RLXC_RUN_DIR", world.run_root())
        .timeout(std::time::Duration::from_secs(60));
    command
}

fn stdout_of(world: &World, name: &str, args: &[&str]) -> String {
    let out = attach(world, name, args).output().expect("attach");
    assert!(out.status.success(), "attach {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn runs_in_the_containers_namespaces_and_cgroups() {
    let world = World::new();
    let name = running(&world, "attns", "");
    let init = world.init_pid(&name);
    assert_eq!(stdout_of(&world, &name, &["--", "hostname"]), name);
    for ns in ["pid", "mnt", "net", "uts", "ipc", "cgroup"] {
        let inside = stdout_of(
            &world,
            &name,
            &["--", "readlink", &format!("/proc/self/ns/{ns}")],
        );
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).expect("ns");
        let theirs = std::fs::read_link(format!("/proc/{init}/ns/{ns}")).expect("ns");
        assert_ne!(Path::new(&inside), host, "{ns} is the host's");
        assert_eq!(Path::new(&inside), theirs, "{ns} is not init's");
    }
    // Inside: the same cgroups as init (whatever the cgroup namespace shows of them).
    let cgroups = stdout_of(
        &world,
        &name,
        &[
            "--",
            "sh",
            "-c",
            "cat /proc/self/cgroup; echo ==; cat /proc/1/cgroup",
        ],
    );
    let (ours, inits) = cgroups.split_once("\n==\n").expect("two lists");
    assert_eq!(ours, inits);
    // From the host: the attached process sits in the container's payload cgroup and runs the
    // container's own binary.
    let mut session = std::process::Command::new(support::RLXC)
        .args(["attach", "-n", &name, "-P"])
        .arg(world.lxcpath())
        .args(["--", "sleep", "30"])
        .env("RLXC_RUN_DIR", world.run_root())
        .stdin(Stdio::null())
        .spawn()
        .expect("attach sleep");
    let child = wait_for_child_of(session.id());
    let host_view = std::fs::read_to_string(format!("/proc/{child}/cgroup")).expect("cgroup");
    assert!(
        host_view.contains(&format!("rlxc.payload.{name}")),
        "{host_view}"
    );
    let exe = std::fs::read_link(format!("/proc/{child}/exe")).expect("exe");
    assert!(exe.ends_with("bin/busybox"), "{}", exe.display());
    let status = std::fs::read_to_string(format!("/proc/{child}/status")).expect("status");
    let nspid = status
        .lines()
        .find(|l| l.starts_with("NSpid:"))
        .expect("NSpid");
    assert_eq!(nspid.split_whitespace().count(), 3, "{nspid}");
    let _ = session.kill();
    let _ = session.wait();
}

/// The pid of the first child of `parent`, once it has exec'd something other than rlxc.
fn wait_for_child_of(parent: u32) -> u32 {
    for _ in 0..200 {
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        if let Some(child) = children.split_whitespace().next() {
            let comm = std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
            if comm.trim() == "sleep" {
                return child.parse().expect("pid");
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("attach never ran its command");
}

#[test]
fn capability_bounding_set_is_inits() {
    let world = World::new();
    let name = running(&world, "attcap", "lxc.cap.drop = sys_admin\n");
    let init = world.init_pid(&name);
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).expect("status");
    let inits = status
        .lines()
        .find(|l| l.starts_with("CapBnd:"))
        .expect("CapBnd")
        .to_string();
    let ours = stdout_of(
        &world,
        &name,
        &["--", "grep", "CapBnd", "/proc/self/status"],
    );
    assert_eq!(ours, inits);
    let mask = u64::from_str_radix(ours.trim_start_matches("CapBnd:").trim(), 16).expect("hex");
    assert_eq!(mask & (1 << 21), 0, "CAP_SYS_ADMIN still in {ours}");
    let inheritable = stdout_of(
        &world,
        &name,
        &["--", "grep", "CapInh", "/proc/self/status"],
    );
    assert!(inheritable.ends_with("0000000000000000"), "{inheritable}");
    // -e CAP keeps ours.
    let elevated = stdout_of(
        &world,
        &name,
        &["-e", "--", "grep", "CapBnd", "/proc/self/status"],
    );
    assert_ne!(elevated, inits);
}

/// The lines of /proc/PID/status that `confine::Lockdown` decides: whatever init has there,
/// a command attached with init's ids must have too.
const CONFINED: [&str; 11] = [
    "Uid:",
    "Gid:",
    "Groups:",
    "CapInh:",
    "CapPrm:",
    "CapEff:",
    "CapBnd:",
    "CapAmb:",
    "NoNewPrivs:",
    "Seccomp:",
    "Seccomp_filters:",
];

fn confined_lines(status: &str) -> Vec<&str> {
    CONFINED
        .iter()
        .map(|key| {
            status
                .lines()
                .find(|line| line.starts_with(key))
                .unwrap_or_else(|| panic!("no {key} in {status}"))
        })
        .collect()
}

fn capability_mask(status: &str, key: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(key)).expect(key);
    u64::from_str_radix(line[key.len()..].trim(), 16).expect("hex")
}

const CAP_SYS_ADMIN: u32 = 21;

/// `rlxc start -d` run with CAP_SYS_ADMIN inheritable and ambient, as a caller (a service
/// manager's `AmbientCapabilities=`) may hand it on: it must not reach init past
/// `lxc.cap.drop`, just as attach keeps it from the command.
fn start_with_inheritable_sys_admin(world: &World, name: &str) {
    use std::os::unix::process::CommandExt;
    let mut start = world.process(Path::new(support::RLXC), &["start", "-n", name, "-d"]);
    // SAFETY: only capget/capset/prctl between fork and exec, no allocation or lock.
    unsafe {
        start.pre_exec(|| {
            let sys_admin = rustix::thread::CapabilitySet::from_bits_retain(1 << CAP_SYS_ADMIN);
            let mut sets = rustix::thread::capabilities(None)?;
            sets.inheritable |= sys_admin;
            rustix::thread::set_capabilities(None, sets)?;
            rustix::thread::configure_capability_in_ambient_set(sys_admin, true)?;
            Ok(())
        });
    }
    let out = start.output().expect("rlxc start");
    support::assert_ok(&out, "start");
}

/// Init and an attached command go through one lock-down (`confine`): the same bounding,
/// inheritable, ambient, permitted and effective sets, no_new_privs, seccomp filters and ids,
/// for a root init and for one with `lxc.init.uid`/`gid` (which attach takes by default).
#[test]
fn init_and_an_attached_command_are_confined_alike() {
    let world = World::new();
    for (base, ids) in [
        ("attconfroot", ""),
        ("attconfuser", "lxc.init.uid = 1000\nlxc.init.gid = 1000\n"),
    ] {
        let config = format!("lxc.cap.drop = sys_admin mknod\nlxc.no_new_privs = 1\n{ids}");
        let name = busybox_container(&world, base, &config);
        start_with_inheritable_sys_admin(&world, &name);
        // What the caller handed on reached the monitor: the case is a real one.
        let monitor = world.monitor_pid(&name);
        let monitors = std::fs::read_to_string(format!("/proc/{monitor}/status")).expect("status");
        for key in ["CapInh:", "CapAmb:"] {
            assert_ne!(
                capability_mask(&monitors, key) & (1 << CAP_SYS_ADMIN),
                0,
                "{key} {monitors}"
            );
        }
        let init = world.init_pid(&name);
        let inits = std::fs::read_to_string(format!("/proc/{init}/status")).expect("status");
        let attached = stdout_of(&world, &name, &["--", "cat", "/proc/self/status"]);
        assert_eq!(confined_lines(&attached), confined_lines(&inits), "{name}");
        for key in ["CapBnd:", "CapInh:", "CapAmb:", "CapPrm:", "CapEff:"] {
            let mask = capability_mask(&inits, key);
            assert_eq!(mask & (1 << CAP_SYS_ADMIN), 0, "{name}: {key} {mask:x}");
        }
        assert!(inits.contains("NoNewPrivs:\t1\n"), "{inits}");
        assert!(inits.contains("Seccomp:\t2\n"), "{inits}");
        let uid = if ids.is_empty() { "0" } else { "1000" };
        assert!(inits.contains(&format!("Uid:\t{uid}\t")), "{inits}");
    }
}

#[test]
fn exit_status_is_the_commands() {
    let world = World::new();
    let name = running(&world, "attexit", "");
    attach(&world, &name, &["--", "sh", "-c", "exit 7"])
        .assert()
        .code(7);
    attach(&world, &name, &["--", "sh", "-c", "kill -9 $$"])
        .assert()
        .code(137);
    attach(&world, &name, &["--", "true"]).assert().code(0);
    attach(&world, &name, &["--", "nosuchcommand"])
        .assert()
        .code(127)
        .stderr(predicate::str::contains("nosuchcommand: command not found"));
    attach(&world, &name, &["--", "/no/such/path"])
        .assert()
        .code(127);
    attach(&world, &name, &["--", "/etc/passwd"])
        .assert()
        .code(126);
}

#[test]
fn environment_is_kept_or_cleared_as_in_lxc() {
    let world = World::new();
    let name = running(&world, "attenv", "");
    let cleared = stdout_of(
        &world,
        &name,
        &[
            "--clear-env",
            "-v",
            "A=B",
            "--keep-var",
            "KEEP_ME",
            "--",
            "env",
        ],
    );
    let mut vars: Vec<&str> = cleared.lines().collect();
    vars.sort_unstable();
    // PATH is added when the environment has none (documented in `rlxc attach --help`).
    assert_eq!(
        vars,
        [
            "A=B",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "container=lxc"
        ]
    );
    let kept = attach(
        &world,
        &name,
        &["--keep-var", "KEEP_ME", "--clear-env", "--", "env"],
    )
    .env("KEEP_ME", "yes")
    .output()
    .expect("attach");
    assert!(String::from_utf8_lossy(&kept.stdout).contains("KEEP_ME=yes"));
    let default = attach(&world, &name, &["--", "env"])
        .env("FROM_CALLER", "1")
        .output()
        .expect("attach");
    let default = String::from_utf8_lossy(&default.stdout);
    assert!(default.contains("FROM_CALLER=1"), "{default}");
    assert!(default.contains("container=lxc"), "{default}");
}

#[test]
fn uid_gid_and_default_shell() {
    let world = World::new();
    let name = running(&world, "attid", "");
    assert_eq!(
        stdout_of(&world, &name, &["-u", "1000", "--", "id", "-u"]),
        "1000"
    );
    assert_eq!(
        stdout_of(&world, &name, &["-g", "1234", "--", "id", "-g"]),
        "1234"
    );
    assert_eq!(stdout_of(&world, &name, &["--", "id", "-G"]), "0");
    assert_eq!(stdout_of(&world, &name, &["--", "pwd"]), "/");
    // No command: root's shell from the container's /etc/passwd, fed from a pipe.
    attach(&world, &name, &[])
        .write_stdin("echo shell=$0\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("shell=/bin/ash"));
}

#[test]
fn stdin_pipes_through_without_a_pty_and_no_host_fd_leaks() {
    let world = World::new();
    let name = running(&world, "attpipe", "");
    attach(&world, &name, &["--", "cat"])
        .write_stdin("hi\n")
        .assert()
        .success()
        .stdout("hi\n");
    // Not a terminal: stdin is the pipe itself, not a pty.
    attach(&world, &name, &["--", "sh", "-c", "tty; true"])
        .write_stdin("")
        .assert()
        .stdout(predicate::str::contains("not a tty"));
    // fd 7, open in the caller without CLOEXEC, must not reach the container.
    let script = format!(
        "exec 7</etc/hostname; exec {} attach -n {name} -P {} -- ls /proc/self/fd",
        support::RLXC,
        world.lxcpath().display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .env("RLXC_RUN_DIR", world.run_root())
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    let fds = String::from_utf8_lossy(&out.stdout);
    let fds: Vec<&str> = fds.split_whitespace().collect();
    // ls's own directory fd is 3.
    assert_eq!(fds, ["0", "1", "2", "3"], "{out:?}");
}

#[test]
fn a_stopped_or_unknown_container_is_not_running() {
    let world = World::new();
    let name = busybox_container(&world, "attstop", "");
    attach(&world, &name, &["--", "true"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{name} is not running")));
    world.rlxc(&["start", "-n", &name, "-d"]).assert().success();
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    attach(&world, &name, &["--", "true"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not running"));
    attach(&world, "no-such-container", &["--", "true"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not running"));
}

#[test]
fn some_namespaces_only_with_dash_s() {
    let world = World::new();
    let name = running(&world, "attsub", "");
    // The host's own hostname binary, in the container's uts namespace only.
    assert_eq!(
        stdout_of(&world, &name, &["-s", "UTSNAME", "--", "hostname"]),
        name
    );
    let mnt = stdout_of(
        &world,
        &name,
        &["-s", "UTSNAME", "--", "readlink", "/proc/self/ns/mnt"],
    );
    let host = std::fs::read_link("/proc/self/ns/mnt").expect("ns");
    assert_eq!(Path::new(&mnt), host);
}

/// With a terminal on stdin the command gets a pty of the container's own devpts, never the
/// caller's terminal. `script` gives us a terminal.
#[test]
fn a_terminal_gets_a_pty_from_the_container() {
    support::assert_script_exists();
    let world = World::new();
    let name = running(&world, "attpty", "");
    // The filesystem of the node `tty` names (the container's devpts) is the one the
    // command's stdin lives on: the pty is the container's, not the host's.
    let command = format!(
        "{} attach -n {name} -P {} -- sh -c 'tty; stat -c dev=%d $(tty); stat -L -c dev=%d /proc/self/fd/0; exit 3'",
        support::RLXC,
        world.lxcpath().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("RLXC_RUN_DIR", world.run_root())
        .stdin(Stdio::null())
        .output()
        .expect("script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("/dev/pts/"), "{text}");
    // script(1) may echo a stray control byte as `^@` in front of a line: look for the
    // marker anywhere in a word.
    let devs: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter_map(|w| w.find("dev=").map(|i| &w[i..]))
        .collect();
    assert_eq!(devs.len(), 2, "{text}");
    assert_eq!(devs[0], devs[1], "{text}");
}

/// `-L FILE` (LXC's `--pty-log`): the command writes to a pty, whose output reaches our
/// stdout and is appended to FILE as well, also when none of our stdio is a terminal.
#[test]
fn pty_log_keeps_what_the_command_wrote() {
    let world = World::new();
    let name = world.busybox("attach-ptylog");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let log = world.dir.path().join("pty.log");
    std::fs::write(&log, "before\n").expect("log");
    let out = world.output(&[
        "attach",
        "-n",
        &name,
        "-L",
        &log.to_string_lossy(),
        "--",
        "/bin/sh",
        "-c",
        "echo out; echo err >&2; [ -t 1 ] && echo stdout-is-a-tty",
    ]);
    assert!(out.status.success(), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("out") && shown.contains("stdout-is-a-tty"),
        "{shown}"
    );
    let logged = std::fs::read_to_string(&log).expect("log");
    assert_eq!(
        logged.replace('\r', ""),
        "before\nout\nerr\nstdout-is-a-tty\n"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

/// `-R` (LXC's `--remount-sys-proc`) with namespaces that leave the mount one out: /proc and
/// /sys are those of the pid and network namespaces entered (the container's init is pid 1,
/// its interfaces are listed), in a mount namespace of the command's own, so the host's stay
/// as they were. Without -R the command sees the host's.
#[test]
fn remount_sys_proc_shows_the_entered_namespaces() {
    let world = World::new();
    let name = world.busybox("attach-remount");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let host_init = std::fs::read_to_string("/proc/1/comm").expect("comm");
    let script = "cat /proc/1/comm; ls /sys/class/net | tr '\\n' ' '";
    let seen = |remount: bool| {
        let mut args = vec!["attach", "-n", &name, "-s", "PID|NETWORK"];
        if remount {
            args.push("-R");
        }
        args.extend(["--", "/bin/sh", "-c", script]);
        let out = world.output(&args);
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let remounted = seen(true);
    let mut lines = remounted.lines();
    assert_eq!(lines.next(), Some("init"), "{remounted}");
    assert_eq!(lines.next().map(str::trim), Some("lo"), "{remounted}");
    let plain = seen(false);
    assert_eq!(plain.lines().next(), Some(host_init.trim()), "{plain}");
    // Nothing went to the host's mount table.
    assert_eq!(
        std::fs::read_to_string("/proc/1/comm").expect("comm"),
        host_init
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}
