//! The boot integration: the OpenRC script (its functions under `sh`, and for real under
//! Debian's `openrc-run` where that can run without touching the host), the systemd units
//! (`systemd-analyze verify`), and `rlxc install-service`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::prelude::*;
use support::{World, RLXC};

const OPENRC_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contrib/openrc/rlxc");

/// OpenRC's helpers as stubs that print what they are given: the script's functions run
/// under a plain `sh`, with rlxc for real.
const STUBS: &str = r#"
ebegin() { echo "ebegin $*"; }
eend() { echo "eend $1"; return "$1"; }
einfo() { echo "einfo $*"; }
eerror() { echo "eerror $*"; }
ewarn() { echo "ewarn $*"; }
need() { echo "need $*"; }
use() { echo "use $*"; }
after() { echo "after $*"; }
_status() { echo "_status"; return 0; }
"#;

/// Runs `body` in `sh` after sourcing the script as service `svc`, as openrc-run would.
fn in_script(world: &World, svc: &str, body: &str) -> (i32, String) {
    let script = format!(
        "{STUBS}\nRC_SVCNAME={svc}\nRLXC={RLXC}\nRLXC_STOP_TIMEOUT=10\nRLXC_PATH={}\nRLXC_RUN_DIR={}\n. {OPENRC_SCRIPT}\n{body}",
        world.lxcpath().display(),
        world.run_root().display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .env_remove("RLXC_PATH")
        .env_remove("RLXC_RUN_DIR")
        .output()
        .expect("sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn openrc_script_functions_under_sh() {
    let world = World::new();
    let name = world.busybox("orc");
    let svc = format!("rlxc.{name}");

    let (code, text) = in_script(&world, &svc, "depend");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("need net"), "{text}");

    let (code, text) = in_script(&world, &svc, "start");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("ebegin Starting {name}")), "{text}");
    assert_eq!(world.state(&name), "RUNNING");
    let (code, text) = in_script(&world, &svc, "status");
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("status: started"), "{text}");

    let (code, text) = in_script(&world, &svc, "stop");
    assert_eq!(code, 0, "{text}");
    assert_eq!(world.state(&name), "STOPPED");
    let (code, text) = in_script(&world, &svc, "status");
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("status: stopped"), "{text}");
    // A stop of a stopped container is no failure for the service.
    let (code, text) = in_script(&world, &svc, "stop");
    assert_eq!(code, 0, "{text}");
    world.assert_nothing_left(&name);
}

#[test]
fn openrc_plain_service_runs_autostart_and_the_reverse() {
    let world = World::new();
    let onboot = world.busybox("onboot");
    world.append_config(&onboot, "lxc.start.auto = 1\nlxc.group = onboot\n");
    let manual = world.busybox("manual");

    let (code, text) = in_script(&world, "rlxc", "start");
    assert_eq!(code, 0, "{text}");
    assert_eq!(world.state(&onboot), "RUNNING");
    assert_eq!(world.state(&manual), "STOPPED");
    // At shutdown every container goes, autostart or not.
    world.rlxc(&["start", "-n", &manual]).assert().success();
    let (code, text) = in_script(&world, "rlxc", "stop");
    assert_eq!(code, 0, "{text}");
    assert_eq!(world.state(&onboot), "STOPPED");
    assert_eq!(world.state(&manual), "STOPPED");
    world.assert_nothing_left(&onboot);
    world.assert_nothing_left(&manual);
}

#[test]
fn systemd_units_verify() {
    let root = tempfile::tempdir().expect("tempdir");
    Command::new(RLXC)
        .args(["install-service", "--systemd", "--root"])
        .arg(root.path())
        .status()
        .expect("install-service");
    let dir = root.path().join("etc/systemd/system");
    let service = std::fs::read_to_string(dir.join("rlxc.service")).expect("rlxc.service");
    let template = std::fs::read_to_string(dir.join("rlxc@.service")).expect("rlxc@.service");
    let net = std::fs::read_to_string(dir.join("rlxc-net.service")).expect("rlxc-net.service");
    assert!(
        net.contains(" net start\n") && net.contains(" net stop\n"),
        "{net}"
    );
    assert!(
        service.contains("After=") && service.contains("rlxc-net.service"),
        "{service}"
    );
    assert!(service.contains("autostart -g onboot,"), "{service}");
    assert!(service.contains("autostart -a -A -s"), "{service}");
    assert!(template.contains("Delegate=yes"), "{template}");
    assert!(service.contains("Delegate=yes"), "{service}");
    // install-service put this binary's path in place of the shipped one.
    let binary = std::fs::canonicalize(RLXC).expect("binary");
    assert!(service.contains(&format!("ExecStart={} ", binary.display())));

    // systemd is in scripts/lib.sh's packages: missing, this fails rather than skips.
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(dir.join("rlxc.service"))
        .arg(dir.join("rlxc@web.service"))
        .arg(dir.join("rlxc-net.service"))
        .output()
        .expect("run systemd-analyze (apt-get install systemd)");
    // verify resolves rlxc@web.service from the template next to it.
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("systemd-analyze verify: {:?}\n{text}", out.status);
    let ours: Vec<&str> = text.lines().filter(|l| l.contains("rlxc")).collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify complains: {text}"
    );
}

#[test]
fn install_service_places_the_files_and_refuses_foreign_ones() {
    let root = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::new(RLXC);
        cmd.arg("install-service")
            .args(args)
            .arg("--root")
            .arg(root.path());
        cmd
    };
    let init_d = root.path().join("etc/init.d/rlxc");
    run(&["--openrc", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "would install: {}",
            init_d.display()
        )))
        .stdout(predicate::str::contains("rc-update add rlxc default"));
    assert!(!init_d.exists(), "--dry-run wrote {}", init_d.display());

    run(&["--openrc"]).assert().success();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&init_d).expect("installed").permissions(),
    );
    assert_eq!(mode & 0o777, 0o755);
    assert!(root.path().join("etc/conf.d/rlxc").is_file());
    // The system config comes along: the default config puts new containers on rlxcbr0.
    let default_conf = root.path().join("etc/rlxc/default.conf");
    let shipped = std::fs::read_to_string(&default_conf).expect("default.conf installed");
    assert!(shipped.contains("lxc.net.0.link = rlxcbr0"), "{shipped}");
    assert!(root.path().join("etc/rlxc/rlxc.conf").is_file());
    // And the network service with its settings (LXC's lxc-net names).
    assert!(root.path().join("etc/init.d/rlxc-net").is_file());
    let net_settings = std::fs::read_to_string(root.path().join("etc/default/rlxc-net"))
        .expect("rlxc-net settings installed");
    assert!(
        net_settings.contains("LXC_BRIDGE=\"rlxcbr0\""),
        "{net_settings}"
    );
    run(&["--openrc"])
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged"));

    // Someone else's script is not replaced without --force, and nothing else is written.
    std::fs::write(&init_d, "#!/sbin/openrc-run\n# not ours\n").expect("write");
    std::fs::write(root.path().join("etc/conf.d/rlxc"), "RLXC_STOP_TIMEOUT=5\n").expect("write");
    run(&["--openrc"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    run(&["--openrc", "--force"]).assert().success();
    let text = std::fs::read_to_string(&init_d).expect("read");
    assert!(text.contains("rlxc autostart") || text.contains("autostart -g"));
    // The admin's settings stay, their default config too.
    assert_eq!(
        std::fs::read_to_string(root.path().join("etc/conf.d/rlxc")).expect("read"),
        "RLXC_STOP_TIMEOUT=5\n"
    );
    std::fs::write(&default_conf, "lxc.net.0.type = empty\n").expect("write");
    run(&["--openrc"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "kept (your settings): {}",
            default_conf.display()
        )));
    assert_eq!(
        std::fs::read_to_string(&default_conf).expect("read"),
        "lxc.net.0.type = empty\n"
    );
}

#[test]
fn openrc_run_for_real_in_a_private_mount_namespace() {
    let openrc = openrc_tree();
    let world = World::new();
    let name = world.busybox("rcrun");
    let auto = world.busybox("rcauto");
    world.append_config(&auto, "lxc.start.auto = 1\n");
    let script = world.dir.path().join("openrc-run.sh");
    std::fs::write(&script, include_str!("support/openrc_namespace.sh")).expect("script");
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh"])
        .arg(&script)
        .arg(&openrc)
        .arg(world.dir.path().join("stage"))
        .arg(OPENRC_SCRIPT)
        .arg(RLXC)
        .arg(world.lxcpath())
        .arg(world.run_root())
        .arg(&name)
        .arg(&auto)
        .env_remove("RLXC_PATH")
        .output()
        .expect("unshare");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    // Overlays and tmpfs in a private mount namespace: any root on Linux has them.
    assert!(
        !text.contains("CANNOT-RUN"),
        "openrc-run could not be set up: {text}"
    );
    assert!(out.status.success(), "{text}");
    for expected in [
        "net (stub) started".to_string(),
        format!("{name} start rc=0"),
        format!("{name} state RUNNING"),
        format!("{name} status rc=0"),
        format!("{name} stop rc=0"),
        format!("{name} state STOPPED"),
        format!("{name} status rc=3"),
        format!("rc-update added rlxc.{name}"),
        "rlxc start rc=0".to_string(),
        format!("{auto} state RUNNING"),
        "rlxc stop rc=0".to_string(),
        format!("{auto} state STOPPED"),
    ] {
        assert!(text.contains(&expected), "missing {expected:?} in:\n{text}");
    }
    world.assert_nothing_left(&name);
    world.assert_nothing_left(&auto);
}

/// Debian's openrc, unpacked (not installed: its postinst adds every sysv service to OpenRC's
/// runlevels, which is no test's business on a shared host). `RLXC_OPENRC_ROOT` names an
/// unpacked tree; else the packages are fetched with `apt-get download` once. CI runs on
/// Debian with its archive at hand (scripts/lib.sh installs from it): a failed download is a
/// failure of the test, never a skip.
fn openrc_tree() -> PathBuf {
    if let Some(root) = std::env::var_os("RLXC_OPENRC_ROOT") {
        let root = PathBuf::from(root);
        assert!(
            root.join("sbin/openrc-run").exists(),
            "RLXC_OPENRC_ROOT={} has no sbin/openrc-run",
            root.display()
        );
        return root;
    }
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openrc");
    let root = cache.join("root");
    if root.join("sbin/openrc-run").exists() {
        return root;
    }
    std::fs::create_dir_all(&cache).expect("openrc cache directory");
    let out = Command::new("apt-get")
        .args(["download", "-q", "openrc", "librc1", "libeinfo1"])
        .current_dir(&cache)
        .output()
        .expect("run apt-get (the OpenRC test needs Debian's openrc)");
    assert!(
        out.status.success(),
        "apt-get download openrc librc1 libeinfo1 failed (set RLXC_OPENRC_ROOT to an unpacked \
         tree where there is no Debian archive): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for deb in std::fs::read_dir(&cache)
        .expect("openrc cache")
        .filter_map(Result::ok)
    {
        if deb.path().extension().is_some_and(|e| e == "deb") {
            let status = Command::new("dpkg-deb")
                .arg("-x")
                .arg(deb.path())
                .arg(&root)
                .status()
                .expect("run dpkg-deb");
            assert!(status.success(), "dpkg-deb -x {}", deb.path().display());
        }
    }
    assert!(
        root.join("sbin/openrc-run").exists(),
        "no sbin/openrc-run in the unpacked openrc"
    );
    root
}
