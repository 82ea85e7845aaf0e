//! `rlxc create -t debian`: debootstrap once into the image cache (a private one per test,
//! RLXC_CACHE_DIR), a copy per container, configured as LXC's Debian template configures it.

mod support;

use std::fs;
use std::time::Duration;

use support::World;

/// debootstrap of a minbase bookworm takes minutes on a slow mirror.
const DEBOOTSTRAP_LIMIT: Duration = Duration::from_secs(1200);

#[test]
fn a_debian_container_is_debootstrapped_once_and_starts() {
    let world = World::new();
    let cache = world.dir.path().join("cache");
    let mirror = support::guest::debian_mirror();
    let create = |name: &str, release: &str| {
        world
            .rlxc(&[
                "create", "-n", name, "-t", "debian", "--", "-r", release, "--mirror", &mirror,
            ])
            .env("RLXC_CACHE_DIR", &cache)
            .timeout(DEBOOTSTRAP_LIMIT)
            .output()
            .expect("create")
    };
    // The first create runs on a terminal (script's pty): debootstrap's steps show there.
    let name = world.name("deb");
    let on_terminal = std::process::Command::new("script")
        .arg("-qec")
        .arg(format!(
            "{} create -n {name} -t debian -- -r bookworm --mirror {mirror}",
            support::RLXC
        ))
        .arg("/dev/null")
        .env("RLXC_PATH", world.lxcpath())
        .env("RLXC_RUN_DIR", world.run_root())
        .env("RLXC_CACHE_DIR", &cache)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script");
    let seen = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(on_terminal.status.success(), "{seen}");
    assert!(seen.contains("\rdebootstrap: Retrieving "), "{seen:?}");
    assert!(
        seen.contains("\rdebootstrap: Base system installed successfully."),
        "{seen:?}"
    );
    let config = fs::read_to_string(world.config(&name)).expect("config");
    assert!(
        config.contains("lxc.include = /usr/share/lxc/config/debian.common.conf\n"),
        "{config}"
    );
    assert!(
        config.contains(&format!("lxc.uts.name = {name}\n")),
        "{config}"
    );
    let rootfs = world.rootfs(&name);
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/hostname")).expect("hostname"),
        format!("{name}\n")
    );
    assert!(fs::read_to_string(rootfs.join("etc/debian_version"))
        .expect("debian_version")
        .starts_with("12."));

    world.start_with_init_script(
        &name,
        ". /etc/os-release; echo $VERSION_CODENAME > /codename",
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("codename")).expect("codename"),
        "bookworm\n"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();

    // The second create copies the cached tree: a file put there shows up in it.
    let trees: Vec<_> = fs::read_dir(cache.join("debian/bookworm"))
        .expect("cache")
        .flat_map(|arch| fs::read_dir(arch.expect("arch").path()).expect("arch dir"))
        .map(|slot| slot.expect("slot").path())
        .filter(|slot| slot.join("rootfs").is_dir())
        .collect();
    assert_eq!(trees.len(), 1, "{trees:?}");
    fs::write(trees[0].join("rootfs/from-the-cache"), "yes\n").expect("marker");
    let second = world.name("deb");
    support::assert_ok(&create(&second, "bookworm"), "second create");
    assert!(world.rootfs(&second).join("from-the-cache").exists());

    // It boots its own systemd to `running`, no unit failed, networkd and resolved up (they
    // wait for an eth0 this container has none of).
    assert_eq!(
        support::guest::start_until_booted(&world, &second),
        "running"
    );
    assert_eq!(
        support::guest::attach_ok(
            &world,
            &second,
            "systemctl is-active systemd-networkd systemd-resolved"
        ),
        "active\nactive\n"
    );
    world.rlxc(&["stop", "-n", &second]).assert().success();

    // `rlxc images` lists the tree; `rm` with the listed names removes it.
    let images = |args: &[&str]| {
        world
            .rlxc(args)
            .env("RLXC_CACHE_DIR", &cache)
            .output()
            .expect("images")
    };
    let listed = images(&["images", "--json"]);
    support::assert_ok(&listed, "images --json");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    let tree = &listed[0];
    assert_eq!(tree["dist"], "debian");
    assert_eq!(tree["build"], "debootstrap");
    assert!(tree["size"].as_u64().expect("size") > 50_000_000, "{tree}");
    let variant = tree["variant"].as_str().expect("variant").to_string();
    assert!(variant.starts_with("minbase-"), "{variant}");
    let arch = tree["arch"].as_str().expect("arch").to_string();
    support::assert_ok(
        &images(&["images", "rm", "debian", "bookworm", &arch, &variant]),
        "images rm",
    );
    assert!(!trees[0].exists());

    // A release the mirror does not have: debootstrap's words, no container, no cache slot.
    let bad = world.name("deb");
    let failed = create(&bad, "no-such-release");
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.contains("debootstrap no-such-release"), "{error}");
    assert!(!world.config(&bad).exists());
    let slots: Vec<String> = fs::read_dir(cache.join("debian/no-such-release"))
        .into_iter()
        .flatten()
        .flat_map(|arch| fs::read_dir(arch.expect("arch").path()).expect("arch dir"))
        .map(|slot| {
            slot.expect("slot")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|slot| !slot.ends_with(".lock"))
        .collect();
    assert!(slots.is_empty(), "{slots:?}");
}
