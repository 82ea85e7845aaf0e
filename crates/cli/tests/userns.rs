//! Unprivileged containers (`lxc.idmap`): init runs in a user namespace whose root is an
//! ordinary host uid, and everything a container needs still works there. Each test uses its
//! own host range (200000 + N*65536) and never touches the host's /etc/subuid.

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use support::idmap::{base, create as create_with_idmap, unprivileged};
use support::{TestNetns, World};

/// `rlxc attach -n NAME -- sh -c SCRIPT`: stdout, stderr and whether it succeeded.
fn inside(world: &World, name: &str, script: &str) -> (String, String, bool) {
    let out = world.output(&["attach", "-n", name, "--", "/bin/sh", "-c", script]);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

fn owner(path: &Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).expect("stat");
    (meta.uid(), meta.gid())
}

/// The host directory of init's cgroup in the v1 `controller` hierarchy, or cgroup2's for
/// `""`; `None` where the host lacks it.
fn cgroup_dir(pid: i32, controller: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let line = text.lines().find(|l| {
        let fields: Vec<&str> = l.splitn(3, ':').collect();
        fields.len() == 3 && fields[1].split(',').any(|c| c == controller)
            || (controller.is_empty() && fields.len() == 3 && fields[1].is_empty())
    })?;
    let path = line.splitn(3, ':').nth(2)?;
    let fstype = if controller.is_empty() {
        "cgroup2"
    } else {
        "cgroup"
    };
    let mount_point = mounts.lines().find_map(|m| {
        let (left, right) = m.split_once(" - ")?;
        let mut right = right.split_whitespace();
        if right.next()? != fstype {
            return None;
        }
        let options = right.nth(1).unwrap_or_default();
        let has = controller.is_empty() || options.split(',').any(|o| o == controller);
        has.then(|| left.split_whitespace().nth(4).map(PathBuf::from))?
    })?;
    Some(mount_point.join(path.trim_start_matches('/')))
}

#[test]
fn init_runs_as_the_mapped_root_and_its_files_belong_to_the_range() {
    let world = World::new();
    let name = unprivileged(&world, "usr-ids", 1);
    let host_root = base(1);
    world.rlxc(&["start", "-n", &name]).assert().success();
    let pid = world.init_pid(&name);

    let expected_map = format!("{:>10} {:>10} {:>10}\n", 0, host_root, 65536);
    for map in ["uid_map", "gid_map"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{map}")).expect("map");
        assert_eq!(text, expected_map, "{map}");
    }
    // From the host, init is the mapped uid: what ps shows.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).expect("Uid");
    let root = host_root.to_string();
    assert_eq!(
        uid_line.split_whitespace().skip(1).collect::<Vec<_>>(),
        [root.as_str(); 4],
        "{uid_line}"
    );
    assert_eq!(owner(Path::new(&format!("/proc/{pid}"))).0, host_root);

    // Inside, it is root; attach joins the user namespace and takes the mapped ids.
    let (out, err, ok) = inside(
        &world,
        &name,
        "id -u; id -g; readlink /proc/self/ns/user; touch /root/made-inside; \
         mknod /root/null c 1 3 && echo mknod-worked; echo done",
    );
    assert!(ok, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..2], ["0", "0"], "{out}");
    let init_userns = std::fs::read_link(format!("/proc/{pid}/ns/user")).expect("ns");
    assert_eq!(
        lines[2],
        init_userns.to_string_lossy(),
        "attach is in another userns"
    );
    assert!(
        !out.contains("mknod-worked"),
        "mknod in a user namespace: {out}"
    );
    assert!(err.contains("mknod"), "{err}");
    let made = world.lxcpath().join(&name).join("rootfs/root/made-inside");
    assert_eq!(owner(&made), (host_root, host_root));

    // rlxc execute takes the same path.
    world.rlxc(&["stop", "-n", &name]).assert().success();
    world
        .rlxc(&[
            "execute",
            "-n",
            &name,
            "--",
            "/bin/sh",
            "-c",
            "id -u; cat /proc/self/uid_map",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("0\n").and(predicate::str::contains(host_root.to_string())),
        );
    world.assert_nothing_left(&name);
}

#[test]
fn root_inside_cannot_touch_host_owned_files() {
    let world = World::new();
    let name = unprivileged(&world, "usr-host", 2);
    // A directory any uid may traverse, owned by host root, with a root-owned file.
    let shared = tempfile::Builder::new()
        .prefix("rlxc-userns-shared-")
        .tempdir_in("/tmp")
        .expect("tempdir");
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let file = shared.path().join("host-file");
    std::fs::write(&file, "host\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    world.append_config(
        &name,
        &format!(
            "lxc.mount.entry = {} mnt/host none bind,create=dir 0 0\n",
            shared.path().display()
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    let (out, err, _) = inside(
        &world,
        &name,
        "cat /mnt/host/host-file; \
         echo x >> /mnt/host/host-file && echo wrote; \
         touch /mnt/host/new && echo created; \
         chown 0:0 /mnt/host/host-file && echo chowned; \
         chmod 666 /mnt/host/host-file && echo chmodded; \
         rm /mnt/host/host-file && echo removed; \
         ls -ln /mnt/host/host-file; echo done",
    );
    assert!(out.starts_with("host\n"), "cannot even read: {out}{err}");
    for done in ["wrote", "created", "chowned", "chmodded", "removed"] {
        assert!(!out.contains(done), "{done}: {out}{err}");
    }
    // Host root is nobody's root in there: the file shows as the overflow id.
    assert!(out.contains(" 65534 "), "{out}");
    assert!(err.contains("Permission denied") || err.contains("Operation not permitted"));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "host\n");
    assert_eq!(owner(&file), (0, 0));
    assert!(!shared.path().join("new").exists());
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn console_info_limits_and_cgroup_ownership_work_unprivileged() {
    let world = World::new();
    let name = unprivileged(&world, "usr-cg", 3);
    let host_root = base(3);
    let log = world.dir.path().join("console.log");
    world.append_config(
        &name,
        &format!(
            "lxc.console.logfile = {}\nlxc.cgroup.pids.max = 77\n",
            log.display()
        ),
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    world
        .rlxc(&["info", "-n", &name])
        .assert()
        .success()
        .stdout(predicate::str::contains("RUNNING"));
    let pid = world.init_pid(&name);

    // The console's pty slave belongs to the container's root (devpts gives it the tty
    // group; busybox's getty on it then makes it root's group, as in a privileged container).
    let console = PathBuf::from(format!("/proc/{pid}/root/dev/console"));
    let (uid, gid) = owner(&console);
    assert_eq!(uid, host_root);
    assert!(
        gid == host_root || gid == host_root + 5,
        "console gid {gid}"
    );
    let (out, err, ok) = inside(&world, &name, "echo hello-from-the-userns > /dev/console");
    assert!(ok, "{out}{err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("hello-from-the-userns")
    {
        assert!(
            Instant::now() < deadline,
            "console output never reached the log"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // The limit holds, and the container's own tree is its root's, but not the limit: in the
    // v1 pids hierarchy, or the cgroup2 one on a pure cgroup2 host (the UML lane). Init is
    // in the container's inner cgroup (its cgroup namespace's root, given to its root); the
    // limit is on the cgroup above, which stays host root's.
    let (own, delegated) = match cgroup_dir(pid, "pids") {
        Some(dir) => (dir, "cgroup.procs"),
        None => (
            cgroup_dir(pid, "").expect("a pids controller"),
            "cgroup.subtree_control",
        ),
    };
    assert!(own.ends_with("ns"), "init's cgroup {}", own.display());
    let pids = own.parent().expect("the container's cgroup").to_path_buf();
    let limit = || std::fs::read_to_string(pids.join("pids.max")).expect("pids.max");
    assert_eq!(limit().trim(), "77");
    assert_eq!(owner(&own), (host_root, host_root));
    assert_eq!(owner(&own.join("cgroup.procs")), (host_root, host_root));
    assert_eq!(owner(&own.join(delegated)), (host_root, host_root));
    assert_eq!(owner(&own.join("pids.max")), (0, 0));
    assert_eq!(owner(&pids), (0, 0));
    assert_eq!(owner(&pids.join("cgroup.procs")), (0, 0));
    let (out, _, _) = inside(
        &world,
        &name,
        "for f in /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do \
           [ -e $f ] && echo seen && echo 1000 > $f && echo raised; done; echo done",
    );
    assert!(out.contains("seen") && !out.contains("raised"), "{out}");
    assert_eq!(limit().trim(), "77");
    world.rlxc(&["stop", "-n", &name]).assert().success();
    world.assert_nothing_left(&name);
}

/// An attach with a terminal gets a pty the command's user owns, as seen inside (not the
/// overflow id of host root, who opened it). `script` gives us a terminal.
#[test]
fn an_attached_terminal_belongs_to_the_command_s_user() {
    let world = World::new();
    let name = unprivileged(&world, "usr-pty", 7);
    world.rlxc(&["start", "-n", &name]).assert().success();
    for (uid_option, expected) in [("", "0"), ("-u 1000 ", "1000")] {
        let command = format!(
            "{} attach -n {name} {uid_option}-- sh -c 'echo owner=$(stat -c %u $(tty))'",
            support::RLXC
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("RLXC_PATH", world.lxcpath())
            .env("RLXC_RUN_DIR", world.run_root())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("script(1), from bsdutils");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("owner={expected}\r")),
            "{uid_option}: {text:?}"
        );
    }
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

/// The /proc view is mounted on a FUSE connection the container's user namespace opened (the
/// kernel mounts no other there) and served by the monitor's server all the same.
#[test]
fn the_proc_view_works_unprivileged() {
    let world = World::new();
    let name = unprivileged(&world, "usr-view", 8);
    world.append_config(&name, "lxc.procview = 1\nlxc.cgroup2.memory.max = 64M\n");
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .success()
        .stderr(predicate::str::contains("procview").not());
    let (out, err, ok) = inside(&world, &name, "grep MemTotal /proc/meminfo");
    assert!(ok, "{out}{err}");
    assert_eq!(out.split_whitespace().nth(1), Some("65536"), "{out}");
    // sysinfo too, for an attached command (its filter installed in the container's user
    // namespace, its listener answered by the same server).
    let (out, err, ok) = inside(&world, &name, "free | grep Mem:");
    assert!(ok, "{out}{err}");
    assert_eq!(out.split_whitespace().nth(1), Some("65536"), "{out}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn veth_networking_and_sysfs_work_unprivileged() {
    let netns = TestNetns::new();
    netns.bridge("br0", "10.44.0.1/24");
    let world = World::in_netns(&netns);
    let name = unprivileged(&world, "usr-net", 4);
    world.append_config(
        &name,
        "lxc.net.0.type = veth\nlxc.net.0.link = br0\nlxc.net.0.flags = up\n\
         lxc.net.0.name = eth0\nlxc.net.0.ipv4.address = 10.44.0.2/24\n",
    );
    world.rlxc(&["start", "-n", &name]).assert().success();
    let (out, err, ok) = inside(
        &world,
        &name,
        "cat /sys/class/net/eth0/operstate; ping -c 1 -W 5 10.44.0.1 >/dev/null && echo reached",
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("reached"), "{out}{err}");
    assert!(out.starts_with("up") || out.starts_with("unknown"), "{out}");
    world.rlxc(&["stop", "-n", &name]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn a_rootfs_of_the_wrong_owner_is_refused_and_shift_rootfs_fixes_it() {
    let world = World::new();
    let name = world.busybox("usr-shift");
    let host_root = base(5);
    let rootfs = world.lxcpath().join(&name).join("rootfs");
    // What the shift must keep: a setuid bit, and a symlink pointing out of the rootfs whose
    // target must not change owner.
    let outside = world.dir.path().join("outside-target");
    std::fs::write(&outside, "").expect("write");
    std::os::unix::fs::symlink(&outside, rootfs.join("root/link-out")).expect("symlink");
    let setuid = rootfs.join("root/setuid-file");
    std::fs::write(&setuid, "").expect("write");
    std::fs::set_permissions(&setuid, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    world.append_config(
        &name,
        &format!("lxc.idmap = u 0 {host_root} 65536\nlxc.idmap = g 0 {host_root} 65536\n"),
    );

    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("is owned by uid 0 gid 0")
                .and(predicate::str::contains(format!(
                    "uid {host_root} gid {host_root}"
                )))
                .and(predicate::str::contains(format!(
                    "rlxc shift-rootfs -n {name}"
                ))),
        );
    world.assert_nothing_left(&name);

    world
        .rlxc(&["shift-rootfs", "-n", &name])
        .assert()
        .success()
        .stdout(predicate::str::contains("entries shifted"));
    assert_eq!(owner(&rootfs), (host_root, host_root));
    assert_eq!(owner(&rootfs.join("bin/busybox")), (host_root, host_root));
    assert_eq!(owner(&rootfs.join("root/link-out")), (host_root, host_root));
    assert_eq!(owner(&outside), (0, 0));
    let mode = std::fs::metadata(&setuid).expect("stat").mode();
    assert_eq!(mode & 0o7777, 0o4755, "setuid bit lost: {mode:o}");
    // Again: nothing to do.
    world
        .rlxc(&["shift-rootfs", "-n", &name])
        .assert()
        .success()
        .stdout(predicate::str::contains("already"));

    world.rlxc(&["start", "-n", &name]).assert().success();
    let (out, err, ok) = inside(&world, &name, "id -u; touch /etc/ok");
    assert!(ok && out == "0\n", "{out}{err}");
    world
        .rlxc(&["shift-rootfs", "-n", &name])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is running"));
    world.rlxc(&["stop", "-n", &name]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn an_initial_config_with_id_maps_gets_a_shifted_rootfs() {
    let world = World::new();
    let name = world.name("usr-seed");
    let host_root = base(6);
    let seed = world.dir.path().join("seed.conf");
    std::fs::write(
        &seed,
        format!("lxc.idmap = u 0 {host_root} 65536\nlxc.idmap = g 0 {host_root} 65536\n"),
    )
    .expect("seed");
    let seed = seed.display().to_string();
    world
        .rlxc(&["create", "-n", &name, "-t", "busybox", "-f", &seed])
        .assert()
        .success();
    let rootfs = world.lxcpath().join(&name).join("rootfs");
    assert_eq!(owner(&rootfs.join("bin")), (host_root, host_root));
    let config = std::fs::read_to_string(world.config(&name)).expect("config");
    assert_eq!(config.matches("lxc.idmap").count(), 2, "{config}");
    world.rlxc(&["start", "-n", &name]).assert().success();
    let (out, err, ok) = inside(&world, &name, "id -u");
    assert!(ok && out == "0\n", "{out}{err}");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    world.assert_nothing_left(&name);
}

#[test]
fn bad_id_maps_are_refused_before_anything_is_made() {
    let world = World::new();
    let name = world.name("usr-bad");
    create_with_idmap(&world, &name, "u:0:300000:65536")
        .failure()
        .stderr(predicate::str::contains("no g range"));
    assert!(!world.lxcpath().join(&name).exists());

    let name = world.busybox("usr-bad2");
    world.append_config(
        &name,
        "lxc.idmap = u 0 300000 65536\nlxc.idmap = g 0 300000 100\nlxc.idmap = g 50 400000 10\n",
    );
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .failure()
        .stderr(predicate::str::contains("lxc.idmap").and(predicate::str::contains("overlap")));
    world.assert_nothing_left(&name);

    // sysfs in a user namespace needs a network namespace of its own.
    let name = unprivileged(&world, "usr-hostnet", 9);
    world.append_config(&name, "lxc.net.0.type = none\n");
    world
        .rlxc(&["start", "-n", &name])
        .assert()
        .failure()
        .stderr(predicate::str::contains("network namespace of its own"));
    world.assert_nothing_left(&name);

    // `auto` reads root's ranges; on a host that delegates none, it says how to fix that.
    let name = world.name("usr-auto");
    let subuid = std::fs::read_to_string("/etc/subuid").unwrap_or_default();
    let subgid = std::fs::read_to_string("/etc/subgid").unwrap_or_default();
    let delegated = |text: &str| {
        text.lines()
            .any(|l| l.starts_with("root:") || l.starts_with("0:"))
    };
    let create = create_with_idmap(&world, &name, "auto");
    if delegated(&subuid) && delegated(&subgid) {
        create.success();
        let config = std::fs::read_to_string(world.config(&name)).expect("config");
        assert!(config.contains("lxc.idmap = u 0 "), "{config}");
    } else {
        create
            .failure()
            .stderr(predicate::str::contains("delegates no range to root"));
        assert!(!world.lxcpath().join(&name).exists());
    }
}
