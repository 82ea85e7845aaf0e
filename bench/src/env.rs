//! The bench's private world: one scratch directory holding the rootfs, rlxc's lxcpath and run
//! directory, LXC's lxcpath, crun's and runc's state roots and the OCI bundles. Nothing of the
//! host's containers is read or touched; everything started is stopped and removed on the way
//! out, also after an error or Ctrl-C (the `Drop` of `Env`).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::configs;
use crate::sys;
use crate::tools::Tool;

/// Container names all start with this, so leftovers (cgroups too) are recognisable.
pub const PREFIX: &str = "rlxcb-";

/// Lines of the config `Case::ParseConfig` checks.
pub const BIG_CONFIG_LINES: usize = 100_000;

pub struct Env {
    pub dir: PathBuf,
    pub rootfs: PathBuf,
    pub rlxc: PathBuf,
    rlxc_path: PathBuf,
    rlxc_run: PathBuf,
    lxc_path: PathBuf,
    crun_root: PathBuf,
    runc_root: PathBuf,
    bundle_true: PathBuf,
    bundle_init: PathBuf,
    stderr_path: PathBuf,
    /// A process holding a private mount namespace without /sys/fs/cgroup/unified, for crun.
    crun_ns: Option<(Child, fs::File)>,
    /// The tools found on this host (rlxc and the floor always).
    pub tools: Vec<Tool>,
    /// Containers that may be running, per tool: stopped on the way out.
    live: RefCell<BTreeSet<(Tool, String)>>,
}

/// rlxc as an installed binary is: a copy of the one given, run from the scratch directory.
/// The file the linker has just written runs each command ~0.25 ms slower until its pages
/// have been dropped from the page cache and read again (same bytes: `rlxc cgroup` took
/// 1.07 ms from `target/release` right after a build, 0.80 ms from a copy, 0.79 ms from
/// `target/release` once its cached pages were dropped and read back). LXC's, crun's and
/// runc's binaries come from packages, read from disk.
fn installed_copy(rlxc: &Path, dir: &Path) -> Result<PathBuf, String> {
    let copy = dir.join("rlxc-bin");
    fs::copy(rlxc, &copy)
        .map_err(|e| format!("copying {} to {}: {e}", rlxc.display(), copy.display()))?;
    Ok(copy)
}

/// A command that failed: its exit status and the first lines of its stderr.
pub type Failure = String;

impl Env {
    /// Make the scratch world: rootfs, configs for `names`, bundles, crun's namespace.
    pub fn setup(rlxc: &Path, names: &[String]) -> Result<Env, String> {
        let dir = PathBuf::from(format!("/tmp/rlxc-bench.{}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut env = Env {
            rootfs: dir.join(format!("rlxc/{PREFIX}rootfs/rootfs")),
            rlxc: installed_copy(rlxc, &dir)?,
            rlxc_path: dir.join("rlxc"),
            // On /run, a tmpfs, as rlxc's default run directory and LXC's lock directory
            // (/run/lxc/lock) are: each verb makes and removes its lock file there.
            rlxc_run: PathBuf::from(format!("/run/rlxc-bench.{}", std::process::id())),
            lxc_path: dir.join("lxc"),
            crun_root: dir.join("crun"),
            runc_root: dir.join("runc"),
            bundle_true: dir.join("bundle-true"),
            bundle_init: dir.join("bundle-init"),
            stderr_path: dir.join("stderr"),
            crun_ns: None,
            tools: vec![Tool::Rlxc, Tool::Floor],
            live: RefCell::new(BTreeSet::new()),
            dir,
        };
        env.make_rootfs()?;
        env.write_configs(names)?;
        if have("lxc-start") {
            env.tools.push(Tool::Lxc);
        }
        if have("runc") {
            env.tools.push(Tool::Runc);
        }
        if have("crun") {
            env.crun_ns = Some(crun_namespace()?);
            env.tools.push(Tool::Crun);
        }
        env.tools.sort();
        Ok(env)
    }

    /// The busybox rootfs, made by rlxc's own template, with the bench's quiet inittab.
    fn make_rootfs(&self) -> Result<(), String> {
        let mut create = self.rlxc_cmd(&["create", "-n", &format!("{PREFIX}rootfs")]);
        create.args(["-t", "busybox"]);
        self.run(create)
            .map_err(|e| format!("rlxc create -t busybox: {e}"))?;
        fs::write(self.rootfs.join("etc/inittab"), configs::INITTAB)
            .map_err(|e| format!("inittab: {e}"))
    }

    /// One lxc.conf per name for rlxc and for LXC, and the two OCI bundles.
    fn write_configs(&self, names: &[String]) -> Result<(), String> {
        let rootfs = self.rootfs.to_string_lossy().into_owned();
        for name in names {
            let init = if name.ends_with("true") {
                "/bin/true"
            } else {
                "/sbin/init"
            };
            let text = configs::lxc_conf(name, &rootfs, init);
            for base in [&self.rlxc_path, &self.lxc_path] {
                let dir = base.join(name);
                fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                fs::write(dir.join("config"), &text).map_err(|e| format!("config: {e}"))?;
            }
        }
        for (bundle, args) in [
            (&self.bundle_true, &["/bin/true"][..]),
            (&self.bundle_init, &["/sbin/init"][..]),
        ] {
            fs::create_dir_all(bundle).map_err(|e| format!("{}: {e}", bundle.display()))?;
            fs::write(
                bundle.join("config.json"),
                configs::oci_config(&rootfs, args),
            )
            .map_err(|e| format!("config.json: {e}"))?;
        }
        Ok(())
    }

    /// The systemd guest's config in `tool`'s lxcpath, naming this boot's overlay.
    pub fn write_guest_config(&self, tool: Tool, name: &str, rootfs: &Path) -> Result<(), String> {
        let base = match tool {
            Tool::Rlxc => &self.rlxc_path,
            Tool::Lxc => &self.lxc_path,
            _ => return Err(format!("{tool} does not read lxc.conf")),
        };
        let dir = base.join(name);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let text = configs::guest_conf(name, &rootfs.to_string_lossy());
        fs::write(dir.join("config"), text).map_err(|e| format!("guest config: {e}"))
    }

    fn rlxc_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.rlxc);
        c.env("RLXC_PATH", &self.rlxc_path)
            .env("RLXC_RUN_DIR", &self.rlxc_run)
            .args(args);
        c
    }

    fn lxc_cmd(&self, tool: &str, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(tool);
        c.args(["-n", name, "-P"]).arg(&self.lxc_path).args(args);
        c
    }

    fn oci_cmd(&self, tool: Tool, args: &[&str]) -> Command {
        let (bin, root) = match tool {
            Tool::Crun => ("crun", &self.crun_root),
            _ => ("runc", &self.runc_root),
        };
        let mut c = Command::new(bin);
        c.arg("--root").arg(root).args(args);
        if tool == Tool::Crun {
            if let Some((_, ns)) = &self.crun_ns {
                let fd = ns.as_raw_fd();
                // SAFETY: between fork and exec the closure makes one syscall (setns) and
                // allocates nothing.
                unsafe {
                    c.pre_exec(move || sys::setns_mnt(fd));
                }
            }
        }
        c
    }

    fn bundle(&self, init: bool) -> String {
        let b = if init {
            &self.bundle_init
        } else {
            &self.bundle_true
        };
        b.to_string_lossy().into_owned()
    }

    /// The command of one step of a case for one tool; `None`: the tool has no such verb.
    pub fn command(&self, tool: Tool, step: Step, name: &str) -> Option<Command> {
        use Step::*;
        Some(match (tool, step) {
            (Tool::Floor, OneShot) => {
                let mut c = Command::new("unshare");
                c.args([
                    "--pid", "--fork", "--mount", "--uts", "--ipc", "--net", "chroot",
                ])
                .arg(&self.rootfs)
                .arg("/bin/true");
                c
            }
            (Tool::Floor, _) => return None,

            (Tool::Rlxc, OneShot) => self.rlxc_cmd(&["start", "-F", "-n", name]),
            (Tool::Rlxc, Execute) => self.rlxc_cmd(&["execute", "-n", name, "--", "/bin/true"]),
            (Tool::Rlxc, Start) => self.rlxc_cmd(&["start", "-d", "-n", name]),
            (Tool::Rlxc, Attach) => self.rlxc_cmd(&["attach", "-n", name, "--", "/bin/true"]),
            (Tool::Rlxc, CgroupSet) => self.rlxc_cmd(&["cgroup", "-n", name, "pids.max", "1000"]),
            (Tool::Rlxc, Freeze) => self.rlxc_cmd(&["freeze", "-n", name]),
            (Tool::Rlxc, Unfreeze) => self.rlxc_cmd(&["unfreeze", "-n", name]),
            (Tool::Rlxc, Info) => self.rlxc_cmd(&["info", "-n", name]),
            (Tool::Rlxc, HardStop) => self.rlxc_cmd(&["stop", "-k", "-n", name]),
            (Tool::Rlxc, GracefulStop) => self.rlxc_cmd(&["stop", "-n", name]),
            (Tool::Rlxc, Pid) => self.rlxc_cmd(&["info", "-p", "-H", "-n", name]),
            (Tool::Rlxc, ParseConfig) => {
                let config = self.big_config().ok()?;
                self.rlxc_cmd(&["config", "check", "-f", &config.to_string_lossy()])
            }
            // LXC has no verb that only parses a config; the OCI runtimes take JSON.
            (_, ParseConfig) => return None,

            (Tool::Lxc, OneShot) => self.lxc_cmd("lxc-start", name, &["-F"]),
            (Tool::Lxc, Execute) => self.lxc_cmd("lxc-execute", name, &["--", "/bin/true"]),
            (Tool::Lxc, Start) => self.lxc_cmd("lxc-start", name, &["-d"]),
            (Tool::Lxc, Attach) => self.lxc_cmd("lxc-attach", name, &["--", "/bin/true"]),
            (Tool::Lxc, CgroupSet) => self.lxc_cmd("lxc-cgroup", name, &["pids.max", "1000"]),
            (Tool::Lxc, Freeze) => self.lxc_cmd("lxc-freeze", name, &[]),
            (Tool::Lxc, Unfreeze) => self.lxc_cmd("lxc-unfreeze", name, &[]),
            (Tool::Lxc, Info) => self.lxc_cmd("lxc-info", name, &[]),
            (Tool::Lxc, HardStop) => self.lxc_cmd("lxc-stop", name, &["-k"]),
            (Tool::Lxc, GracefulStop) => self.lxc_cmd("lxc-stop", name, &[]),
            (Tool::Lxc, Pid) => self.lxc_cmd("lxc-info", name, &["-p", "-H"]),

            (_, OneShot) => self.oci_cmd(tool, &["run", "--bundle", &self.bundle(false), name]),
            (_, Execute) => return None,
            (_, Start) => self.oci_cmd(tool, &["run", "-d", "--bundle", &self.bundle(true), name]),
            (_, Attach) => self.oci_cmd(tool, &["exec", name, "/bin/true"]),
            (_, CgroupSet) => self.oci_cmd(tool, &["update", "--pids-limit", "1000", name]),
            (_, Freeze) => self.oci_cmd(tool, &["pause", name]),
            (_, Unfreeze) => self.oci_cmd(tool, &["resume", name]),
            (_, Info) => self.oci_cmd(tool, &["state", name]),
            (_, HardStop) => self.oci_cmd(tool, &["delete", "-f", name]),
            // An OCI runtime's graceful stop is the caller's recipe: kill, wait, delete.
            (_, GracefulStop) => self.oci_cmd(tool, &["kill", name, "PWR"]),
            (_, Pid) => self.oci_cmd(tool, &["state", name]),
        })
    }

    /// `create -n NAME` of rlxc or LXC, for the caller's template arguments.
    pub fn create_command(&self, tool: Tool, name: &str) -> Option<Command> {
        match tool {
            Tool::Rlxc => Some(self.rlxc_cmd(&["create", "-n", name])),
            Tool::Lxc => Some(self.lxc_cmd("lxc-create", name, &[])),
            _ => None,
        }
    }

    /// A full copy of the stopped container `name` as `new`, in the same lxcpath.
    pub fn copy_command(&self, tool: Tool, name: &str, new: &str) -> Option<Command> {
        match tool {
            Tool::Rlxc => Some(self.rlxc_cmd(&["copy", "-n", name, "-N", new])),
            Tool::Lxc => Some(self.lxc_cmd("lxc-copy", name, &["-N", new])),
            _ => None,
        }
    }

    /// A copy-on-write clone of the stopped container `name` (a `dir` rootfs): both tools
    /// make an overlay with the source's rootfs as its lower layer.
    pub fn clone_command(&self, tool: Tool, name: &str, new: &str) -> Option<Command> {
        match tool {
            Tool::Rlxc => Some(self.rlxc_cmd(&["copy", "-n", name, "-N", new, "-s"])),
            Tool::Lxc => Some(self.lxc_cmd("lxc-copy", name, &["-N", new, "-s"])),
            _ => None,
        }
    }

    /// Removes a container `create_command` made (stopped).
    pub fn destroy_command(&self, tool: Tool, name: &str) -> Option<Command> {
        match tool {
            Tool::Rlxc => Some(self.rlxc_cmd(&["destroy", "-n", name])),
            Tool::Lxc => Some(self.lxc_cmd("lxc-destroy", name, &[])),
            _ => None,
        }
    }

    /// `args` run inside the container by rlxc's or LXC's attach (not timed: diagnostics).
    pub fn attach(&self, tool: Tool, name: &str, args: &[&str]) -> Option<Command> {
        let mut cmd = match tool {
            Tool::Rlxc => self.rlxc_cmd(&["attach", "-n", name, "--"]),
            Tool::Lxc => self.lxc_cmd("lxc-attach", name, &["--"]),
            _ => return None,
        };
        cmd.args(args);
        Some(cmd)
    }

    /// A config of [`BIG_CONFIG_LINES`] lines of what grows in real configs (environment,
    /// mount entries, device rules, sysctls, comments), written once.
    fn big_config(&self) -> std::io::Result<PathBuf> {
        let path = self.dir.join("big.conf");
        if !path.exists() {
            // A rootfs that exists: `config check` checks the config against this host, as
            // `start` would, and refuses a container without one.
            let mut text = format!(
                "lxc.uts.name = big\nlxc.rootfs.path = dir:{}\n",
                self.rootfs.display()
            );
            for i in 0..(BIG_CONFIG_LINES - 2) / 5 {
                text.push_str(&format!(
                    "lxc.environment = V{i}=x\n# comment {i}\n\
                     lxc.mount.entry = tmpfs mnt/m{i} tmpfs size=1m,create=dir 0 0\n\
                     lxc.cgroup.devices.allow = c 1:{} rwm\n\
                     lxc.sysctl.net.ipv4.conf.v{i}.forwarding = 1\n",
                    i % 256
                ));
            }
            fs::write(&path, text)?;
        }
        Ok(path)
    }

    /// `crun delete` / `runc delete`: the last part of an OCI graceful stop.
    pub fn oci_delete(&self, tool: Tool, name: &str) -> Command {
        self.oci_cmd(tool, &["delete", name])
    }

    /// Run a command with no input, output thrown away and stderr kept for errors; the time
    /// from spawn to exit.
    pub fn time(&self, cmd: Command) -> Result<Duration, Failure> {
        self.exec(cmd).map(|(d, _)| d)
    }

    /// Run a command for its output (not timed).
    pub fn run(&self, cmd: Command) -> Result<String, Failure> {
        self.exec_out(cmd)
    }

    fn exec(&self, mut cmd: Command) -> Result<(Duration, ()), Failure> {
        if sys::interrupted() {
            return Err("interrupted".into());
        }
        // stderr goes to a file, not a pipe: a daemonising tool keeps inherited fds open.
        let err = fs::File::create(&self.stderr_path).map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(err));
        let start = Instant::now();
        let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
        let took = start.elapsed();
        if status.success() {
            Ok((took, ()))
        } else {
            Err(self.failure(status))
        }
    }

    fn exec_out(&self, mut cmd: Command) -> Result<String, Failure> {
        let out_path = self.dir.join("stdout");
        let out = fs::File::create(&out_path).map_err(|e| e.to_string())?;
        let err = fs::File::create(&self.stderr_path).map_err(|e| e.to_string())?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
        if status.success() {
            Ok(fs::read_to_string(&out_path).unwrap_or_default())
        } else {
            Err(self.failure(status))
        }
    }

    fn failure(&self, status: std::process::ExitStatus) -> Failure {
        let stderr = fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        format!(
            "{status}: {}",
            lines.join(" / ").chars().take(300).collect::<String>()
        )
    }

    /// The pid of the container's init, as its tool reports it.
    pub fn init_pid(&self, tool: Tool, name: &str) -> Option<i32> {
        let out = self.run(self.command(tool, Step::Pid, name)?).ok()?;
        match tool {
            // "PID:   1234" (rlxc, LXC)
            Tool::Rlxc | Tool::Lxc => out.split_whitespace().last()?.parse().ok(),
            // "\"pid\": 1234," (OCI state)
            _ => {
                let at = out.find("\"pid\"")?;
                out[at + 5..]
                    .trim_start_matches([':', ' '])
                    .split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            }
        }
    }

    /// Note that a container may be running (or not any more).
    pub fn mark_live(&self, tool: Tool, name: &str, live: bool) {
        let key = (tool, name.to_string());
        if live {
            self.live.borrow_mut().insert(key);
        } else {
            self.live.borrow_mut().remove(&key);
        }
    }

    /// Stop whatever may still run, remove cgroups left by the prefix, the scratch directory.
    fn cleanup(&mut self) {
        let live: Vec<_> = std::mem::take(&mut *self.live.borrow_mut())
            .into_iter()
            .collect();
        for (tool, name) in live {
            let _ = self
                .command(tool, Step::HardStop, &name)
                .map(|c| self.run(c));
        }
        for tool in [Tool::Crun, Tool::Runc] {
            if !self.tools.contains(&tool) {
                continue;
            }
            let root = if tool == Tool::Crun {
                &self.crun_root
            } else {
                &self.runc_root
            };
            for name in dir_names(root) {
                let _ = self.run(self.oci_cmd(tool, &["delete", "-f", &name]));
            }
        }
        if let Some((mut holder, _)) = self.crun_ns.take() {
            let _ = holder.kill();
            let _ = holder.wait();
        }
        remove_prefixed_cgroups(Path::new("/sys/fs/cgroup"), 0);
        if mounts_below(&self.dir) {
            eprintln!(
                "rlxc-bench: mounts remain below {}: not removing it",
                self.dir.display()
            );
        } else if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("rlxc-bench: removing {}: {e}", self.dir.display());
        }
        if mounts_below(&self.rlxc_run) {
            eprintln!(
                "rlxc-bench: mounts remain below {}: not removing it",
                self.rlxc_run.display()
            );
        } else if let Err(e) = fs::remove_dir_all(&self.rlxc_run) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("rlxc-bench: removing {}: {e}", self.rlxc_run.display());
            }
        }
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// The steps a case is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    OneShot,
    Execute,
    Start,
    Attach,
    CgroupSet,
    Freeze,
    Unfreeze,
    Info,
    HardStop,
    GracefulStop,
    Pid,
    ParseConfig,
}

fn have(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

/// `unshare -m --propagation private` with /sys/fs/cgroup/unified unmounted (crun 1.8 refuses
/// a hybrid hierarchy), held open by a sleeping process; crun's commands enter it with setns,
/// which costs a few microseconds instead of a new namespace per command.
fn crun_namespace() -> Result<(Child, fs::File), String> {
    let (rd, wr) = std::io::pipe().map_err(|e| e.to_string())?;
    let mut holder = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(
            "if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified || exit 1; fi; \
             echo ready; exec sleep 1000000",
        )
        .stdin(Stdio::null())
        .stdout(wr)
        .spawn()
        .map_err(|e| format!("unshare for crun: {e}"))?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(rd), &mut line)
        .map_err(|e| e.to_string())?;
    if line.trim() != "ready" {
        let _ = holder.kill();
        return Err("could not make crun's mount namespace".into());
    }
    let ns = fs::File::open(format!("/proc/{}/ns/mnt", holder.id()))
        .map_err(|e| format!("crun's mount namespace: {e}"))?;
    Ok((holder, ns))
}

fn dir_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// rmdir every (empty) cgroup whose name holds the prefix, up to four levels down.
fn remove_prefixed_cgroups(dir: &Path, depth: usize) {
    if depth > 4 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let path = entry.path();
        remove_prefixed_cgroups(&path, depth + 1);
        if entry.file_name().to_string_lossy().contains(PREFIX) {
            let _ = fs::remove_dir(&path);
        }
    }
}

fn mounts_below(dir: &Path) -> bool {
    let prefix = dir.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.split_whitespace()
                .nth(4)
                .is_some_and(|m| m.starts_with(&prefix))
        })
}
