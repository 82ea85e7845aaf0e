//! `rlxc config check` and `rlxc start` agree: on a set of configs (every value rlxc
//! refuses, and every distro config LXC ships in /usr/share/lxc/config), what check accepts
//! starts, and what start refuses check reports as an error, with the same reason, pointed at
//! the config line, leaving nothing behind.

mod support;

use std::path::Path;

use support::World;

/// A busybox container of `world` with `extra` appended to its config.
fn container_with(world: &World, base: &str, extra: &str) -> String {
    let name = world.busybox(base);
    world.append_config(&name, extra);
    name
}

/// The two verdicts on one container: config check's and start's (stopped again at once).
struct Verdicts {
    check_ok: bool,
    check_text: String,
    start_ok: bool,
    start_text: String,
}

fn verdicts(world: &World, name: &str) -> Verdicts {
    let check = world.output(&["config", "check", "-n", name]);
    let start = world.output(&["start", "-n", name]);
    let start_ok = start.status.success();
    if start_ok {
        world.rlxc(&["stop", "-n", name, "-k"]).assert().success();
    }
    world.assert_nothing_left(name);
    Verdicts {
        check_ok: check.status.success(),
        check_text: format!(
            "{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        ),
        start_ok,
        start_text: String::from_utf8_lossy(&start.stderr).into_owned(),
    }
}

/// Values start refuses: check must refuse each, naming the line and start's reason.
#[test]
fn what_start_refuses_check_reports_at_its_line() {
    let cases = [
        ("overlay", "lxc.rootfs.path = overlay:/srv/lower:/srv/upper\n", "lxc.rootfs.path = overlay:/srv/lower:/srv/upper: /srv/lower: no such directory (the overlay's lower)"),
        ("loop", "lxc.rootfs.path = loop:/srv/disk.img\n", "lxc.rootfs.path = loop:/srv/disk.img: /srv/disk.img: no such file (the loop image)"),
        ("lvm", "lxc.rootfs.path = lvm:/dev/vg/web\n", "lxc.rootfs.path = lvm:/dev/vg/web: the lvm backing store needs device-mapper, which this host lacks"),
        ("console", "lxc.console.path = /dev/rlxc-no-such-tty\n", "lxc.console.path = /dev/rlxc-no-such-tty: No such file or directory"),
        ("consolefile", "lxc.console.path = /etc/hostname\n", "lxc.console.path = /etc/hostname: not a terminal"),
        ("consolenull", "lxc.console.path = /dev/null\n", "lxc.console.path = /dev/null: not a terminal"),
        ("shmounts", "lxc.mount.auto = shmounts:/run/shm-host\n", "lxc.mount.auto = shmounts:/run/shm-host is not supported yet"),
        ("idmapmnt", "lxc.mount.entry = /tmp tmp none bind,idmap=/proc/1/ns/user 0 0\n", "idmapped mounts (idmap=) are not supported yet"),
        ("vlanid", "lxc.net.0.type = veth\nlxc.net.0.veth.vlan.id = 5\n", "lxc.net.0.veth.vlan.id: refused: rlxc does no bridge VLAN filtering"),
        ("l2proxy", "lxc.net.0.type = veth\nlxc.net.0.l2proxy = 1\n", "l2proxy are not supported"),
        ("gw6auto", "lxc.net.0.type = veth\nlxc.net.0.flags = up\nlxc.net.0.ipv6.address = fd00::2/64\nlxc.net.0.ipv6.gateway = auto\n", "ipv6.gateway = auto is not supported"),
        ("nobridge", "lxc.net.0.type = veth\nlxc.net.0.link = rlxcnobr0\n", "lxc.net.0.link = rlxcnobr0: no such interface on this host"),
        ("inner", "lxc.cgroup.dir.container.inner = a/b\n", "lxc.cgroup.dir.container.inner = a/b: one cgroup name, without `/`, `.` or `..`"),
        ("sharemnt", "lxc.namespace.share.mnt = 1\n", "in another container's it would change that container's filesystem"),
        ("notify", "lxc.seccomp.notify.proxy = unix:/run/proxy.sock\n", "lxc.seccomp.notify.proxy: refused: rlxc has no seccomp notification proxy"),
        ("badinit", "lxc.init.cmd = /bin/sh -c 'unbalanced\n", "unbalanced quotes"),
    ];
    let world = World::new();
    for (base, extra, reason) in cases {
        let name = container_with(&world, base, extra);
        let verdicts = verdicts(&world, &name);
        assert!(!verdicts.start_ok, "{base}: start accepted it");
        assert!(
            verdicts.start_text.contains(reason),
            "{base}: start said {}",
            verdicts.start_text
        );
        assert!(
            !verdicts.check_ok,
            "{base}: check accepted it: {}",
            verdicts.check_text
        );
        assert!(
            verdicts.check_text.contains(reason),
            "{base}: check said {}",
            verdicts.check_text
        );
        // Pointed at the line: the appended lines are the config's last ones.
        let config = world.config(&name);
        assert!(
            verdicts
                .check_text
                .contains(&format!("{}:", config.display())),
            "{base}: check named no line of {}: {}",
            config.display(),
            verdicts.check_text
        );
    }
}

/// Every distro config LXC ships, included as its download template writes it: check's
/// verdict is start's.
#[test]
fn check_and_start_agree_on_every_distro_config() {
    let dir = Path::new("/usr/share/lxc/config");
    let mut configs: Vec<_> = std::fs::read_dir(dir)
        .expect("/usr/share/lxc/config (lxc-templates)")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "conf"))
        .collect();
    configs.sort();
    assert!(
        configs.len() > 30,
        "only {} configs in {}: is lxc-templates installed?",
        configs.len(),
        dir.display()
    );
    let world = World::new();
    let mut started = 0;
    for config in &configs {
        let base = config
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .replace('.', "-");
        let name = container_with(
            &world,
            &base,
            &format!("lxc.include = {}\n", config.display()),
        );
        let verdicts = verdicts(&world, &name);
        assert_eq!(
            verdicts.check_ok,
            verdicts.start_ok,
            "{}: check {} but start {}:\ncheck: {}\nstart: {}",
            config.display(),
            if verdicts.check_ok {
                "accepted it"
            } else {
                "refused it"
            },
            if verdicts.start_ok {
                "succeeded"
            } else {
                "failed"
            },
            verdicts.check_text,
            verdicts.start_text
        );
        started += usize::from(verdicts.start_ok);
    }
    // The common ones must start (a check that refused everything would agree too).
    assert!(
        started * 2 > configs.len(),
        "only {started} of {} started",
        configs.len()
    );
}
