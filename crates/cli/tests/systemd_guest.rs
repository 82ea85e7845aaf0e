//! A real Debian 12 guest booting systemd (debootstrapped once per machine, see
//! support/guest.rs), configured as LXC's download template configures it: it boots to
//! `running` with no failed unit, owns the cgroup tree it sees while the host's limits hold,
//! and is rebooted, powered off and stopped, from inside and from the host, as under LXC.

mod support;

use std::time::{Duration, Instant};

use support::guest::{
    attach, attach_ok, cgroup_of, pure_cgroup2, wait_for_state, wait_until_booted, Guest, Overlay,
    BOOT_LIMIT,
};
use support::{assert_ok, World};

/// The host ids of the unprivileged guest's root (ids 0..65536 mapped from here): a range
/// of this test binary's own (see support::idmap).
const UNPRIVILEGED_BASE: u32 = 200_000 + 700 * 65_536;

/// The config LXC's download template writes for a Debian guest, with a memory limit set
/// from the host.
fn systemd_guest(world: &World, base: &str) -> (String, Overlay) {
    configured_guest(world, base, Guest::Systemd.overlay(), "")
}

/// The same, unprivileged, as LXC's download template writes it for a user namespace.
fn unprivileged_systemd_guest(world: &World, base: &str) -> (String, Overlay) {
    let map = UNPRIVILEGED_BASE;
    let extra = format!(
        "lxc.include = /usr/share/lxc/config/debian.userns.conf\n\
         lxc.idmap = u 0 {map} 65536\nlxc.idmap = g 0 {map} 65536\n"
    );
    configured_guest(world, base, Guest::Systemd.shifted_overlay(map), &extra)
}

fn configured_guest(world: &World, base: &str, guest: Overlay, extra: &str) -> (String, Overlay) {
    let extra = format!("lxc.cgroup.memory.limit_in_bytes = 512M\n{extra}");
    let name = guest.container(world, base, &extra);
    (name, guest)
}

/// A unit of the admin's own, installed before boot: started on demand, its cgroup made by
/// systemd in the container's tree.
const PROBE_UNIT: &str = "[Unit]\nDescription=rlxc probe\n\n[Service]\nType=oneshot\n\
    RemainAfterExit=yes\nExecStart=/bin/sh -c 'cat /proc/self/cgroup > /run/rlxc-probe'\n";

#[test]
fn a_systemd_guest_boots_with_no_failed_unit_and_owns_its_cgroups_under_the_hosts_limits() {
    let world = World::new();
    let (name, guest) = systemd_guest(&world, "sd-boot");
    let unit = guest.rootfs().join("etc/systemd/system/rlxc-probe.service");
    std::fs::write(unit, PROBE_UNIT).expect("probe unit");
    assert_ok(&world.output(&["start", "-n", &name, "-d"]), "start");

    assert_eq!(wait_until_booted(&world, &name), "running");
    let failed = attach_ok(&world, &name, "systemctl --failed --plain --no-legend");
    assert_eq!(failed.trim(), "", "failed units");
    let probe = attach_ok(
        &world,
        &name,
        "systemctl start rlxc-probe && systemctl is-active rlxc-probe && cat /run/rlxc-probe",
    );
    assert!(probe.starts_with("active\n"), "{probe}");
    assert!(
        probe.contains("/system.slice/rlxc-probe.service"),
        "{probe}"
    );

    // systemd made its own cgroups (init.scope, system.slice) in a tree it may write: one
    // level below the container's cgroup, which keeps the host's limit.
    let init = world.init_pid(&name);
    let memory = cgroup_of(init, "memory");
    assert!(
        memory.ends_with("/ns/init.scope"),
        "init's memory cgroup: {memory}"
    );
    let systemd = cgroup_of(init, "name=systemd");
    assert!(
        systemd.ends_with("/ns/init.scope"),
        "init's systemd cgroup: {systemd}"
    );
    let transient = attach_ok(&world, &name, "systemd-run --wait --quiet true && echo ran");
    assert_eq!(transient.trim(), "ran");
    let container_cgroup = memory
        .strip_suffix("/ns/init.scope")
        .expect("the container's cgroup")
        .trim_start_matches('/')
        .to_owned();
    // The write reaches the container's own root and changes nothing above it: the limit set
    // from the host stays in force (and on v1 visible inside, as the hierarchical limit).
    let host_limit = if pure_cgroup2() {
        attach_ok(&world, &name, "echo max > /sys/fs/cgroup/memory.max");
        let dir = std::path::Path::new("/sys/fs/cgroup").join(&container_cgroup);
        support::read(&dir, "memory.max")
    } else {
        let inside = attach_ok(
            &world,
            &name,
            "echo 1099511627776 > /sys/fs/cgroup/memory/memory.limit_in_bytes && \
             grep hierarchical_memory_limit /sys/fs/cgroup/memory/memory.stat",
        );
        assert_eq!(inside.trim(), "hierarchical_memory_limit 536870912");
        let dir = std::path::Path::new("/sys/fs/cgroup/memory").join(&container_cgroup);
        support::read(&dir, "memory.limit_in_bytes")
    };
    assert_eq!(host_limit.trim(), "536870912");

    // What systemd expects of a container: told it is one, its own boot id, its journal.
    let environ = std::fs::read(format!("/proc/{init}/environ")).expect("environ");
    assert!(
        environ.split(|b| *b == 0).any(|v| v == b"container=lxc"),
        "init's environment lacks container=lxc"
    );
    let boot_id = attach_ok(&world, &name, "cat /proc/sys/kernel/random/boot_id");
    let host_boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot_id");
    assert_ne!(boot_id.trim(), host_boot_id.trim());
    // A service gets its credentials: systemd mounts them in a child mount namespace, and the
    // mount reaches the service only through the container's shared mounts (as under LXC).
    let credential = attach_ok(
        &world,
        &name,
        "systemd-run --wait --pipe --quiet -p SetCredential=probe:secret \
         sh -c 'cat \"$CREDENTIALS_DIRECTORY/probe\"'",
    );
    assert_eq!(credential.trim(), "secret");
    let journal = attach_ok(&world, &name, "journalctl -b --no-pager -o cat");
    assert!(journal.contains("Startup finished"), "journal:\n{journal}");

    // A graceful stop from the host: --nokill fails rather than kill when it sits out -t.
    assert_ok(
        &world.output(&["stop", "-n", &name, "--nokill", "-t", "30"]),
        "graceful stop",
    );
    world.assert_nothing_left(&name);
}

#[test]
fn a_systemd_guest_reboots_and_powers_off_from_inside_and_from_the_host() {
    let world = World::new();
    let (name, _guest) = systemd_guest(&world, "sd-life");
    assert_ok(&world.output(&["start", "-n", &name, "-d"]), "start");
    wait_until_booted(&world, &name);

    // `systemctl reboot` inside: a new init in the same container.
    let first = world.init_pid(&name);
    attach(&world, &name, "systemctl reboot");
    let deadline = Instant::now() + BOOT_LIMIT;
    // (Between the old init and the new one, info shows no pid.)
    let new_init = || {
        let info = world.output(&["info", "-n", &name, "-p", "-H"]);
        String::from_utf8_lossy(&info.stdout)
            .trim()
            .parse::<i32>()
            .ok()
    };
    while world.state(&name) != "RUNNING" || new_init().is_none_or(|pid| pid == first) {
        assert!(
            Instant::now() < deadline,
            "{name} did not come back after reboot"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(wait_until_booted(&world, &name), "running");

    // `rlxc stop -r` from the host, the same.
    let second = world.init_pid(&name);
    assert_ok(
        &world.output(&["stop", "-n", &name, "-r", "-t", "30"]),
        "stop -r",
    );
    assert_ne!(world.init_pid(&name), second);
    assert_eq!(wait_until_booted(&world, &name), "running");

    // `systemctl poweroff` inside: the container stops, and nothing of it is left.
    attach(&world, &name, "systemctl poweroff");
    wait_for_state(&world, &name, "STOPPED");
    world.assert_nothing_left(&name);

    // And it starts again from there.
    assert_ok(&world.output(&["start", "-n", &name, "-d"]), "start again");
    assert_eq!(wait_until_booted(&world, &name), "running");
    assert_ok(
        &world.output(&["stop", "-n", &name, "--nokill", "-t", "30"]),
        "graceful stop",
    );
    world.assert_nothing_left(&name);
}

/// A console client of the test: what it prints is gathered, so the test waits for text with
/// a bound instead of blocking on a read.
struct ConsoleClient {
    child: std::process::Child,
    input: std::process::ChildStdin,
    seen: support::Gathered,
}

impl ConsoleClient {
    fn open(world: &World, name: &str, tty: &str) -> ConsoleClient {
        use std::process::Stdio;
        let mut child = std::process::Command::new(support::RLXC)
            .args(["console", "-n", name, "-t", tty])
            .env("RLXC_PATH", world.lxcpath())
            .env("RLXC_RUN_DIR", world.run_root())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("rlxc console");
        let input = child.stdin.take().expect("stdin");
        let seen = support::Gathered::from(child.stdout.take().expect("stdout"));
        ConsoleClient { child, input, seen }
    }

    fn send(&mut self, text: &str) {
        use std::io::Write;
        self.input
            .write_all(text.as_bytes())
            .expect("typing on the console");
    }

    /// Types `text` (again every few seconds: a getty may start after the first keystroke)
    /// until the console shows `wanted`.
    fn type_until(&mut self, text: &str, wanted: &str) {
        let deadline = Instant::now() + BOOT_LIMIT;
        let mut next_send = Instant::now();
        loop {
            if self.seen.text().contains(wanted) {
                return;
            }
            if Instant::now() >= next_send {
                self.send(text);
                next_send = Instant::now() + Duration::from_secs(3);
            }
            assert!(
                Instant::now() < deadline,
                "the console never showed {wanted:?}; it showed:\n{}",
                self.seen.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ConsoleClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A root password set in the guest, as an admin does after creating it.
fn set_root_password(guest: &Overlay, password: &str) {
    let output = std::process::Command::new("chroot")
        .arg(guest.rootfs())
        .args(["sh", "-c", &format!("echo root:{password} | chpasswd")])
        .output()
        .expect("chroot chpasswd");
    assert_ok(&output, "setting the guest's root password");
}

#[test]
fn a_systemd_guest_gives_a_login_on_its_console_and_its_ttys() {
    let world = World::new();
    let (name, guest) = systemd_guest(&world, "sd-login");
    set_root_password(&guest, "rlxc-secret");
    assert_ok(&world.output(&["start", "-n", &name, "-d"]), "start");
    wait_until_booted(&world, &name);
    // console-getty on /dev/console (`-t 0`), container-getty@ on the ttys (`-t 1`).
    for tty in ["0", "1"] {
        let mut console = ConsoleClient::open(&world, &name, tty);
        console.type_until("\n", "login:");
        console.send("root\n");
        console.type_until("", "Password:");
        console.send("rlxc-secret\n");
        console.type_until("echo logged-in-$((6*7))\n", "logged-in-42");
        console.send("exit\n");
    }
    assert_ok(
        &world.output(&["stop", "-n", &name, "--nokill", "-t", "30"]),
        "graceful stop",
    );
    world.assert_nothing_left(&name);
}

/// Unprivileged (its root is host id UNPRIVILEGED_BASE), as LXC's userns configs set it up:
/// it boots to `running` with no failed unit (under LXC 5 debugfs's mount unit fails: rlxc
/// drops the capabilities only the host's root can use), runs transient units in the cgroup
/// tree given to its root, and stops gracefully.
#[test]
fn an_unprivileged_systemd_guest_boots_with_no_failed_unit() {
    let world = World::new();
    let (name, _guest) = unprivileged_systemd_guest(&world, "sd-user");
    assert_ok(&world.output(&["start", "-n", &name, "-d"]), "start");
    assert_eq!(wait_until_booted(&world, &name), "running");
    let failed = attach_ok(&world, &name, "systemctl --failed --plain --no-legend");
    assert_eq!(failed.trim(), "", "failed units");
    let init = world.init_pid(&name);
    let status = std::fs::read_to_string(format!("/proc/{init}/status")).expect("status");
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .expect("Uid line");
    assert_eq!(
        uid_line.split_whitespace().nth(1),
        Some(UNPRIVILEGED_BASE.to_string().as_str()),
        "{uid_line}"
    );
    let transient = attach_ok(&world, &name, "systemd-run --wait --quiet true && echo ran");
    assert_eq!(transient.trim(), "ran");
    assert_ok(
        &world.output(&["stop", "-n", &name, "--nokill", "-t", "30"]),
        "graceful stop",
    );
    world.assert_nothing_left(&name);
}

/// Pings `address` from the test's network namespace (the bridge's side), a few tries.
fn ping_from(netns: &support::TestNetns, address: &str) -> bool {
    (0..3).any(|_| {
        std::process::Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", netns.name))
            .args(["busybox", "ping", "-c1", "-W5", address])
            .output()
            .is_ok_and(|output| output.status.success())
    })
}

/// The guest configures its own network, as admins set it up: ifupdown from
/// /etc/network/interfaces in one, systemd-networkd from a .network file in another. Each
/// brings eth0 (a veth on the test's bridge) up with its address, and answers a ping.
#[test]
fn the_guest_configures_its_network_with_ifupdown_or_systemd_networkd() {
    let netns = support::TestNetns::new();
    netns.bridge("br0", "10.61.0.1/24");
    let world = World::in_netns(&netns);
    let veth = "lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.name = eth0\n";
    let mut guests = Vec::new();
    for (base, address) in [("sd-ifup", "10.61.0.2"), ("sd-networkd", "10.61.0.3")] {
        let guest = Guest::Systemd.overlay();
        let etc = guest.rootfs().join("etc");
        if base == "sd-ifup" {
            std::fs::write(
                etc.join("network/interfaces"),
                format!(
                    "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    \
                     address {address}/24\n    gateway 10.61.0.1\n"
                ),
            )
            .expect("interfaces");
        } else {
            guest.use_networkd(&format!("Address={address}/24\nGateway=10.61.0.1\n"));
        }
        let (name, guest) = configured_guest(&world, base, guest, veth);
        assert_ok(&world.output(&["start", "-n", &name, "-d"]), "start");
        guests.push((name, guest, address));
    }
    for (name, _, address) in &guests {
        wait_until_booted(&world, name);
        let shown = attach_ok(&world, name, "ip -4 -o addr show dev eth0");
        assert!(shown.contains(&format!("{address}/24")), "{name}: {shown}");
        assert!(
            ping_from(&netns, address),
            "{name} does not answer at {address}"
        );
    }
    for (name, _, _) in &guests {
        assert_ok(
            &world.output(&["stop", "-n", name, "--nokill", "-t", "30"]),
            "graceful stop",
        );
        world.assert_nothing_left(name);
    }
}
