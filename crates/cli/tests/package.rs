//! The Debian package: scripts/package.sh packs the binary under test, dpkg installs it into
//! a fresh Debian 12 root (the guests' debootstrap, a private overlay of it), where the
//! installed binary runs the demo's steps (a busybox container created, started, attached
//! to, listed, stopped and destroyed, from inside the chroot), and a purge leaves no file of
//! the package behind.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::guest::Guest;
use support::{assert_ok, World, RLXC};

/// Builds the package from the binary under test into `dir` (gzip: xz costs seconds here).
fn build_package(dir: &Path) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/package.sh");
    let output = Command::new(script)
        .env("RLXC_BINARY", RLXC)
        .env("RLXC_DEB_DIR", dir)
        .env("RLXC_DEB_COMPRESSION", "gzip")
        .output()
        .expect("scripts/package.sh");
    assert_ok(&output, "scripts/package.sh");
    let debs: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("the package directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "{debs:?}");
    let name = debs[0].file_name().expect("name").to_string_lossy();
    let version = env!("CARGO_PKG_VERSION");
    assert!(name.starts_with(&format!("rlxc_{version}_")), "{name}");
    debs[0].clone()
}

/// The files (and links) the package holds, as paths below /.
fn package_files(deb: &Path) -> Vec<String> {
    let output = Command::new("sh")
        .arg("-c")
        .arg("dpkg-deb --fsys-tarfile \"$1\" | tar -t")
        .arg("sh")
        .arg(deb)
        .output()
        .expect("dpkg-deb");
    assert_ok(&output, "listing the package");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.ends_with('/'))
        .map(|line| line.trim_start_matches("./").to_owned())
        .collect()
}

fn field(deb: &Path, name: &str) -> String {
    let output = Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(name)
        .output()
        .expect("dpkg-deb -f");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Installs, runs and purges in a private mount and network namespace (the chroot's
/// /proc, /sys, /dev and /run go with it, pass or fail; apt cannot reach a network and needs
/// none), as a script so that its trap stops the container whatever fails.
const IN_CHROOT: &str = r#"
set -eu
root=$1 deb=$2 name=$3
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
in_root() { chroot "$root" "$@"; }
cleanup() {
    in_root rlxc stop -k -n "$name" -P /tmp/demo >/dev/null 2>&1 || true
    in_root rlxc destroy -n "$name" -P /tmp/demo >/dev/null 2>&1 || true
}
trap cleanup EXIT
cp "$deb" "$root/tmp/rlxc.deb"
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    ./tmp/rlxc.deb >/dev/null
in_root dpkg-query -W -f='installed ${Status}\n' rlxc
in_root rlxc --version
in_root /usr/lib/rlxc/bin/lxc-config lxc.lxcpath
in_root rlxc config lxc.default_config
grep -q 'ExecStart=/usr/bin/rlxc autostart' "$root/lib/systemd/system/rlxc.service"
echo units name /usr/bin/rlxc
# The demo's steps with the installed binary. Its busybox template copies the host's static
# busybox (the package Recommends busybox-static; this root has no network to fetch it).
# The package's default.conf puts new containers on the bridge rlxcbr0, which only a
# running rlxc-net makes: the demo container is made with its own config instead (-f), a
# loopback-only network, as scripts/demo.sh's scratch lxcpath has no default config either.
cp /bin/busybox "$root/bin/busybox"
printf 'lxc.net.0.type = empty\n' >"$root/tmp/demo.conf"
demo() { local verb=$1; shift; in_root rlxc "$verb" -n "$name" -P /tmp/demo "$@"; }
in_root rlxc checkconfig >/dev/null
demo create -t busybox -f /tmp/demo.conf
demo start -d
demo info -s
demo attach -- /bin/sh -c 'echo "hello from $(hostname)"'
in_root rlxc ls -f -P /tmp/demo
demo stop -t 10
demo info -s
demo destroy
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q rlxc >/dev/null
in_root dpkg-query -W -f='after purge ${Status}\n' rlxc 2>&1 || true
"#;

#[test]
fn package_installs_into_debian_runs_the_demo_and_purges_cleanly() {
    let world = World::new();
    let deb = build_package(world.dir.path());
    let files = package_files(&deb);
    for expected in [
        "usr/bin/rlxc",
        "usr/lib/rlxc/bin/lxc-start",
        "usr/lib/rlxc/bin/lxc-config",
        "usr/share/bash-completion/completions/rlxc",
        "usr/share/zsh/vendor-completions/_rlxc",
        "usr/share/fish/vendor_completions.d/rlxc.fish",
        "usr/share/fish/vendor_completions.d/lxc-start.fish",
        "usr/share/man/man1/rlxc.1.gz",
        "usr/share/man/man1/rlxc-start.1.gz",
        "usr/share/man/man5/rlxc.container.conf.5.gz",
        "usr/share/man/man5/rlxc.conf.5.gz",
        "lib/systemd/system/rlxc.service",
        "lib/systemd/system/rlxc@.service",
        "lib/systemd/system/rlxc-net.service",
        "etc/init.d/rlxc",
        "etc/init.d/rlxc-net",
        "etc/conf.d/rlxc",
        "etc/rlxc/rlxc.conf",
        "etc/rlxc/default.conf",
        "etc/default/rlxc-net",
    ] {
        assert!(
            files.iter().any(|file| file == expected),
            "{expected} in {files:?}"
        );
    }
    // Nothing where Debian's lxc package has its files (installed alongside it).
    let lxc = Command::new("dpkg")
        .args(["-L", "lxc"])
        .output()
        .expect("dpkg -L");
    let lxc_files = String::from_utf8_lossy(&lxc.stdout);
    for file in &files {
        let absolute = format!("/{file}");
        assert!(
            !lxc_files.lines().any(|l| l == absolute),
            "{absolute} is lxc's"
        );
    }
    assert_eq!(field(&deb, "Depends"), "", "a static binary needs nothing");

    let guest = Guest::Systemd.overlay();
    let root = guest.rootfs();
    let name = world.name("pkgdemo");
    let output = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--propagation",
            "private",
            "sh",
            "-c",
            IN_CHROOT,
            "sh",
        ])
        .arg(&root)
        .arg(&deb)
        .arg(&name)
        .output()
        .expect("unshare");
    assert_ok(&output, "install, demo and purge in the chroot");
    let out = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "installed install ok installed".to_owned(),
        format!("rlxc {}", env!("CARGO_PKG_VERSION")),
        // lxc-* looks where LXC does; rlxc's system config is the package's.
        "/var/lib/lxc".to_owned(),
        "/etc/rlxc/default.conf".to_owned(),
        "units name /usr/bin/rlxc".to_owned(),
        format!("hello from {name}"),
        "RUNNING".to_owned(),
        "STOPPED".to_owned(),
    ] {
        assert!(out.contains(&expected), "{expected:?} in:\n{out}");
    }
    assert!(!out.contains("after purge install ok"), "{out}");
    let left: Vec<&String> = files
        .iter()
        .filter(|file| root.join(file).symlink_metadata().is_ok())
        .collect();
    assert!(left.is_empty(), "left after purge: {left:?}");
    for dir in ["etc/rlxc", "usr/lib/rlxc", "usr/share/doc/rlxc"] {
        assert!(!root.join(dir).exists(), "{dir} left after purge");
    }
}
