//! Shared by the `rootfs*` integration tests: a tiny busybox rootfs in a tempdir, and a way
//! to run `setup` in a forked child with its own mount namespace and look around in there.
//! Needs root.

// Test helpers: a failed step should panic right there, with its context.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use rlxc_config::values::MountEntry;
use rlxc_runtime::rootfs::{setup, RootfsOutcome, RootfsPlan};

/// `base/rootfs`, where `base` is a unique tempdir (removed on drop, also on failure) whose
/// other children let a test see whether anything leaked out of the rootfs.
pub struct Fixture {
    pub base: tempfile::TempDir,
    pub rootfs: PathBuf,
}

const APPLETS: [&str; 8] = ["sh", "ls", "cat", "stat", "touch", "mount", "echo", "mkdir"];

impl Fixture {
    /// A rootfs with only `/bin` (busybox and a few applets) and `/tmp`: no /proc, /sys or
    /// /dev, which setup must create.
    pub fn new() -> Self {
        let base = tempfile::Builder::new()
            .prefix("rlxc-rootfs-test-")
            .tempdir()
            .unwrap();
        let rootfs = base.path().join("rootfs");
        fs::create_dir_all(rootfs.join("bin")).unwrap();
        fs::create_dir_all(rootfs.join("tmp")).unwrap();
        fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for applet in APPLETS {
            symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        Fixture { base, rootfs }
    }

    pub fn plan(&self) -> RootfsPlan {
        RootfsPlan::new(&self.rootfs)
    }

    pub fn base(&self) -> &Path {
        self.base.path()
    }

    /// No mount of the host's (the test process's) namespace mentions this fixture. Call it
    /// after the container child is gone.
    pub fn assert_no_host_mounts(&self) {
        let base = self.base().to_str().unwrap();
        let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let leaked: Vec<&str> = mountinfo.lines().filter(|l| l.contains(base)).collect();
        assert!(leaked.is_empty(), "mounts leaked to the host: {leaked:#?}");
    }
}

pub fn entry(line: &str) -> MountEntry {
    line.parse()
        .unwrap_or_else(|e| panic!("bad test entry {line}: {e}"))
}

/// How the child is made.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Namespaces {
    /// `unshare(CLONE_NEWNS)` only.
    Mount,
    /// `unshare(CLONE_NEWNS|CLONE_NEWPID)` and one more fork, so setup runs as pid 1, as in a
    /// real container.
    MountAndPid,
}

/// Forks a child that enters new namespaces, runs `setup(plan)` and then `probe` in the
/// container's view. Returns what the probe returned, or the setup error / probe panic as
/// text. The child never returns into the test harness.
pub fn in_container(
    plan: &RootfsPlan,
    namespaces: Namespaces,
    probe: impl FnOnce(&RootfsOutcome) -> String,
) -> Result<String, String> {
    in_container_after(plan, namespaces, || {}, probe)
}

/// [`in_container`], with `prepare` run in the child just before `setup`.
pub fn in_container_after(
    plan: &RootfsPlan,
    namespaces: Namespaces,
    prepare: impl FnOnce(),
    probe: impl FnOnce(&RootfsOutcome) -> String,
) -> Result<String, String> {
    let (mut parent_end, child_end) = UnixStream::pair().unwrap();
    // SAFETY: the child only runs this test's code (setup and the probe) and then `_exit`s;
    // glibc keeps malloc usable after fork, and nothing in the child takes the harness's
    // locks (no printing to the captured stdout).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(parent_end);
        let report = run_child(plan, namespaces, prepare, probe);
        let _ = (&child_end).write_all(report.as_bytes());
        // SAFETY: ends the forked child without running the harness's destructors.
        unsafe { libc::_exit(0) }
    }
    drop(child_end);
    let mut report = String::new();
    parent_end.read_to_string(&mut report).unwrap();
    wait(pid);
    match report.split_once('\n') {
        Some(("OK", rest)) => Ok(rest.to_string()),
        Some((_, rest)) => Err(rest.to_string()),
        None => Err(format!("the child said nothing useful: {report:?}")),
    }
}

fn run_child(
    plan: &RootfsPlan,
    namespaces: Namespaces,
    prepare: impl FnOnce(),
    probe: impl FnOnce(&RootfsOutcome) -> String,
) -> String {
    let mut flags = libc::CLONE_NEWNS;
    if namespaces == Namespaces::MountAndPid {
        flags |= libc::CLONE_NEWPID;
    }
    // SAFETY: plain syscall on this single-threaded child.
    if unsafe { libc::unshare(flags) } != 0 {
        return format!("ERR\nunshare: {}", std::io::Error::last_os_error());
    }
    if namespaces == Namespaces::MountAndPid {
        // SAFETY: as in `in_container`: only test code and `_exit` run in the child.
        let pid = unsafe { libc::fork() };
        if pid != 0 {
            // The middle child: wait for pid 1 of the new namespace; the report comes
            // from there, through the inherited socket.
            wait(pid);
            return String::new();
        }
    }
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        prepare();
        setup(plan).map(|outcome| probe(&outcome))
    }));
    match outcome {
        Ok(Ok(report)) => format!("OK\n{report}"),
        Ok(Err(error)) => format!("ERR\n{error}"),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("PANIC\nin the container: {message}")
        }
    }
}

fn wait(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: `status` is a valid c_int and `pid` is our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        assert_eq!(
            std::io::Error::last_os_error().kind(),
            std::io::ErrorKind::Interrupted
        );
    }
}

// ---- looking around inside the container ----

/// Mount points listed by `/proc/self/mountinfo`, sorted.
pub fn mount_points() -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut points: Vec<String> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect();
    points.sort();
    points
}

pub fn is_read_only(path: &str) -> bool {
    let st = rustix::fs::statvfs(path).unwrap_or_else(|e| panic!("statvfs {path}: {e}"));
    st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY)
}

pub fn names_in(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

pub fn stat(path: &str) -> rustix::fs::Stat {
    rustix::fs::lstat(path).unwrap_or_else(|e| panic!("stat {path}: {e}"))
}

/// The errno of opening `path` for writing, or 0.
pub fn write_errno(path: &str) -> i32 {
    match fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
    {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

pub const TMPFS_MAGIC: u64 = 0x0102_1994;

/// `f_type` of the filesystem at `path`.
pub fn fs_type(path: &str) -> u64 {
    rustix::fs::statfs(path).unwrap().f_type as u64
}

/// Drops CAP_MKNOD from this (child) process's effective set, as in a user namespace where
/// mknod is not permitted, so setup has to take its bind-mount fallback for device nodes.
pub fn drop_cap_mknod() {
    const CAP_MKNOD: u32 = 27;
    const VERSION_3: u32 = 0x2008_0522;
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget writes two `Data` records (version 3) into `data`, which has room for
    // exactly that; `header` is a valid header.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
    data[0].effective &= !(1 << CAP_MKNOD);
    // SAFETY: as above; capset only reads the two records.
    let rc = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
}
