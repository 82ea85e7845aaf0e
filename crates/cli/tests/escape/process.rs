//! Processes and file descriptors: the host's processes stay out of sight, rlxc's own
//! process is never a way out while `attach` passes through the container
//! (CVE-2019-5736), no host fd or cwd reaches the container (CVE-2024-21626), and a
//! terminal is never shared with the container (TIOCSTI, CVE-2017-5226 class).

use std::io::Read;
use std::os::fd::AsFd;
use std::process::Stdio;

use crate::support::RLXC;
use crate::{Container, Setup};

escape_tests!(
    host_processes_are_out_of_sight,
    attach_is_confined_whenever_the_container_can_see_it,
    no_host_fd_or_cwd_reaches_the_container,
    executes_tiny_init_holds_nothing_of_the_host,
    start_hooks_see_no_host_fd_in_pid_1,
    tiocsti_cannot_reach_the_callers_terminal,
);

fn host_processes_are_out_of_sight(setup: Setup) {
    let c = Container::start(setup, "esc-ps", &[]);
    let mut host = std::process::Command::new("sleep")
        .arg("3600.123456")
        .spawn()
        .expect("sleep");
    let out = c.sh_ok("cat /proc/[0-9]*/cmdline | tr '\\0' ' '; echo");
    assert!(
        !out.contains("3600.123456"),
        "a host process is visible: {out}"
    );
    assert!(!out.contains("rlxc"), "rlxc is visible: {out}");
    // Its host pid means nothing in the container's pid namespace.
    c.assert_refused(&format!("ptrace {}", host.id()), "ESRCH");
    let _ = host.kill();
    let _ = host.wait();
    c.stop();
}

/// A process in the container (root, with CAP_SYS_PTRACE in the seed) watches /proc for
/// attach's process while it is still rlxc's host binary, before it execs the command. By
/// the time it can be seen it must hold nothing of the host: the container's mount
/// namespace and root, seccomp, no capability init lacks, and its exe (the host's rlxc)
/// must not open for writing. In a user namespace (b), attach's process is not dumpable
/// to the container before its exec: a second watcher looks for processes whose exe it
/// cannot read, and those must not let it see their root or namespaces either.
fn attach_is_confined_whenever_the_container_can_see_it(setup: Setup) {
    let c = Container::start(setup, "esc-exe", &[]);
    let binary = std::fs::read(RLXC).expect("read rlxc");
    let bounding = init_bounding_set(c.init_pid());
    let log = c.rootfs.join("escape-watch.log");
    c.sh_ok(&format!(
        "probe watch {RLXC} 5 60 /escape-watch.log </dev/null >/dev/null 2>&1 &"
    ));
    if setup == Setup::Unprivileged {
        c.sh_ok("probe watch unreadable 5 60 /escape-watch.log </dev/null >/dev/null 2>&1 &");
    }
    // CVE-2019-5736's own trick: a command whose interpreter is /proc/self/exe makes the
    // exec run the runtime's binary again, now as a process of the container.
    std::fs::write(c.rootfs.join("evil"), "#!/proc/self/exe\n").expect("evil");
    std::fs::set_permissions(
        c.rootfs.join("evil"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    // Attach until the watcher has caught attach's process a few times (it is in sight
    // only between its fork and its exec, so not every attach is caught).
    let mut caught = 0;
    for round in 0..400 {
        let command = if round % 2 == 0 { "/bin/true" } else { "/evil" };
        let out = c.world.output(&["attach", "-n", &c.name, "--", command]);
        assert!(out.status.success() || command == "/evil", "{out:?}");
        caught = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .count();
        if caught >= 5 {
            break;
        }
    }
    let sightings = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(caught > 0, "the watcher never saw attach's process");
    for line in sightings.lines() {
        assert!(
            line.contains(" mnt=same ") || line.contains(" mnt=unreadable "),
            "{line}"
        );
        let root_hidden = setup == Setup::Unprivileged && line.contains(" root=unreadable ");
        assert!(line.contains(" root=same ") || root_hidden, "{line}");
        assert!(line.contains(" seccomp=2 "), "{line}");
        assert!(!line.ends_with("exe-write=ok"), "{line}");
        let capeff = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("capeff="))
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .unwrap_or_else(|| panic!("no capeff in {line}"));
        assert_eq!(capeff & !bounding, 0, "capabilities beyond init's: {line}");
    }
    assert!(
        std::fs::read(RLXC).expect("read rlxc") == binary,
        "rlxc changed"
    );
    c.stop();
}

fn init_bounding_set(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:\t"))
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .expect("CapBnd")
}

fn no_host_fd_or_cwd_reaches_the_container(setup: Setup) {
    let c = Container::start(setup, "esc-fds", &[]);
    // Init's descriptors, seen from the host: the console's three, nothing else.
    let pid = c.init_pid();
    let init_fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("init fds")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|fd| fd.parse::<u32>().is_ok_and(|n| n > 2))
        .collect();
    assert!(init_fds.is_empty(), "init holds fds {init_fds:?}");
    // The cwd is the container's root (the same inode as init's /proc/PID/root).
    let inode = |what: &str| {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(format!("/proc/{pid}/{what}")).expect(what);
        (meta.dev(), meta.ino())
    };
    assert_eq!(inode("cwd"), inode("root"));
    // An attached command: nothing above 2, whatever attach itself had open, and / as cwd
    // (the test binary runs with fds of its own, and from the crate's directory).
    let out = c
        .world
        .rlxc(&["attach", "-n", &c.name, "--", "probe", "fds"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("attach");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cwd /\n");
    c.stop();
}

/// `rlxc execute`: pid 1 is rlxc's own binary (the tiny init), in sight of the command,
/// which may trace it (the seed keeps CAP_SYS_PTRACE). It must hold no host fd (the monitor's
/// lock, the cgroup directory, the console log, the caller's fds) and no capability. In a
/// user namespace (b) it is stricter: pid 1 is not dumpable to the container, whose root
/// cannot even list its fds.
fn executes_tiny_init_holds_nothing_of_the_host(setup: Setup) {
    let c = Container::prepare(setup, "esc-exec");
    // Passed down by the caller, not close-on-exec: it must not reach the container.
    let leaked = std::fs::File::open(env!("CARGO_MANIFEST_DIR")).expect("open");
    let leaked_fd = std::os::fd::AsRawFd::as_raw_fd(&leaked);
    rustix::io::fcntl_setfd(&leaked, rustix::io::FdFlags::empty()).expect("inheritable");
    let out = c.execute(
        "grep CapEff /proc/1/status; \
         ls /proc/1/fd >/dev/null 2>&1 || echo fds-unreadable; \
         for fd in /proc/1/fd/*; do [ ${fd##*/} -gt 2 ] && readlink $fd; done; \
         probe fds; exit 7",
    );
    drop(leaked);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(7), "{text}");
    let fds = match setup {
        Setup::SeedPrivileged => "anon_inode:[signalfd]\n",
        Setup::Unprivileged => "fds-unreadable\n",
    };
    assert_eq!(
        text,
        format!("CapEff:\t0000000000000000\n{fds}cwd /\n"),
        "(the caller's fd was {leaked_fd})"
    );
    c.world.assert_nothing_left(&c.name);
}

/// `lxc.hook.start` runs a program of the container's while pid 1 is still rlxc's binary:
/// pid 1 must by then hold only its socket to the monitor (and the read ends of the hook's
/// own stdout and stderr, made inside for it); in a user namespace (b) the hook may not even
/// list pid 1's fds.
fn start_hooks_see_no_host_fd_in_pid_1(setup: Setup) {
    let c = Container::prepare(setup, "esc-hook");
    let hook = c.rootfs.join("bin/fd-hook");
    std::fs::write(
        &hook,
        "#!/bin/sh\nout=$(readlink /proc/$$/fd/1); err=$(readlink /proc/$$/fd/2)\n\
         { ls /proc/1/fd >/dev/null 2>&1 || echo fds-unreadable; \
         for fd in /proc/1/fd/*; do [ ${fd##*/} -gt 2 ] || continue; l=$(readlink $fd); \
         [ \"$l\" = \"$out\" ] || [ \"$l\" = \"$err\" ] || echo $l; done; } \
         > /fd-hook.out\nexit 0\n",
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = c.try_start(&["lxc.hook.start=/bin/fd-hook"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = std::fs::read_to_string(c.rootfs.join("fd-hook.out")).expect("hook output");
    let fds: Vec<&str> = seen.lines().collect();
    let only_its_socket = match setup {
        Setup::SeedPrivileged => fds.len() == 1 && fds[0].starts_with("socket:"),
        Setup::Unprivileged => fds == ["fds-unreadable"],
    };
    assert!(only_its_socket, "pid 1 holds {fds:?}");
    c.stop();
}

/// The command of an attach made from a terminal pushes a line into "its" terminal with
/// TIOCSTI. It gets a pty of the container, so the line can only land there: nothing is
/// ever typed into the caller's terminal.
fn tiocsti_cannot_reach_the_callers_terminal(setup: Setup) {
    use rustix::pty::{grantpt, ioctl_tiocgptpeer, openpt, unlockpt, OpenptFlags};
    let c = Container::start(setup, "esc-sti", &[]);
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let slave =
        ioctl_tiocgptpeer(&master, OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("pty slave");
    let io = |fd: &std::os::fd::OwnedFd| Stdio::from(fd.try_clone().expect("dup"));
    // std's Command: the pty goes to all three stdio (assert_cmd's takes stdin as bytes).
    let status = std::process::Command::new(RLXC)
        .args([
            "attach", "-n", &c.name, "--", "probe", "tiocsti", "0", "id\n",
        ])
        .env("RLXC_PATH", c.world.lxcpath())
        .env("RLXC_RUN_DIR", c.world.run_root())
        .stdin(io(&slave))
        .stdout(io(&slave))
        .stderr(io(&slave))
        .status()
        .expect("attach");
    // The probe succeeds or not (legacy TIOCSTI may be off): either way, the caller's
    // terminal has no pending input.
    assert!(
        status.code().is_some_and(|c| c == 0 || c == 1),
        "{status:?}"
    );
    rustix::fs::fcntl_setfl(slave.as_fd(), rustix::fs::OFlags::NONBLOCK).expect("nonblock");
    let mut pending = Vec::new();
    let _ = std::fs::File::from(slave).read_to_end(&mut pending);
    assert!(
        !String::from_utf8_lossy(&pending).contains("id"),
        "typed into the caller's terminal: {pending:?}"
    );
    drop(master);
    c.stop();
}
