//! The escape test suite (issue #6): real containers, each test an attempt to get out or to
//! harm the host, asserting the safe outcome from outside or by the attempt's own failure.
//!
//! Every attack runs once per [`Setup`]: (a) the seed's privileged config and (b) a default
//! unprivileged container. A set-up is one variant of [`Setup`] and one line in
//! [`escape_tests!`]. Where the safe outcome differs, a test asserts the stricter one for
//! (b); attacks that only mean something in a user namespace are in `user_namespace.rs`.
//!
//! Attempts are made with `probe` (probe.c), a tiny static C program the suite builds and
//! copies into the rootfs: the raw syscall, so no library fallback hides the kernel's answer.

#[path = "../support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use support::{idmap, World};

/// How the container under attack is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The seed's funtoo0 config as pasted from the wiki (privileged: no user namespace,
    /// root keeps CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_MKNOD; the device list allows the
    /// console 5:1; /proc mounted read-write by a mount entry), on a busybox rootfs.
    SeedPrivileged,
    /// A busybox container as `rlxc create --idmap` makes it: the create template's config
    /// (proc:mixed sys:mixed cgroup:mixed, no network) with `lxc.idmap` of a host range no
    /// other test uses, its rootfs shifted to that range.
    Unprivileged,
}

/// Generates one `#[test]` per (set-up, attack): `escape_tests!(module_load, clock_set)` in
/// a module makes `seed_privileged::module_load`, ... calling `module_load(Setup)`.
macro_rules! escape_tests {
    ($($test:ident),* $(,)?) => {
        escape_tests!(@setup seed_privileged, SeedPrivileged, $($test),*);
        escape_tests!(@setup unprivileged, Unprivileged, $($test),*);
    };
    (@setup $module:ident, $setup:ident, $($test:ident),*) => {
        mod $module {
            $(
                #[test]
                fn $test() {
                    super::$test($crate::Setup::$setup)
                }
            )*
        }
    };
}

// After the macro: a macro is visible only below its definition.
mod cgroupfs;
mod devices;
mod hostile_config;
mod hostile_rootfs;
mod kernel;
mod mounts;
mod process;
mod resources;
mod user_namespace;

/// Where this binary's id ranges start (see `support::idmap::fresh`).
const FIRST_RANGE: u32 = 64;

impl Setup {
    fn tag(self) -> &'static str {
        match self {
            Setup::SeedPrivileged => "p",
            Setup::Unprivileged => "u",
        }
    }

    /// What must differ on a test host, as `start -s` defines: the rootfs, no bridge
    /// (the seed's br0), the console log kept in the test's directory.
    fn defines(self, rootfs: &Path, console_log: &Path) -> Vec<String> {
        let mut defines = vec![
            format!("lxc.rootfs.path={}", rootfs.display()),
            format!("lxc.console.logfile={}", console_log.display()),
        ];
        if self == Setup::SeedPrivileged {
            defines.push("lxc.net.0.type=empty".into());
        }
        defines
    }
}

/// A container of one test, in the test's own [`World`]: stopped and checked when dropped.
pub struct Container {
    pub world: World,
    pub name: String,
    pub rootfs: PathBuf,
    /// The set-up's config file: the seed's, or the one `rlxc create` wrote.
    pub config: PathBuf,
    /// The host uid (and gid) of the container's root: 0, or its range's first id.
    pub host_root: u32,
    setup: Setup,
}

impl Container {
    /// A busybox rootfs with the probe in it, not started yet: the test may change the
    /// rootfs first.
    pub fn prepare(setup: Setup, base: &str) -> Container {
        let world = World::new();
        let label = format!("{base}-root");
        let (owner, config, host_root) = match setup {
            Setup::SeedPrivileged => {
                let seed = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../config/tests/fixtures/funtoo0.conf");
                (world.busybox(&label), seed, 0)
            }
            Setup::Unprivileged => {
                let range = idmap::fresh(FIRST_RANGE);
                let owner = idmap::unprivileged(&world, &label, range);
                let config = world.config(&owner);
                (owner, config, idmap::base(range))
            }
        };
        let rootfs = world.lxcpath().join(&owner).join("rootfs");
        let probe_path = rootfs.join("bin/probe");
        std::fs::copy(probe(), &probe_path).expect("copy the probe");
        std::os::unix::fs::chown(&probe_path, Some(host_root), Some(host_root))
            .expect("chown the probe");
        // Both set-ups of a test run at once in this process, and `assert_nothing_left`
        // looks for cgroups by name: the set-up is in the name, or each would find the
        // other's.
        let name = world.name(&format!("{base}-{}", setup.tag()));
        Container {
            world,
            name,
            rootfs,
            config,
            host_root,
            setup,
        }
    }

    /// `prepare`, then started with the set-up's config plus `defines` (`KEY=VALUE`).
    pub fn start(setup: Setup, base: &str, defines: &[&str]) -> Container {
        let container = Container::prepare(setup, base);
        let out = container.try_start(defines);
        assert!(
            out.status.success(),
            "start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        container
    }

    pub fn try_start(&self, defines: &[&str]) -> Output {
        self.try_start_with(&self.config, defines)
    }

    /// Starts with `config` instead of the set-up's file (its defines still apply).
    pub fn try_start_with(&self, config: &Path, defines: &[&str]) -> Output {
        self.run_verb("start", config, defines, &[])
    }

    /// `rlxc execute` of `/bin/sh -c script` with the set-up's config: rlxc's tiny init as
    /// the container's pid 1.
    pub fn execute(&self, script: &str) -> Output {
        let command = ["--", "/bin/sh", "-c", script];
        self.run_verb("execute", &self.config, &[], &command)
    }

    fn run_verb(&self, verb: &str, config: &Path, defines: &[&str], command: &[&str]) -> Output {
        let log = self.world.dir.path().join(format!("{}.console", self.name));
        let mut args = vec![verb.to_string(), "-n".into(), self.name.clone()];
        args.push("--rcfile".into());
        args.push(config.display().to_string());
        for define in self
            .setup
            .defines(&self.rootfs, &log)
            .iter()
            .map(String::as_str)
            .chain(defines.iter().copied())
        {
            args.push("-s".into());
            args.push(define.to_string());
        }
        args.extend(command.iter().map(|word| word.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.world.output(&args)
    }

    /// `/bin/sh -c script` in the container through attach.
    pub fn sh(&self, script: &str) -> Output {
        self.world
            .output(&["attach", "-n", &self.name, "--", "/bin/sh", "-c", script])
    }

    /// The stdout of `script`, which must succeed.
    pub fn sh_ok(&self, script: &str) -> String {
        let out = self.sh(script);
        assert!(
            out.status.success(),
            "{script}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `probe ARGS` in the container and asserts the attempt failed with `errno`.
    pub fn assert_refused(&self, args: &str, errno: &str) {
        let out = self.sh(&format!("probe {args}"));
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(
            (out.status.code(), answer.as_str()),
            (Some(0), errno),
            "probe {args} ({:?}): {}",
            self.setup,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn init_pid(&self) -> i32 {
        self.world.init_pid(&self.name)
    }

    /// A host path of the container's cgroup of `controller` (v1), from init's /proc.
    /// The container's cgroup in `controller`'s v1 hierarchy, where its limits are.
    pub fn cgroup_dir(&self, controller: &str) -> PathBuf {
        support::cgroup_dir(self.init_pid(), controller)
    }

    /// Stops the container and checks that nothing of it is left.
    pub fn stop(&self) {
        self.world
            .rlxc(&["stop", "-n", &self.name, "-k"])
            .assert()
            .success();
        self.world.assert_nothing_left(&self.name);
    }
}

/// The probe, built once per test binary with `cc -static` (gcc and the static libc come
/// with build-essential, installed by scripts/lib.sh).
pub fn probe() -> &'static Path {
    static PROBE: OnceLock<PathBuf> = OnceLock::new();
    PROBE.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/escape/probe.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("escape-probe");
        let building = out.with_extension(std::process::id().to_string());
        // gcc rather than cc: the UML lane's guest shares /usr but not /etc/alternatives.
        let compiler = std::env::var("CC").unwrap_or_else(|_| "gcc".into());
        let status = std::process::Command::new(&compiler)
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(&building)
            .arg(&source)
            .status()
            .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
        assert!(status.success(), "{compiler} -static probe.c failed");
        std::fs::rename(&building, &out).expect("rename the probe");
        out
    })
}
