//! `rlxc create`, `rlxc ls` and `rlxc destroy` as an admin types them (as root), each in its
//! own temporary lxcpath (`-P`) and run directory (`RLXC_RUN_DIR`).

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use rlxc_runtime::paths::ContainerPaths;
use rlxc_runtime::state::{ProcessId, State, StateFile};
use tempfile::TempDir;

const RLXC: &str = env!("CARGO_BIN_EXE_rlxc");

/// A private lxcpath and run directory.
struct Place {
    root: TempDir,
}

impl Place {
    fn new() -> Place {
        Place {
            root: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn lxcpath(&self) -> PathBuf {
        self.root.path().join("lxc")
    }

    fn run_dir(&self) -> PathBuf {
        self.root.path().join("run")
    }

    /// `rlxc VERB -P LXCPATH ARGS...`: the lxcpath right after the verb, so tests can add
    /// more arguments after.
    fn rlxc(&self, args: &[&str]) -> Command {
        let mut command = Command::new(RLXC);
        command
            .args(&args[..1])
            .arg("-P")
            .arg(self.lxcpath())
            .args(&args[1..])
            .env("RLXC_RUN_DIR", self.run_dir())
            .env_remove("RLXC_PATH");
        command
    }

    fn container(&self, name: &str) -> PathBuf {
        self.lxcpath().join(name)
    }

    /// Everything in the lxcpath, temporary directories included.
    fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.lxcpath())
            .map(|dir| {
                dir.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Writes a state file that says `name` runs with `init` as its init.
    fn pretend_running(&self, name: &str, init: u32) {
        let paths = ContainerPaths::with_run_root(&self.lxcpath(), name, &self.run_dir());
        fs::create_dir_all(paths.run_dir()).expect("run dir");
        let init = ProcessId::of(init as i32).expect("init is alive");
        StateFile {
            name: name.into(),
            lxcpath: self.lxcpath(),
            config: paths.config(),
            state: State::Running,
            monitor: init,
            init,
            cgroups: vec![],
            host_links: vec![],
            phys_links: vec![],
            added: Default::default(),
            netns_pin: None,
            host_netns: None,
            monitor_cgroups: vec![],
            started_at: 0,
            sysinfo_view: false,
            effective: None,
            freezer: None,
            cgroup_leaves: Vec::new(),
        }
        .write(&paths.state_file())
        .expect("write the state file");
    }
}

fn sleeper() -> Child {
    std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("sleep")
}

fn loads(config: &Path) -> rlxc_config::ContainerSpec {
    rlxc_config::load_file(config, &[])
        .unwrap_or_else(|e| panic!("{} does not load: {e}", config.display()))
        .spec
}

// ---------------------------------------------------------------------------------------
// create -t busybox

#[test]
fn busybox_create_makes_a_bootable_rootfs_and_a_config_that_loads() {
    let place = Place::new();
    place
        .rlxc(&["create", "-n", "web", "-t", "busybox"])
        .assert()
        .success();
    let dir = place.container("web");
    let rootfs = dir.join("rootfs");
    assert_eq!(
        fs::read_link(rootfs.join("sbin/init")).expect("init"),
        Path::new("../bin/busybox")
    );
    assert_eq!(
        fs::read_link(rootfs.join("usr/bin/env")).expect("env"),
        Path::new("../../bin/busybox")
    );
    assert!(fs::metadata(rootfs.join("bin/busybox"))
        .expect("busybox")
        .is_file());
    let inittab = fs::read_to_string(rootfs.join("etc/inittab")).expect("inittab");
    assert!(inittab.contains("::sysinit:/etc/init.d/rcS"), "{inittab}");
    assert!(inittab.contains("::shutdown:/etc/init.d/rcK"), "{inittab}");
    assert!(
        inittab.contains("console::respawn:/sbin/getty"),
        "{inittab}"
    );
    let passwd = fs::read_to_string(rootfs.join("etc/passwd")).expect("passwd");
    assert!(passwd.starts_with("root::0:0:"), "{passwd}");
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/hostname")).expect("hostname"),
        "web\n"
    );
    let tmp_mode = fs::metadata(rootfs.join("tmp"))
        .expect("tmp")
        .permissions()
        .mode();
    assert_eq!(tmp_mode & 0o7777, 0o1777);

    let spec = loads(&dir.join("config"));
    assert_eq!(spec.uts_name.as_deref(), Some("web"));
    assert_eq!(spec.rootfs.path, Some(rootfs.display().to_string()));
    assert_eq!(spec.tty.max, Some(1));
    let text = fs::read_to_string(dir.join("config")).expect("config");
    assert!(text.starts_with("# Template used to create this container: rlxc busybox"));
    assert_eq!(place.entries(), ["web"]);
}

#[test]
fn creating_an_existing_name_is_refused_with_exit_1() {
    let place = Place::new();
    place
        .rlxc(&["create", "-n", "web", "-t", "busybox"])
        .assert()
        .success();
    place
        .rlxc(&["create", "-n", "web", "-t", "busybox"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Container already exists"));
    assert_eq!(place.entries(), ["web"]);
}

#[test]
fn create_needs_a_known_template() {
    let place = Place::new();
    place
        .rlxc(&["create", "-n", "web"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("A template must be specified"));
    place
        .rlxc(&["create", "-n", "web", "-t", "ubuntu"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown template"));
    place
        .rlxc(&["create", "-n", "web", "-t", "tarball"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--from FILE"));
    assert!(place.entries().is_empty());
}

#[test]
fn an_initial_config_comes_first_verbatim_and_the_template_only_fills_gaps() {
    let place = Place::new();
    let seed = place.root.path().join("seed.conf");
    let seed_text = "# my defaults\nlxc.uts.name = frontend\nlxc.net.0.type = veth\n\
                     lxc.net.0.link = br0\nlxc.start.auto = 1\n";
    fs::write(&seed, seed_text).expect("seed");
    place
        .rlxc(&["create", "-n", "web", "-t", "busybox", "-f"])
        .arg(&seed)
        .assert()
        .success();
    let config = place.container("web").join("config");
    let text = fs::read_to_string(&config).expect("config");
    assert!(text.contains(seed_text), "{text}");
    assert!(!text.contains("lxc.net.0.type = empty"), "{text}");
    assert!(!text.contains("lxc.uts.name = web"), "{text}");
    let spec = loads(&config);
    assert_eq!(spec.uts_name.as_deref(), Some("frontend"));
    assert!(spec.rootfs.path.is_some());
}

#[test]
fn an_initial_config_that_sets_the_rootfs_conflicts_with_a_template_rootfs() {
    let place = Place::new();
    let seed = place.root.path().join("seed.conf");
    fs::write(&seed, "lxc.rootfs.path = /srv/elsewhere\n").expect("seed");
    place
        .rlxc(&["create", "-n", "web", "-t", "busybox", "-f"])
        .arg(&seed)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("sets lxc.rootfs.path"));
    assert!(place.entries().is_empty());
}

// ---------------------------------------------------------------------------------------
// create -t none

#[test]
fn none_uses_an_existing_rootfs_in_place_and_destroy_leaves_it() {
    let place = Place::new();
    let rootfs = place.root.path().join("my-rootfs");
    fs::create_dir_all(rootfs.join("etc")).expect("rootfs");
    fs::write(rootfs.join("etc/keep"), "mine").expect("file");
    place
        .rlxc(&["create", "-n", "web", "-t", "none", "--rootfs"])
        .arg(&rootfs)
        .assert()
        .success();
    let dir = place.container("web");
    assert!(!dir.join("rootfs").exists(), "nothing is copied");
    let spec = loads(&dir.join("config"));
    assert_eq!(spec.rootfs.path, Some(rootfs.display().to_string()));
    assert_eq!(spec.rootfs.managed, Some(false));

    place
        .rlxc(&["destroy", "-n", "web"])
        .assert()
        .success()
        .stdout("Destroyed container web\n");
    assert!(!dir.exists());
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/keep")).expect("kept"),
        "mine"
    );
}

#[test]
fn none_refuses_a_missing_rootfs() {
    let place = Place::new();
    place
        .rlxc(&[
            "create",
            "-n",
            "web",
            "-t",
            "none",
            "--rootfs",
            "/nonexistent/rootfs",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("does not exist"));
    place
        .rlxc(&["create", "-n", "web", "-t", "none"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--rootfs DIR"));
    assert!(place.entries().is_empty());
}

#[path = "create_destroy_ls/destroy.rs"]
mod destroy;
#[path = "create_destroy_ls/ls.rs"]
mod ls;
#[path = "create_destroy_ls/tarball.rs"]
mod tarball;
