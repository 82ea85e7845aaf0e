//! `lxc.console.path = DEVICE` and `rlxc start -c DEVICE`: the container keeps a pty of its
//! own as /dev/console, and the monitor relays it to the host terminal named (LXC's console
//! "peer"). Here that terminal is the slave of a pty this test opened: the test plays the
//! person at the device, on its master.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
use support::World;

/// A pty of the test's own: the container's console is relayed to `path`, its slave; what
/// the console prints arrives at `master`, and what is written there is typed into it.
struct TestPty {
    master: std::fs::File,
    path: String,
    /// Everything read from the master so far.
    seen: String,
}

impl TestPty {
    fn open() -> TestPty {
        let master: OwnedFd =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
        grantpt(&master).expect("grantpt");
        unlockpt(&master).expect("unlockpt");
        let path = ptsname(&master, Vec::new())
            .expect("ptsname")
            .into_string()
            .expect("utf-8 pts path");
        rustix::io::ioctl_fionbio(&master, true).expect("non-blocking master");
        TestPty {
            master: master.into(),
            path,
            seen: String::new(),
        }
    }

    /// Reads (bounded) until `needle` has arrived since the last call; returns what came.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut buffer = [0u8; 4096];
        loop {
            if let Some(at) = self.seen.find(needle) {
                let text = self.seen[..at + needle.len()].to_string();
                self.seen.drain(..at + needle.len());
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never arrived at {}; got {:?}",
                self.path,
                self.seen
            );
            match self.master.read(&mut buffer) {
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
                // EIO: nobody has the slave open (yet: the monitor opens it while starting).
                Err(e) if e.kind() == ErrorKind::WouldBlock || e.raw_os_error() == Some(5) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("reading {}'s master: {e}", self.path),
            }
        }
    }

    /// Whether the slave's line discipline echoes and edits lines (its default, cooked).
    fn echoes(&self) -> bool {
        use rustix::termios::LocalModes;
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(&self.path)
            .expect("open the slave");
        let modes = rustix::termios::tcgetattr(&slave)
            .expect("tcgetattr")
            .local_modes;
        modes.contains(LocalModes::ECHO | LocalModes::ICANON)
    }

    fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .expect("typing on the test pty");
    }
}

/// Waits (bounded) until `path` exists: the container makes it, from another process.
fn wait_for_file(path: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    path.exists()
}

/// At the device: getty's prompt arrives, root logs in, and a command typed there runs in
/// the container (its file shows up in the rootfs).
fn log_in_and_touch(world: &World, name: &str, pty: &mut TestPty, marker: &str) {
    let prompt = pty.wait_for("login:");
    assert!(prompt.contains("login:"), "{prompt:?}");
    pty.type_line("root");
    pty.wait_for("# ");
    pty.type_line(&format!("touch /{marker}"));
    let made = world.rootfs(name).join(marker);
    assert!(
        wait_for_file(&made),
        "{} was not made from the device; it printed {:?}",
        made.display(),
        pty.seen
    );
}

/// CPU time (user + system, in ticks) the process has used so far.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // The fields after the command name's closing parenthesis; utime and stime are 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat format")
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn the_console_is_relayed_to_the_device_of_lxc_console_path() {
    let world = World::new();
    let name = world.busybox("condev");
    let mut pty = TestPty::open();
    let log = world.dir.path().join("condev.log");
    world.append_config(
        &name,
        &format!(
            "lxc.console.path = {}\nlxc.console.logfile = {}\n",
            pty.path,
            log.display()
        ),
    );
    world
        .rlxc(&["config", "check", "-n", &name])
        .assert()
        .success();
    world.rlxc(&["start", "-n", &name]).assert().success();
    log_in_and_touch(&world, &name, &mut pty, "typed-at-the-device");
    // The console log goes on alongside the device.
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(logged.contains("login:"), "console log: {logged:?}");

    // The console has one other side, as with LXC: `rlxc console -t 0` is refused, saying
    // where the console is.
    world
        .rlxc(&["console", "-n", &name, "-t", "0"])
        .write_stdin("")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "the console is attached to {}",
            pty.path
        )));

    // The person at the device leaves (the pty is closed): the container runs on, the
    // monitor lets go of the device without spinning on its hang-up, and the console is
    // free for `rlxc console`.
    let monitor = world.monitor_pid(&name);
    drop(pty);
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(monitor);
    std::thread::sleep(Duration::from_secs(1));
    let spent = cpu_ticks(monitor) - before;
    assert!(
        spent < 10,
        "the monitor spent {spent} ticks in a second idle"
    );
    assert_eq!(world.state(&name), "RUNNING");
    let mut client = std::process::Command::new(support::RLXC)
        .args(["console", "-n", &name, "-t", "0"])
        .env("RLXC_PATH", world.lxcpath())
        .env("RLXC_RUN_DIR", world.run_root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rlxc console");
    let mut banner = String::new();
    let mut stderr = std::io::BufReader::new(client.stderr.take().expect("stderr"));
    while !banner.contains("Type <") {
        let n = std::io::BufRead::read_line(&mut stderr, &mut banner).expect("banner");
        assert!(n > 0, "the console client ended: {banner:?}");
    }
    client
        .stdin
        .as_mut()
        .expect("stdin")
        .write_all(b"\x01q")
        .expect("escape");
    assert!(client.wait().expect("console client").success());

    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn start_c_names_the_console_device() {
    let world = World::new();
    let name = world.busybox("startc");
    let mut pty = TestPty::open();
    world
        .rlxc(&["start", "-n", &name, "-c", &pty.path])
        .assert()
        .success();
    // Raw while the monitor holds the device (what is typed reaches the container's line
    // discipline unchanged, as LXC does it); its settings come back when the monitor ends.
    assert!(!pty.echoes(), "the device is not in raw mode");
    log_in_and_touch(&world, &name, &mut pty, "typed-after-start-c");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
    assert!(pty.echoes(), "the device's settings were not restored");
}

/// A device nobody reads fills up: the monitor drops what it cannot write there, so init's
/// console never blocks and the console log keeps filling (and rotating).
#[test]
fn a_device_nobody_reads_neither_blocks_init_nor_the_log() {
    let world = World::new();
    let name = world.busybox("condevflood");
    let pty = TestPty::open();
    let log = world.dir.path().join("flood.log");
    world.append_config(
        &name,
        &format!(
            "lxc.console.path = {}\nlxc.console.logfile = {}\nlxc.console.size = 64K\nlxc.console.rotate = 1\nlxc.init.cmd = /bin/sh -c 'while :; do echo flooding-the-console-device; done'\n",
            pty.path,
            log.display()
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    // The pty's buffers hold a few KiB; the log rotates after 64 KiB, well past them.
    let rotated = log.with_extension("log.1");
    assert!(
        wait_for_file(&rotated),
        "the console stalled: the log never reached its limit"
    );
    // And it goes on: the log keeps rotating (a monitor blocked on the device would stop
    // it; one look at its state could catch it in a moment's disk write).
    let rotated_at = || std::fs::metadata(&rotated).and_then(|m| m.modified()).ok();
    let first = rotated_at();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rotated_at() == first {
        let monitor = world.monitor_pid(&name);
        let status = std::fs::read_to_string(format!("/proc/{monitor}/status")).unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "the monitor stopped relaying: {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
    drop(pty);
}

/// What cannot be the console's peer is refused before anything is made, by `config check`
/// and `start -c` alike, with the key and why: a path that does not exist, and a regular
/// file (LXC relays the console to a terminal only).
#[test]
fn a_console_path_that_is_no_terminal_is_refused_before_anything_is_made() {
    let world = World::new();
    let name = world.busybox("condevbad");
    let file = world.dir.path().join("not-a-tty");
    std::fs::write(&file, "").expect("regular file");
    let cases = [
        (
            "/dev/rlxc-no-such-console".to_string(),
            "No such file or directory",
        ),
        (file.display().to_string(), "not a terminal"),
    ];
    for (path, reason) in cases {
        let expected = format!("lxc.console.path = {path}: {reason}");
        let define = format!("lxc.console.path={path}");
        let check = world.output(&["config", "check", "-n", &name, "-s", &define]);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        assert_eq!(check.status.code(), Some(1), "config check: {said}");
        assert!(said.contains(&expected), "config check said {said}");
        world
            .rlxc(&["start", "-n", &name, "-c", &path])
            .assert()
            .failure()
            .stderr(predicate::str::contains(&expected));
        world.assert_nothing_left(&name);
    }
    assert_eq!(std::fs::read_to_string(&file).expect("file"), "");
}
