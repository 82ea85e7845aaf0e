//! The man pages of `rlxc man --out DIR` (what the package ships): one per visible verb and
//! the two config pages, each rendering with man and groff without a warning.

mod support;

use std::path::Path;
use std::process::Command;

use support::World;

#[test]
fn every_page_is_there_and_renders_without_warnings() {
    let world = World::new();
    let out = world.dir.path().join("man");
    let output = world.output(&["man", "--out", out.to_str().expect("utf-8 path")]);
    support::assert_ok(&output, "rlxc man");
    let listed = String::from_utf8_lossy(&output.stdout);
    let pages: Vec<&Path> = listed.lines().map(Path::new).collect();

    let help = world.output(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for verb in [
        "start",
        "stop",
        "ls",
        "config",
        "completion",
        "install-service",
    ] {
        assert!(help.contains(&format!("  {verb}")), "{verb} in rlxc --help");
        assert!(
            out.join(format!("man1/rlxc-{verb}.1")).is_file(),
            "rlxc-{verb}.1"
        );
    }
    // The hidden verbs have no page and no line in the help.
    for hidden in ["man", "complete-words"] {
        assert!(!out.join(format!("man1/rlxc-{hidden}.1")).exists());
        assert!(!help.contains(&format!("  {hidden} ")), "{hidden} hidden");
    }
    for page in [
        "man1/rlxc.1",
        "man5/rlxc.container.conf.5",
        "man5/rlxc.conf.5",
    ] {
        assert!(out.join(page).is_file(), "{page}");
    }
    assert!(pages.len() > 30, "{listed}");

    for page in &pages {
        let man = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(page)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .expect("man");
        assert!(man.status.success(), "man -l {}", page.display());
        assert_eq!(
            String::from_utf8_lossy(&man.stderr),
            "",
            "man --warnings -l {}",
            page.display()
        );
        let groff = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(page)
            .output()
            .expect("groff");
        assert_eq!(
            String::from_utf8_lossy(&groff.stderr),
            "",
            "groff -ww {}",
            page.display()
        );
    }

    // The config pages come from the key tables: a key of each kind, rendered.
    let text = |page: &str| {
        let man = Command::new("man")
            .arg("-l")
            .arg(out.join(page))
            .env("MANWIDTH", "80")
            .output()
            .expect("man");
        String::from_utf8_lossy(&man.stdout).into_owned()
    };
    let container = text("man5/rlxc.container.conf.5");
    for key in [
        "lxc.uts.name",
        "lxc.rootfs.path",
        "lxc.cgroup2.*",
        "lxc.net.N.type",
    ] {
        assert!(container.contains(key), "{key} in rlxc.container.conf(5)");
    }
    let system = text("man5/rlxc.conf.5");
    for key in [
        "lxc.lxcpath",
        "lxc.default_config",
        "lxc.bdev.lvm.vg",
        "lxc.cgroup.pattern",
    ] {
        assert!(system.contains(key), "{key} in rlxc.conf(5)");
    }
    let start = text("man1/rlxc-start.1");
    assert!(
        start.contains("--daemon") && start.contains("lxc-start(1)"),
        "{start}"
    );
}
