//! The system config (LXC's `lxc.system.conf(5)`): `rlxc config -l` / `rlxc config KEY` and
//! their LXC name `lxc-config`, the lxcpath it gives, and the default config `create` copies
//! into new containers. Every test names its own system config through `RLXC_CONF`, so the
//! host's `/etc/rlxc` is never read or written.

mod support;

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use support::{TestNetns, World, RLXC};

/// The keys in the order LXC 5's `lxc-config -l` prints them.
const KEYS: &str = "lxc.default_config\nlxc.lxcpath\nlxc.bdev.lvm.vg\nlxc.bdev.lvm.thin_pool\n\
                    lxc.bdev.zfs.root\nlxc.cgroup.use\nlxc.cgroup.pattern\n";

/// A link named `lxc-config` to the binary, in `dir`.
fn lxc_config_link(dir: &Path) -> PathBuf {
    let link = dir.join("lxc-config");
    std::os::unix::fs::symlink(RLXC, &link).expect("link lxc-config");
    link
}

/// `world`'s system config: the lxcpath is the world's, the default config `default_config`.
fn system_config(world: &World, default_config: &Path, extra: &str) -> PathBuf {
    let path = world.dir.path().join("rlxc.conf");
    std::fs::write(
        &path,
        format!(
            "# the test's system config\nlxc.lxcpath = {}\n\nlxc.default_config = {}\n{extra}",
            world.lxcpath().display(),
            default_config.display()
        ),
    )
    .expect("write rlxc.conf");
    path
}

/// `rlxc ARGS` of `world` with no lxcpath given (neither -P nor RLXC_PATH): the system
/// config `conf` says where the containers are.
fn rlxc_by_system_config(world: &World, conf: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut command = world.rlxc(args);
    command.env_remove("RLXC_PATH").env("RLXC_CONF", conf);
    command
}

fn stdout_of(command: &mut assert_cmd::Command) -> String {
    let output = command.output().expect("run");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `lxc.net.0.hwaddr` value of a config.
fn hwaddr_in(config: &str) -> String {
    config
        .lines()
        .find_map(|line| line.strip_prefix("lxc.net.0.hwaddr = "))
        .unwrap_or_else(|| panic!("no hwaddr in:\n{config}"))
        .trim()
        .to_string()
}

#[test]
fn config_l_and_key_answer_as_lxcs_lxc_config_on_this_host() {
    // LXC (scripts/lib.sh installs it) reads /etc/lxc/lxc.conf; so does rlxc called as
    // lxc-config. Their answers must be the same, key by key, unknown keys too.
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = lxc_config_link(dir.path());
    let run = |program: &Path, args: &[&str]| {
        let output = std::process::Command::new(program)
            .args(args)
            .env_remove("RLXC_CONF")
            .output()
            .unwrap_or_else(|e| panic!("run {} (apt-get install lxc): {e}", program.display()));
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let lxcs = Path::new("lxc-config");
    let (code, listed) = run(lxcs, &["-l"]);
    assert_eq!(
        (code, listed.as_str()),
        (Some(0), KEYS),
        "LXC's own lxc-config -l"
    );
    assert_eq!(run(&ours, &["-l"]), (Some(0), KEYS.to_string()));
    for key in KEYS.lines().chain(["lxc.no_such_key", "lxc.net.0.type"]) {
        assert_eq!(run(&ours, &[key]), run(lxcs, &[key]), "lxc-config {key}");
    }
    // rlxc's own name lists the same keys.
    assert_cmd::Command::new(RLXC)
        .args(["config", "-l"])
        .env_remove("RLXC_CONF")
        .assert()
        .success()
        .stdout(KEYS);
}

#[test]
fn config_key_prints_what_the_system_config_sets_under_either_name() {
    let world = World::new();
    let default = world.dir.path().join("default.conf");
    let conf = system_config(&world, &default, "lxc.cgroup.pattern = lxc/%n  # LXC's\n");
    let link = lxc_config_link(world.dir.path());
    let lxcpath = format!("{}\n", world.lxcpath().display());
    for program in [Path::new(RLXC), link.as_path()] {
        let config = |args: &[&str]| {
            let mut command = assert_cmd::Command::new(program);
            if program == Path::new(RLXC) {
                command.arg("config");
            }
            command.args(args).env("RLXC_CONF", &conf).assert()
        };
        config(&["lxc.lxcpath"]).success().stdout(lxcpath.clone());
        config(&["lxc.default_config"])
            .success()
            .stdout(format!("{}\n", default.display()));
        config(&["lxc.cgroup.pattern"]).success().stdout("lxc/%n\n");
        config(&["lxc.cgroup.use"])
            .success()
            .stdout("lxc.cgroup.use is not set.\n");
        config(&["lxc.bdev.lvm.vg"]).success().stdout("lxc\n");
        config(&["lxc.lxcpth"])
            .code(1)
            .stdout("Unknown configuration item: lxc.lxcpth\n");
        config(&["-l"]).success().stdout(KEYS);
    }
    // Unset, rlxc's own defaults (LXC's are checked against LXC above).
    let empty = world.dir.path().join("empty.conf");
    std::fs::write(&empty, "").expect("write");
    assert_cmd::Command::new(RLXC)
        .args(["config", "lxc.lxcpath"])
        .env("RLXC_CONF", &empty)
        .assert()
        .success()
        .stdout("/var/lib/rlxc\n");
    assert_cmd::Command::new(RLXC)
        .args(["config", "lxc.default_config"])
        .env("RLXC_CONF", &empty)
        .assert()
        .success()
        .stdout("/etc/rlxc/default.conf\n");
}

/// Created with no lxcpath given, a container lands in the system config's lxcpath with the
/// default config's lines and a MAC filled in at create; started, its NIC is on the default
/// config's bridge with that very MAC, the same at the next start.
#[test]
fn create_uses_the_system_lxcpath_and_default_config_and_the_mac_stays() {
    let netns = TestNetns::new();
    netns.bridge("sysbr0", "10.19.0.1/24");
    let world = World::in_netns(&netns);
    let default = world.dir.path().join("default.conf");
    std::fs::write(
        &default,
        "# the test's default config\nlxc.net.0.type = veth\nlxc.net.0.link = sysbr0\n\
         lxc.net.0.flags = up\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\n",
    )
    .expect("write default.conf");
    let conf = system_config(&world, &default, "");
    let name = world.name("sysconf");
    rlxc_by_system_config(&world, &conf, &["create", "-n", &name, "-t", "busybox"])
        .assert()
        .success();

    let config = std::fs::read_to_string(world.lxcpath().join(&name).join("config"))
        .expect("the container is in the system config's lxcpath");
    assert!(
        config.contains(&format!(
            "# Default config (lxc.default_config): {}",
            default.display()
        )),
        "{config}"
    );
    assert!(
        config.contains("lxc.net.0.type = veth\nlxc.net.0.link = sysbr0\nlxc.net.0.flags = up\n"),
        "{config}"
    );
    assert!(!config.contains("lxc.net.0.type = empty"), "{config}");
    let mac = hwaddr_in(&config);
    assert!(mac.starts_with("00:16:3e:") && !mac.contains('x'), "{mac}");
    assert!(mac.parse::<rlxc_config::values::MacAddr>().is_ok(), "{mac}");
    rlxc_by_system_config(&world, &conf, &["ls", "-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(name.as_str()));

    for _ in 0..2 {
        rlxc_by_system_config(&world, &conf, &["start", "-n", &name])
            .assert()
            .success();
        let inside = stdout_of(&mut rlxc_by_system_config(
            &world,
            &conf,
            &[
                "attach",
                "-n",
                &name,
                "--",
                "cat",
                "/sys/class/net/eth0/address",
            ],
        ));
        assert_eq!(inside.trim(), mac, "the MAC inside is the config's");
        // The host end is a port of the default config's bridge.
        let ports = netns.ip(&["-o", "link", "show", "master", "sysbr0"]);
        assert_eq!(ports.lines().count(), 1, "{ports}");
        rlxc_by_system_config(&world, &conf, &["stop", "-n", &name, "-k"])
            .assert()
            .success();
    }
}

#[test]
fn an_initial_config_replaces_the_default_config_and_a_missing_one_is_no_error() {
    let world = World::new();
    let default = world.dir.path().join("default.conf");
    std::fs::write(
        &default,
        "lxc.net.0.type = veth\nlxc.net.0.link = nosuchbr0\n",
    )
    .expect("write default.conf");
    let conf = system_config(&world, &default, "");
    let seed = world.dir.path().join("seed.conf");
    std::fs::write(&seed, "lxc.environment = FROM_SEED=1\n").expect("write seed");

    let with_seed = world.name("seeded");
    rlxc_by_system_config(
        &world,
        &conf,
        &["create", "-n", &with_seed, "-t", "busybox", "-f"],
    )
    .arg(&seed)
    .assert()
    .success();
    let config =
        std::fs::read_to_string(world.lxcpath().join(&with_seed).join("config")).expect("config");
    assert!(config.contains("lxc.environment = FROM_SEED=1"), "{config}");
    assert!(!config.contains("nosuchbr0"), "{config}");
    assert!(!config.contains("Default config"), "{config}");
    assert!(config.contains("lxc.net.0.type = empty"), "{config}");

    // -P names another lxcpath: the container goes there, not to the system config's.
    let elsewhere = world.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).expect("mkdir");
    let flagged = world.name("flagged");
    rlxc_by_system_config(
        &world,
        &conf,
        &["create", "-n", &flagged, "-t", "busybox", "-P"],
    )
    .arg(&elsewhere)
    .assert()
    .success();
    assert!(elsewhere.join(&flagged).join("config").is_file());
    assert!(!world.lxcpath().join(&flagged).exists());
    // The default config applies under -P too, and its bridge is missing: create works, start
    // says which line names what.
    let config = std::fs::read_to_string(elsewhere.join(&flagged).join("config")).expect("config");
    assert!(config.contains("lxc.net.0.link = nosuchbr0"), "{config}");
    rlxc_by_system_config(&world, &conf, &["start", "-n", &flagged, "-P"])
        .arg(&elsewhere)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("lxc.net.0.link = nosuchbr0"))
        .stderr(predicate::str::contains("no such interface"));

    // No default config at the place named: the template's keys alone, no error.
    std::fs::remove_file(&default).expect("remove default.conf");
    let plain = world.name("plain");
    rlxc_by_system_config(&world, &conf, &["create", "-n", &plain, "-t", "busybox"])
        .assert()
        .success();
    let config =
        std::fs::read_to_string(world.lxcpath().join(&plain).join("config")).expect("config");
    assert!(config.contains("lxc.net.0.type = empty"), "{config}");
    assert!(!config.contains("Default config"), "{config}");
}

#[test]
fn a_bad_system_config_line_is_an_error_naming_it_and_nothing_is_created() {
    let world = World::new();
    let default = world.dir.path().join("default.conf");
    let conf = system_config(&world, &default, "lxc.bdev.lvm.vgname = vg0\n");
    std::fs::create_dir_all(world.lxcpath()).expect("mkdir lxcpath");
    let name = world.name("badsys");
    let expected = format!(
        "system config {}:5: \"lxc.bdev.lvm.vgname\": not a system config key",
        conf.display()
    );
    rlxc_by_system_config(&world, &conf, &["create", "-n", &name, "-t", "busybox"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(expected.as_str()));
    assert_eq!(
        std::fs::read_dir(world.lxcpath()).expect("lxcpath").count(),
        0,
        "create made something"
    );
    // lxc-config and ls report it too; a line without `=` as well.
    assert_cmd::Command::new(RLXC)
        .args(["config", "lxc.lxcpath"])
        .env("RLXC_CONF", &conf)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(expected.as_str()));
    std::fs::write(&conf, "lxc.lxcpath /srv\n").expect("write");
    rlxc_by_system_config(&world, &conf, &["ls"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "system config {}:1: expected `lxc.KEY = VALUE`",
            conf.display()
        )));
}
