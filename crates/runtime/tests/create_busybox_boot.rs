//! Boots the rootfs of `create -t busybox` for real (as root): busybox init as pid 1 of a new
//! pid namespace, chrooted into the rootfs, with a pty as its console. Proves that the console
//! shows a login prompt, that root logs in without a password, and that SIGPWR (what
//! `rlxc stop` sends) ends init cleanly within a second or so.
//!
//! The namespaces come from util-linux's `unshare`: this tests the template, not the runtime.
//! UTS, net and IPC are new too, because the rootfs's rcS sets the hostname and brings up lo.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rlxc_runtime::create::{self, CreateRequest, Template, BUSYBOX_LOCATIONS};
use rlxc_runtime::paths::ContainerPaths;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_open, Pid, PidfdFlags};
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

/// A pty: the master stays with the test, the slave's path is bind-mounted into the rootfs.
fn pty() -> (File, String) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("open /dev/ptmx");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let slave = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = slave.into_string().expect("pts path is UTF-8");
    (File::from(master), slave)
}

/// Reads the console until `needle` shows up; panics with what was read at the deadline.
fn read_until(console: &mut File, needle: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    let mut seen = String::new();
    while !seen.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "no {needle:?} on the console within {within:?}; got:\n{seen}"
        );
        let timeout = Timespec::try_from(left).expect("timespec");
        let mut fds = [PollFd::new(&*console, PollFlags::IN)];
        if poll(&mut fds, Some(&timeout)).expect("poll the console") == 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        match console.read(&mut buf) {
            Ok(n) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
            // EIO while no one has the slave open: getty hangs the line up before it opens
            // it again. Poll says "hung up" at once until then, so wait a little.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("read the console: {e}"),
        }
    }
    seen
}

/// pid (on the host) of the only child of `parent`: the container's init.
fn only_child(parent: u32) -> i32 {
    let children = fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .expect("read children");
    let pids: Vec<i32> = children
        .split_whitespace()
        .map(|p| p.parse().expect("pid"))
        .collect();
    assert_eq!(pids.len(), 1, "unshare has one child: {children:?}");
    pids[0]
}

/// Kills the booted container if the test fails before it stopped it.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(unshare) = &mut self.0 {
            if let Ok(children) =
                fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.id()))
            {
                for pid in children.split_whitespace().filter_map(|p| p.parse().ok()) {
                    if let Some(pid) = Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                    }
                }
            }
            let _ = unshare.kill();
            let _ = unshare.wait();
        }
    }
}

/// Waits for `child` to exit, at most `within`; true if it did.
fn exits_within(child: &mut Child, within: Duration) -> bool {
    let pid = Pid::from_raw(child.id() as i32).expect("pid");
    let pidfd = pidfd_open(pid, PidfdFlags::empty()).expect("pidfd_open");
    let timeout = Timespec::try_from(within).expect("timespec");
    let mut fds = [PollFd::new(&pidfd, PollFlags::IN)];
    poll(&mut fds, Some(&timeout)).expect("poll the pidfd") == 1
}

fn boot(rootfs: &Path, console: &str, tty1: &str) -> Child {
    for device in ["dev/console", "dev/tty1"] {
        File::create(rootfs.join(device)).expect("bind target");
    }
    let root = rootfs.display();
    let script = format!(
        "mount --bind {console} {root}/dev/console && mount --bind {tty1} {root}/dev/tty1 \
         && exec chroot {root} /sbin/init"
    );
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount", "--uts", "--net", "--ipc"])
        .arg(format!("--mount-proc={root}/proc"))
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        // Not the test's stdout: a leftover init would keep cargo's pipe open.
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run unshare (util-linux)")
}

/// Creates a busybox container, boots it and logs in as root on the console; then sends
/// `signal` to init and returns how it ended. How fast is for the benchmarks (bench/).
fn boot_log_in_and_signal(signal: rustix::process::Signal) -> std::process::ExitStatus {
    let lxcpath = tempfile::tempdir().expect("tempdir");
    let paths = ContainerPaths::with_run_root(lxcpath.path(), "bb", lxcpath.path());
    let request = CreateRequest {
        paths: &paths,
        template: Template::Busybox,
        seed_config: None,
        seed_is_default: false,
        busybox_locations: BUSYBOX_LOCATIONS,
        idmaps: Vec::new(),
        store: Default::default(),
    };
    let operation = rlxc_runtime::lock::OperationLock::take(&paths, "test", |_| {}).expect("lock");
    let created = create::create(&request, &mut |_| {}, &operation).expect("create -t busybox");

    let (mut console, console_slave) = pty();
    let (_tty1, tty1_slave) = pty();
    let mut guard = KillOnDrop(Some(boot(&created.rootfs, &console_slave, &tty1_slave)));
    let unshare = guard.0.as_mut().expect("just booted");

    let banner = read_until(&mut console, "login:", Duration::from_secs(10));
    assert!(
        banner.contains("bb login:"),
        "hostname from /etc/hostname: {banner}"
    );
    console.write_all(b"root\n").expect("type the user name");
    read_until(&mut console, "root@bb:/root# ", Duration::from_secs(10));

    let init = only_child(unshare.id());
    rustix::process::kill_process(Pid::from_raw(init).expect("init pid"), signal)
        .expect("signal init");
    // A bound against a hang only: the init ends by itself or this fails.
    let stopped = exits_within(unshare, Duration::from_secs(60));
    assert!(stopped, "init was still running 60 s after {signal:?}");
    let status = unshare.wait().expect("reap unshare");
    guard.0 = None;
    status
}

#[test]
fn busybox_rootfs_boots_to_a_login_prompt_and_sigpwr_stops_init() {
    let status = boot_log_in_and_signal(rustix::process::Signal::POWER);
    // poweroff -f in a pid namespace: the kernel ends init as if by SIGINT ("halted"), and
    // unshare passes that on by killing itself the same way.
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status}");
}

#[test]
fn sigint_reboots_busybox_init_which_the_kernel_reports_as_sighup() {
    // LXC's reboot signal: init runs ::ctrlaltdel: (/sbin/reboot, which marks the request),
    // then rcK ends with reboot -f, and a rebooting pid namespace ends init with SIGHUP.
    let status = boot_log_in_and_signal(rustix::process::Signal::INT);
    assert_eq!(status.signal(), Some(libc::SIGHUP), "{status}");
}
