//! Shared set-up for the lifecycle tests: a private lxcpath and run directory per test, a
//! busybox container made by `rlxc create`, and a check that nothing is left afterwards.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub mod frozen;
pub mod guest;
pub mod idmap;
pub mod loopfs;
pub mod tmpfs;

pub const RLXC: &str = env!("CARGO_BIN_EXE_rlxc");

/// One test's world: its own lxcpath and run root, removed (after stopping its containers)
/// when the test ends, pass or fail.
pub struct World {
    pub dir: tempfile::TempDir,
    pub names: std::cell::RefCell<Vec<String>>,
    /// Run every `rlxc` of this world in this network namespace (`/run/netns/NAME`).
    pub netns: Option<String>,
    /// A run root other than the world's own (see [`World::with_default_run_root`]).
    pub shared_run_root: Option<PathBuf>,
}

impl World {
    pub fn new() -> World {
        World {
            dir: tempfile::Builder::new()
                .prefix("rlxc-test-")
                .tempdir_in("/tmp")
                .expect("tempdir"),
            names: Default::default(),
            netns: None,
            shared_run_root: None,
        }
    }

    /// A world whose containers' run directories go in rlxc's default run root (`/run/rlxc`)
    /// instead of one in the world's temporary directory, whose path is too long for the
    /// control socket of the longest names; the names are still unique to the test.
    pub fn with_default_run_root() -> World {
        let mut world = World::new();
        world.shared_run_root = Some(PathBuf::from("/run/rlxc"));
        world
    }

    /// A world whose lxcpath is below `parent` (a filesystem of the test's own), with its
    /// run directories in the default run root (a path below `parent` may be too long for
    /// the control socket).
    pub fn below(parent: &Path) -> World {
        World {
            dir: tempfile::Builder::new()
                .prefix("rlxc-test-")
                .tempdir_in(parent)
                .expect("tempdir"),
            names: Default::default(),
            netns: None,
            shared_run_root: Some(PathBuf::from("/run/rlxc")),
        }
    }

    /// A world whose `rlxc` commands run inside `netns`, so whatever they do to the network
    /// stays there.
    pub fn in_netns(netns: &TestNetns) -> World {
        let mut world = World::new();
        world.netns = Some(netns.name.clone());
        world
    }

    pub fn lxcpath(&self) -> PathBuf {
        self.dir.path().join("lxc")
    }

    pub fn run_root(&self) -> PathBuf {
        match &self.shared_run_root {
            Some(run_root) => run_root.clone(),
            None => self.dir.path().join("run"),
        }
    }

    /// `rlxc VERB -P LXCPATH ...` with this world's run root.
    pub fn rlxc(&self, args: &[&str]) -> Command {
        let mut command = match &self.netns {
            // nsenter, not `ip netns exec`: that one remounts /sys, and rlxc needs none of it.
            Some(netns) => {
                let mut command = Command::new("nsenter");
                command.arg(format!("--net=/run/netns/{netns}")).arg(RLXC);
                command
            }
            None => Command::new(RLXC),
        };
        // RLXC_PATH rather than -P: a `-P` after `-- CMD` would belong to CMD.
        command
            .args(args)
            .env("RLXC_PATH", self.lxcpath())
            .env("RLXC_RUN_DIR", self.run_root())
            .timeout(std::time::Duration::from_secs(60));
        command
    }

    /// `program` (rlxc, or a link to it) as a plain `std` command with this world's lxcpath
    /// and run root, for a test that reads its output while it runs.
    pub fn process(&self, program: &Path, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(program);
        command
            .args(args)
            .env("RLXC_PATH", self.lxcpath())
            .env("RLXC_RUN_DIR", self.run_root());
        command
    }

    /// A background `rlxc wait` that has looked once and now sleeps for a change (state S:
    /// rlxc sleeps nowhere else on its way there). A slow host (the UML lane) may take longer
    /// to get there than any fixed pause.
    pub fn spawn_waiting(&self, args: &[&str]) -> std::process::Child {
        let mut child = self.spawn_rlxc(args);
        wait_until_sleeping(&mut child);
        child
    }

    /// `rlxc ARGS` in the background, such as a `wait` that races with a stop or a freeze.
    pub fn spawn_rlxc(&self, args: &[&str]) -> std::process::Child {
        self.process(Path::new(RLXC), args)
            .spawn()
            .expect("spawn rlxc")
    }

    pub fn output(&self, args: &[&str]) -> Output {
        self.rlxc(args).output().expect("run rlxc")
    }

    /// `rlxc attach -n NAME -- /bin/sh -c SCRIPT`.
    pub fn sh(&self, name: &str, script: &str) -> Output {
        self.output(&["attach", "-n", name, "--", "/bin/sh", "-c", script])
    }

    /// A unique container name (tests run in parallel; cgroup names are host-wide): unique
    /// per test binary by its pid and within it by a count, so that two tests of one binary
    /// that share a base (the two set-ups of an escape test) never see each other's cgroups.
    pub fn name(&self, base: &str) -> String {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let count = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{base}-{}-{count}", std::process::id());
        self.names.borrow_mut().push(name.clone());
        name
    }

    /// A busybox container made by `rlxc create`.
    pub fn busybox(&self, base: &str) -> String {
        let name = self.name(base);
        self.rlxc(&["create", "-n", &name, "-t", "busybox"])
            .assert()
            .success();
        name
    }

    pub fn rootfs(&self, name: &str) -> PathBuf {
        self.lxcpath().join(name).join("rootfs")
    }

    /// Starts `name` with init running `script` first, then a long sleep; returns once the
    /// script has run: init then writes to a FIFO in the rootfs that this waits on (start
    /// returns when init is exec'd, before its first command is done).
    pub fn start_with_init_script(&self, name: &str, script: &str) {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let fifo = self.rootfs(name).join("script.done");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        // Non-blocking, so a start that fails cannot hang the test on the open.
        let reader = rustix::fs::open(
            &fifo,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK,
            rustix::fs::Mode::empty(),
        )
        .expect("open fifo");
        let command = format!("{script}; echo done > /script.done; exec sleep 600");
        self.rlxc(&["start", "-n", name, "--", "/bin/sh", "-c", &command])
            .assert()
            .success();
        // A generous bound against a hang, not a timing assertion.
        let mut fds = [PollFd::new(&reader, PollFlags::IN)];
        let limit = Timespec {
            tv_sec: 60,
            tv_nsec: 0,
        };
        let ready = poll(&mut fds, Some(&limit)).expect("poll");
        assert_eq!(ready, 1, "init's script did not finish");
    }

    pub fn config(&self, name: &str) -> PathBuf {
        self.lxcpath().join(name).join("config")
    }

    pub fn append_config(&self, name: &str, lines: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.config(name))
            .expect("config");
        file.write_all(lines.as_bytes()).expect("append");
    }

    /// `CONFIG:N`: where `line` stands in the container's config (the last time), as
    /// errors point at it.
    pub fn config_origin(&self, name: &str, line: &str) -> String {
        let path = self.config(name);
        let text = std::fs::read_to_string(&path).expect("config");
        let number = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == line)
            .map(|(i, _)| i + 1)
            .last()
            .unwrap_or_else(|| panic!("{line:?} is not in {}", path.display()));
        format!("{}:{number}", path.display())
    }

    pub fn state(&self, name: &str) -> String {
        let out = self.output(&["info", "-n", name, "-s", "-H"]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn init_pid(&self, name: &str) -> i32 {
        let out = self.output(&["info", "-n", name, "-p", "-H"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pid")
    }

    /// The container's instance name: its run directory's name (`NAME`, or `NAME.HASH` for a
    /// private lxcpath), which its cgroups carry too.
    pub fn instance(&self, name: &str) -> String {
        std::fs::read_dir(self.run_root())
            .expect("run root")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .find(|entry| entry == name || entry.starts_with(&format!("{name}.")))
            .expect("run directory")
    }

    /// The /proc view servers of a running container: the `rlxc-view` children of its
    /// monitor (by parent rather than by name, which the kernel cuts to 15 bytes and another
    /// lxcpath's container may share).
    pub fn view_servers(&self, name: &str) -> Vec<i32> {
        let monitor = format!("PPid:\t{}", self.monitor_pid(name));
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
                    status.starts_with("Name:\trlxc-view")
                        && status.lines().any(|line| line == monitor)
                })
            })
            .collect()
    }

    /// The monitor's pid, from the container's state file.
    pub fn monitor_pid(&self, name: &str) -> i32 {
        let dir = self.run_root().join(self.instance(name));
        let state = std::fs::read_to_string(dir.join("state.json")).expect("state file");
        let state: serde_json::Value = serde_json::from_str(&state).expect("state json");
        state["monitor"]["pid"].as_i64().expect("monitor pid") as i32
    }

    /// The monitor is in its own cgroup (`rlxc.monitor.NAME…`) in cgroup2, and in the v1
    /// hierarchies where rlxc was started (this test's own cgroups); returns its pid.
    pub fn assert_monitor_in_its_own_cgroups(&self, name: &str) -> i32 {
        let monitor = self.monitor_pid(name);
        let cgroups = std::fs::read_to_string(format!("/proc/{monitor}/cgroup")).expect("cgroup");
        let ours = std::fs::read_to_string("/proc/self/cgroup").expect("cgroup");
        for line in cgroups.lines() {
            if line.starts_with("0::") {
                assert!(line.contains(&format!("/rlxc.monitor.{name}")), "{cgroups}");
            } else {
                assert!(
                    ours.lines().any(|own| own == line),
                    "{cgroups}\nours:\n{ours}"
                );
            }
        }
        monitor
    }

    /// Kills the container's monitor with SIGKILL, as a crash would.
    pub fn kill_monitor(&self, name: &str) {
        let monitor = rustix::process::Pid::from_raw(self.monitor_pid(name)).expect("pid");
        rustix::process::kill_process(monitor, rustix::process::Signal::KILL)
            .expect("kill monitor");
    }

    /// Nothing of `name` is left: no run directory, no cgroup, no mount of its rootfs.
    pub fn assert_nothing_left(&self, name: &str) {
        let run = self.run_root();
        let leftovers: Vec<_> = std::fs::read_dir(&run)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(
            leftovers
                .iter()
                .all(|p| !p.to_string_lossy().contains(name)),
            "run directory left: {leftovers:?}"
        );
        // `rlxc.payload.NAME.HASH` (a private lxcpath) and `rlxc.monitor.…` alike.
        for kind in ["payload", "monitor"] {
            let cgroup = format!("rlxc.{kind}.{name}");
            let found = find_cgroup(Path::new("/sys/fs/cgroup"), &cgroup, 0);
            assert!(found.is_none(), "cgroup left: {found:?}");
        }
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
        let rootfs = self.lxcpath().join(name);
        assert!(
            !mounts.contains(rootfs.to_string_lossy().as_ref()),
            "mount of {} left",
            rootfs.display()
        );
    }
}

/// Whether the filesystem mounted at `mountpoint` is read-only as a whole (its superblock's
/// options, the last field of its mountinfo line), not merely one mount of it.
pub fn superblock_read_only(mountpoint: &Path) -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let line = mountinfo
        .lines()
        .rfind(|line| line.split(' ').nth(4) == mountpoint.to_str())
        .unwrap_or_else(|| panic!("{} is not a mount point", mountpoint.display()));
    let options = line.rsplit(' ').next().unwrap_or_default();
    options.split(',').any(|option| option == "ro")
}

/// The test fails, with the command's status and stderr, unless `output` is a success.
/// `sh -c SCRIPT` on the host, which must succeed; its stdout.
pub fn host_sh(script: &str) -> String {
    let output = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("sh");
    assert_ok(&output, script);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `rlxc ARGS` run in the mount namespace of process `holder` (a test's private one, see
/// `hooks.rs`), with `world`'s places.
pub fn rlxc_in_mount_namespace_of(holder: u32, world: &World, args: &[&str]) -> Output {
    std::process::Command::new("nsenter")
        .arg(format!("--mount=/proc/{holder}/ns/mnt"))
        .arg(RLXC)
        .args(args)
        .env("RLXC_PATH", world.lxcpath())
        .env("RLXC_RUN_DIR", world.run_root())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("nsenter rlxc")
}

/// Tests that need a terminal get one from script(1), which is in util-linux/bsdutils,
/// essential on Debian: missing, it fails the test rather than skipping it.
pub fn assert_script_exists() {
    assert!(
        Path::new("/usr/bin/script").exists(),
        "script(1) is missing: install bsdutils"
    );
}

/// The container's cgroup directory for `controller` (v1 hierarchy if there is one, else
/// the cgroup2 one), where its limits are, from init's /proc/PID/cgroup as the host sees
/// it: init's own cgroup, or the one above when init is in the container's inner cgroup
/// (`ns`, the root of a container given writable cgroups, where it may have made more).
pub fn cgroup_dir(pid: i32, controller: &str) -> PathBuf {
    container_cgroup_of(process_cgroup_dir(pid, controller))
}

/// The cgroup2 directory of the container that process `pid` is in, as the host sees it.
pub fn unified_cgroup_dir(pid: i32) -> PathBuf {
    container_cgroup_of(process_unified_dir(pid))
}

/// The cgroup of process `pid` itself for `controller` (its events and counters are there:
/// v1 counts an OOM kill or a refused fork where the process is, not where the limit is).
pub fn process_cgroup_dir(pid: i32, controller: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if controllers.split(',').any(|c| c == controller) {
            return PathBuf::from(format!("/sys/fs/cgroup/{controller}{path}"));
        }
    }
    process_unified_dir(pid)
}

fn process_unified_dir(pid: i32) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let unified = mountinfo
        .lines()
        .find(|l| l.contains(" - cgroup2 "))
        .and_then(|l| l.split_whitespace().nth(4))
        .expect("a cgroup2 mount");
    let path = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .expect("0:: line");
    PathBuf::from(format!("{unified}{path}"))
}

/// `…/rlxc.payload.NAME/ns/init.scope` → `…/rlxc.payload.NAME`; else an inner cgroup's
/// parent; else `dir` itself.
fn container_cgroup_of(dir: PathBuf) -> PathBuf {
    let payload = dir.ancestors().find(|a| {
        a.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("rlxc.payload."))
    });
    if let Some(payload) = payload {
        return payload.to_path_buf();
    }
    match dir.parent() {
        Some(parent) if dir.ends_with("ns") => parent.to_path_buf(),
        _ => dir,
    }
}

/// A cgroup file's content, trimmed (the test fails naming the file if it cannot be read).
pub fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
        .trim()
        .to_owned()
}

/// Removes the empty cgroups of container `name` (payload and monitor, every hierarchy) when
/// dropped: for a test that leaves them behind on purpose, also when it fails.
pub struct CgroupsOf(pub String);

impl Drop for CgroupsOf {
    fn drop(&mut self) {
        for kind in ["payload", "monitor"] {
            let cgroup = format!("rlxc.{kind}.{}", self.0);
            while let Some(dir) = find_cgroup(Path::new("/sys/fs/cgroup"), &cgroup, 0) {
                if std::fs::remove_dir(&dir).is_err() {
                    break;
                }
            }
        }
    }
}

fn find_cgroup(dir: &Path, name: &str, depth: usize) -> Option<PathBuf> {
    if depth > 6 {
        return None;
    }
    for entry in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let path = entry.path();
        if !entry.file_type().ok()?.is_dir() {
            continue;
        }
        let entry_name = entry.file_name();
        let entry_name = entry_name.to_string_lossy();
        if entry_name == name || entry_name.starts_with(&format!("{name}.")) {
            return Some(path);
        }
        if let Some(found) = find_cgroup(&path, name, depth + 1) {
            return Some(found);
        }
    }
    None
}

impl Drop for World {
    fn drop(&mut self) {
        for name in self.names.borrow().iter() {
            let _ = self.rlxc(&["stop", "-n", name, "-k"]).output();
        }
    }
}

/// A network namespace of one test (`ip netns add rlxc-t-PID-N`), deleted when dropped, pass
/// or fail, with whatever links are still in it. Nothing a test does to links, addresses or
/// routes in it can reach the host's.
pub struct TestNetns {
    pub name: String,
}

impl TestNetns {
    pub fn new() -> TestNetns {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("rlxc-t-{}-{n}", std::process::id());
        let status = std::process::Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip netns add");
        assert!(status.success(), "ip netns add {name}");
        let netns = TestNetns { name };
        netns.ip(&["link", "set", "lo", "up"]);
        netns
    }

    /// `ip ARGS` inside the namespace (test set-up and checks only; rlxc uses netlink).
    pub fn ip(&self, args: &[&str]) -> String {
        let output = std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.name))
            .arg("ip")
            .args(args)
            .output()
            .expect("run ip");
        assert!(
            output.status.success(),
            "ip {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The names of the links in the namespace (`veth0@if3` is reported as `veth0`).
    pub fn links(&self) -> Vec<String> {
        self.ip(&["-o", "link", "show"])
            .lines()
            .filter_map(|line| line.split(": ").nth(1))
            .map(|name| name.split('@').next().unwrap_or(name).to_string())
            .collect()
    }

    /// A bridge with `address` (CIDR), up.
    pub fn bridge(&self, name: &str, address: &str) {
        self.ip(&["link", "add", name, "type", "bridge"]);
        self.ip(&["addr", "add", address, "dev", name]);
        self.ip(&["link", "set", name, "up"]);
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

/// Returns once `child` sleeps interruptibly (state S), having looked at what it waits for:
/// a slow host (the UML lane) may take longer to get there than any fixed pause. Killed, and
/// the test failed, if it never does within 20 s.
pub fn wait_until_sleeping(child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !is_sleeping(child.id()) {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} never went to sleep", child.id());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Whether process `pid` sleeps interruptibly (state S in `/proc/PID/stat`).
fn is_sleeping(pid: u32) -> bool {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = text
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    state == Some("S")
}

/// Whether the `/proc/PID/status` text says SIGPIPE is ignored (bit 13 of `SigIgn`).
pub fn ignores_sigpipe(status: &str) -> bool {
    let ignored = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .expect("a SigIgn line");
    ignored & (1 << (libc::SIGPIPE - 1)) != 0
}

/// The stdout of a running process, gathered by a thread; [`Gathered::wait_for`] polls it.
pub struct Gathered(std::sync::Arc<std::sync::Mutex<String>>);

impl Gathered {
    /// Everything gathered so far.
    pub fn text(&self) -> String {
        self.0.lock().expect("lock").clone()
    }

    pub fn from(mut stdout: impl std::io::Read + Send + 'static) -> Gathered {
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = std::sync::Arc::clone(&text);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                let chunk = String::from_utf8_lossy(&buffer[..n]).into_owned();
                sink.lock().expect("lock").push_str(&chunk);
            }
        });
        Gathered(text)
    }

    /// Waits (bounded, against a hang) until the output has `needle`; returns all of it.
    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let text = self.0.lock().expect("lock").clone();
            if text.contains(needle) || std::time::Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
