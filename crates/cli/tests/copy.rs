//! `rlxc copy` / `lxc-copy` on real containers: a full copy keeps every kind of file and
//! its metadata (getfattr, getfacl, stat and du as the oracles), the clone starts under its
//! new name with a new MAC; `-R` renames; clone hooks get LXC's environment; an interrupted
//! copy leaves no NEWNAME; a running source is frozen for the copy.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::frozen::{big_source, freezer_state, kill_all_while_frozen, kill_while_frozen};
use support::{assert_ok, host_sh, TestNetns, World};

/// Every kind of file a rootfs may hold, below `ROOTFS/data`.
fn fill_with_data(rootfs: &Path) {
    let data = rootfs.join("data");
    host_sh(&format!(
        "set -e; mkdir -p {d}/sub; cd {d}
         echo hello > xattr; setfattr -n user.colour -v blue xattr
         cp /bin/busybox ping; setfattr -n security.capability \
             -v 0sAQAAAgAgAAAAAAAAAAAAAAAAAAA= ping
         echo acl > acl; setfacl -m u:1234:rwx,g:4321:r acl; setfacl -d -m u:1234:rx sub
         mknod null c 1 3; mkfifo fifo
         echo linked > one; ln one sub/two
         ln -s /etc/shadow shadow-link; ln -s ../one sub/up
         truncate -s 100M sparse; echo middle | dd of=sparse bs=1 seek=52428800 conv=notrunc 2>/dev/null
         echo owned > owned; chown 1234:4321 owned; chmod 4751 owned
         chmod 0511 sub",
        d = data.display()
    ));
}

/// What the oracles say of a tree: each entry's type, mode, owner, link count and target,
/// size (not for directories, whose size is the filesystem's business), major/minor, mtime;
/// every xattr; every ACL.
fn describe(dir: &Path) -> String {
    host_sh(&format!(
        "cd {} && find . -path ./proc -prune -o ! -type d -printf '%p %y %m %u %g %n %s %l %T@\\n' | sort
         find . -type d -printf '%p %m %u %g %T@\\n' | sort
         for node in $(find . -type c -o -type b); do stat -c '%n %t %T' $node; done
         getfattr -R -h -d -m - -e hex . 2>/dev/null | sed '/^$/d'
         getfacl -R -P -p . 2>/dev/null",
        dir.display()
    ))
}

/// The source with a veth (in the test's network namespace) and a fixed MAC.
fn with_mac(world: &World, name: &str, mac: &str) {
    let config = fs::read_to_string(world.config(name)).expect("config");
    let config = config.replace(
        "lxc.net.0.type = empty",
        &format!("lxc.net.0.type = veth\nlxc.net.0.hwaddr = {mac}\nlxc.net.0.flags = up"),
    );
    fs::write(world.config(name), config).expect("config");
}

#[test]
fn a_full_copy_keeps_every_file_and_the_clone_starts_renamed_with_a_new_mac() {
    let netns = TestNetns::new();
    let world = World::in_netns(&netns);
    let source = world.busybox("cpsrc");
    with_mac(&world, &source, "00:16:3e:12:34:56");
    fill_with_data(&world.rootfs(&source));
    let copy = world.name("cpdst");

    let output = world.output(&["copy", "-n", &source, "-N", &copy]);
    assert_ok(&output, "copy");

    assert_eq!(
        describe(&world.rootfs(&source).join("data")),
        describe(&world.rootfs(&copy).join("data"))
    );
    // The oracles agree on the whole rootfs too, but for the two files that carry the name.
    let hostname = fs::read_to_string(world.rootfs(&copy).join("etc/hostname"));
    assert_eq!(hostname.expect("hostname"), format!("{copy}\n"));
    let hosts = fs::read_to_string(world.rootfs(&copy).join("etc/hosts")).expect("hosts");
    assert!(hosts.contains(&format!("127.0.1.1\t{copy}\n")), "{hosts}");
    let without_names = |name: &str| {
        describe(&world.rootfs(name))
            .lines()
            .filter(|line| {
                !line.starts_with("./etc/hostname ") && !line.starts_with("./etc/hosts ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_names(&source), without_names(&copy));
    // Sparse stays sparse: 100 MiB long, a few KiB on disk.
    let sparse = world.rootfs(&copy).join("data/sparse");
    assert_eq!(fs::metadata(&sparse).expect("sparse").len(), 100 << 20);
    let used: u64 = host_sh(&format!("du -k {}", sparse.display()))
        .split_whitespace()
        .next()
        .and_then(|kib| kib.parse().ok())
        .expect("du");
    assert!(used < 1024, "the copy's sparse file uses {used} KiB");
    // Hard links stay one inode.
    let inode = |path: &str| {
        std::os::unix::fs::MetadataExt::ino(
            &fs::metadata(world.rootfs(&copy).join(path)).expect(path),
        )
    };
    assert_eq!(inode("data/one"), inode("data/sub/two"));

    let config = fs::read_to_string(world.config(&copy)).expect("config");
    assert!(
        config.contains(&format!("lxc.uts.name = {copy}\n")),
        "{config}"
    );
    assert!(
        config.contains(&format!(
            "lxc.rootfs.path = {}\n",
            world.rootfs(&copy).display()
        )),
        "{config}"
    );
    assert!(!config.contains("00:16:3e:12:34:56"), "{config}");

    world.rlxc(&["start", "-n", &copy]).assert().success();
    let hostname = world.sh(&copy, "hostname; cat /sys/class/net/eth0/address");
    assert_ok(&hostname, "hostname in the clone");
    let text = String::from_utf8_lossy(&hostname.stdout).into_owned();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(copy.as_str()));
    let mac = lines.next().expect("a MAC");
    assert!(mac.starts_with("00:16:3e:"), "{mac}");
    assert_ne!(mac, "00:16:3e:12:34:56");
}

#[test]
fn keep_name_and_keep_mac_leave_them() {
    let netns = TestNetns::new();
    let world = World::in_netns(&netns);
    let source = world.busybox("cpkeep");
    with_mac(&world, &source, "00:16:3e:ab:cd:ef");
    let copy = world.name("cpkept");
    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &copy, "-K", "-M"]),
        "copy -K -M",
    );
    let config = fs::read_to_string(world.config(&copy)).expect("config");
    assert!(
        config.contains(&format!("lxc.uts.name = {source}\n")),
        "{config}"
    );
    assert!(
        config.contains("lxc.net.0.hwaddr = 00:16:3e:ab:cd:ef\n"),
        "{config}"
    );
    let hostname = fs::read_to_string(world.rootfs(&copy).join("etc/hostname")).expect("read");
    assert_eq!(hostname, format!("{source}\n"));
}

#[test]
fn rename_moves_the_container_and_refuses_a_running_one() {
    let world = World::new();
    let source = world.busybox("rnsrc");
    let renamed = world.name("rndst");
    fs::write(world.rootfs(&source).join("marker"), "here").expect("marker");
    world.append_config(
        &source,
        &format!(
            "lxc.mount.fstab = {}\n",
            world.lxcpath().join(&source).join("fstab").display()
        ),
    );
    fs::write(world.lxcpath().join(&source).join("fstab"), "").expect("fstab");

    world.rlxc(&["start", "-n", &source]).assert().success();
    let refused = world.output(&["copy", "-n", &source, "-N", &renamed, "-R"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("is running: stop it before renaming it"),
        "{stderr}"
    );
    world
        .rlxc(&["stop", "-n", &source, "-k"])
        .assert()
        .success();

    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &renamed, "-R"]),
        "copy -R",
    );
    assert!(!world.lxcpath().join(&source).exists());
    assert_eq!(
        fs::read_to_string(world.rootfs(&renamed).join("marker")).expect("moved"),
        "here"
    );
    let config = fs::read_to_string(world.config(&renamed)).expect("config");
    let new_dir = world.lxcpath().join(&renamed);
    for line in [
        format!("lxc.uts.name = {renamed}"),
        format!("lxc.rootfs.path = {}", new_dir.join("rootfs").display()),
        format!("lxc.mount.fstab = {}", new_dir.join("fstab").display()),
    ] {
        assert!(config.lines().any(|l| l == line), "{line} not in\n{config}");
    }
    let listed = world.output(&["ls", "-1"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), renamed);
    world.rlxc(&["start", "-n", &renamed]).assert().success();
    let hostname = world.sh(&renamed, "hostname");
    assert_eq!(String::from_utf8_lossy(&hostname.stdout).trim(), renamed);
}

#[test]
fn clone_hooks_get_lxcs_environment_and_a_failing_one_undoes_the_copy() {
    let world = World::new();
    let source = world.busybox("hksrc");
    let source_dir = world.lxcpath().join(&source);
    let out = world.dir.path().join("hook.out");
    let hook = source_dir.join("clone-hook.sh");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\n{{ printf '%s|' \"$@\"; echo; env | grep ^LXC_ | sort; \
             test -f \"$LXC_CONFIG_FILE\" && echo config-there; \
             test -x \"$LXC_ROOTFS_MOUNT/bin/busybox\" && echo rootfs-there; }} > {}\n\
             [ \"$4\" != fail ]\n",
            out.display()
        ),
    )
    .expect("hook");
    host_sh(&format!("chmod +x {}", hook.display()));
    world.append_config(&source, &format!("lxc.hook.clone = {}\n", hook.display()));

    let copy = world.name("hkdst");
    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &copy, "--", "x1", "y 2"]),
        "copy with a hook",
    );
    let seen = fs::read_to_string(&out).expect("the hook ran");
    let mut lines = seen.lines();
    assert_eq!(
        lines.next(),
        Some(format!("{copy}|lxc|clone|x1|y 2|").as_str())
    );
    for line in [
        format!("LXC_NAME={copy}"),
        format!("LXC_SRC_NAME={source}"),
        "LXC_HOOK_TYPE=clone".to_string(),
        "config-there".to_string(),
        "rootfs-there".to_string(),
    ] {
        assert!(seen.lines().any(|l| l == line), "{line} not in\n{seen}");
    }
    // The hook script of the old container's directory came along, and the config names it.
    let copied_hook = world.lxcpath().join(&copy).join("clone-hook.sh");
    assert!(copied_hook.is_file());
    let config = fs::read_to_string(world.config(&copy)).expect("config");
    assert!(config.contains(&format!("lxc.hook.clone = {}", copied_hook.display())));

    let failed = world.name("hkfail");
    let output = world.output(&["copy", "-n", &source, "-N", &failed, "--", "fail"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the copy was removed"), "{stderr}");
    assert_eq!(hidden_and_named(&world, &failed), Vec::<PathBuf>::new());
}

/// What the lxcpath holds of `name`: its directory, and hidden staging directories.
fn hidden_and_named(world: &World, name: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(world.lxcpath())
        .expect("lxcpath")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            file_name == name || file_name.starts_with(&format!(".{name}."))
        })
        .collect();
    found.sort();
    found
}

/// Waits (bounded) until the copy to `name` has its hidden staging directory.
fn wait_for_staging(world: &World, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while hidden_and_named(world, name).is_empty() {
        assert!(Instant::now() < deadline, "no staging directory appeared");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_copy_killed_midway_leaves_no_newname_and_the_next_command_clears_its_leftovers() {
    let world = World::new();
    let source = big_source(&world, "kill");
    let copy = world.name("killed");

    // SIGKILL: nothing can be undone, but NEWNAME never appears; the next ls clears.
    let mut child = world.spawn_rlxc(&["copy", "-n", &source, "-N", &copy]);
    wait_for_staging(&world, &copy);
    child.kill().expect("kill");
    child.wait().expect("wait");
    let left = hidden_and_named(&world, &copy);
    assert!(!left.is_empty(), "killed before it made anything");
    assert!(
        !left.iter().any(|path| path.ends_with(&copy)),
        "{left:?}: the copy appeared under its name"
    );
    let listed = world.output(&["ls", "-1"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), source);
    assert_eq!(hidden_and_named(&world, &copy), Vec::<PathBuf>::new());

    // SIGINT: the copy removes what it made itself.
    let mut child = world.spawn_rlxc(&["copy", "-n", &source, "-N", &copy]);
    wait_for_staging(&world, &copy);
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .expect("SIGINT");
    let status = child.wait().expect("wait");
    assert!(!status.success());
    assert_eq!(hidden_and_named(&world, &copy), Vec::<PathBuf>::new());

    // And a copy that is let be is complete.
    assert_ok(&world.output(&["copy", "-n", &source, "-N", &copy]), "copy");
    assert_eq!(
        describe(&world.rootfs(&source).join("many")),
        describe(&world.rootfs(&copy).join("many"))
    );
}

#[test]
fn a_running_source_is_frozen_for_the_copy_and_thawed_after() {
    let world = World::new();
    let source = big_source(&world, "run");
    world.start_with_init_script(&source, "true");
    let copy = world.name("runcopy");

    let child = world
        .process(
            Path::new(support::RLXC),
            &["copy", "-n", &source, "-N", &copy],
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("copy");
    wait_for_staging(&world, &copy);
    // Looked at while the copy runs (a bounded number of times, against a hang).
    let mut states = Vec::new();
    while states.len() < 10_000 && states.last().is_none_or(|state| state != "FROZEN") {
        states.push(world.state(&source));
    }
    let output = child.wait_with_output().expect("wait");
    assert_eq!(
        states.last().map(String::as_str),
        Some("FROZEN"),
        "{states:?}"
    );
    assert_ok(&output, "copy of a running container");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("frozen for the copy, and thawed"),
        "{stderr}"
    );
    assert_eq!(world.state(&source), "RUNNING");

    // One frozen by its user stays frozen.
    world.rlxc(&["freeze", "-n", &source]).assert().success();
    let again = world.name("runcopy");
    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &again]),
        "copy",
    );
    assert_eq!(world.state(&source), "FROZEN");
    world.rlxc(&["unfreeze", "-n", &source]).assert().success();
}

#[test]
fn a_copy_killed_while_the_source_is_frozen_leaves_it_thawed_and_no_newname() {
    let world = World::new();
    let source = big_source(&world, "frz");
    world.start_with_init_script(&source, "true");
    let init = world.init_pid(&source);
    let copy = world.name("frzcopy");

    let mut child = world.spawn_rlxc(&["copy", "-n", &source, "-N", &copy]);
    kill_while_frozen(init, &mut child);
    assert_eq!(world.state(&source), "RUNNING");
    let left = hidden_and_named(&world, &copy);
    assert!(
        !left.iter().any(|path| path.ends_with(&copy)),
        "{left:?}: the copy appeared under its name"
    );
    // The next command clears the staging directory, and the container runs on.
    assert_ok(&world.output(&["ls"]), "ls");
    assert_eq!(hidden_and_named(&world, &copy), Vec::<PathBuf>::new());
    assert_ok(&world.sh(&source, "true"), "attach after the killed copy");
}

#[test]
fn a_source_left_frozen_by_a_copy_killed_with_its_watchdog_is_thawed_by_the_next_look() {
    let world = World::new();
    let source = big_source(&world, "frzall");
    world.start_with_init_script(&source, "true");
    let init = world.init_pid(&source);
    let copy = world.name("frzallcopy");

    let mut child = world.spawn_rlxc(&["copy", "-n", &source, "-N", &copy]);
    kill_all_while_frozen(init, &mut child);
    assert_eq!(freezer_state(init), "FROZEN", "nobody was left to thaw it");
    // `info` (as `ls`, or any verb that takes the container's lock) thaws it.
    assert_eq!(world.state(&source), "RUNNING");
    assert_eq!(freezer_state(init), "THAWED");
    assert_ok(&world.sh(&source, "true"), "attach after the killed copy");

    // A verb that takes the container's lock (here the next copy) thaws it too: that copy
    // freezes it and thaws it after, rather than leaving it as it found it.
    let mut child = world.spawn_rlxc(&["copy", "-n", &source, "-N", &copy]);
    kill_all_while_frozen(init, &mut child);
    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &copy]),
        "the next copy",
    );
    assert_eq!(freezer_state(init), "THAWED");
}

#[test]
fn names_taken_or_invalid_and_later_options_are_refused_with_the_reason() {
    let world = World::new();
    let source = world.busybox("refuse");
    let other = world.busybox("taken");
    let refused = |args: &[&str], expected: &str| {
        let mut argv = vec!["copy", "-n", source.as_str()];
        argv.extend_from_slice(args);
        let output = world.output(&argv);
        assert!(!output.status.success(), "{argv:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{argv:?}: {stderr}");
    };
    refused(&["-N", &other], "already exists");
    refused(&["-N", "a/b"], "a/b");
    refused(&["-N", "x", "-B", "btrfs"], "-B btrfs: ");
    refused(&["-N", "x", "-B", "btrfs"], "is not on btrfs");
    refused(&["-N", "x", "-B", "zfs"], "the zfs backing store needs ZFS");
    refused(&["-N", "x", "-B", "nfs"], "-B nfs: not a backing store");
    refused(
        &["-N", "x", "-L", "1G"],
        "-L sizes a loop copy: add -B loop",
    );
    refused(&["-N", "x", "-B", "loop", "-L", "lots"], "-L lots");
    refused(&["-N", "x", "-t"], "-t, -D, -m, -F and -d go with -e");
    refused(&["-N", "x", "-e", "-m", "tmpfs=/a:/b"], "neither bind=");
    refused(
        &["-N", "x", "-e", "-m", "overlay=a:/b"],
        "overlay= needs absolute paths",
    );
    // Nothing of a refused copy stays, and the taken name's container is untouched.
    assert_eq!(hidden_and_named(&world, "x"), Vec::<PathBuf>::new());
    assert!(world.config(&other).is_file());
}

#[test]
fn lxc_copy_is_the_same_verb() {
    let world = World::new();
    let source = world.busybox("lxccp");
    let copy = world.name("lxccpd");
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("lxc-copy");
    std::os::unix::fs::symlink(support::RLXC, &link).expect("link");
    let output = world
        .process(&link, &["-n", &source, "-N", &copy])
        .output()
        .expect("lxc-copy");
    assert_ok(&output, "lxc-copy");
    assert!(world.config(&copy).is_file());
}

#[test]
fn a_snapshot_clone_is_an_overlay_whose_writes_land_in_its_delta() {
    let world = World::new();
    let source = world.busybox("ovsrc");
    fs::write(world.rootfs(&source).join("marker"), "source\n").expect("marker");
    let before = describe(&world.rootfs(&source));
    let clone = world.name("ovclone");
    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &clone, "-s"]),
        "copy -s",
    );

    // LXC 5's layout: overlay:SRC_ROOTFS:NEWDIR/overlay/delta, an empty rootfs mount point.
    let dir = world.lxcpath().join(&clone);
    let delta = dir.join("overlay/delta");
    let config = fs::read_to_string(world.config(&clone)).expect("config");
    assert!(
        config.contains(&format!(
            "lxc.rootfs.path = overlay:{}:{}\n",
            world.rootfs(&source).display(),
            delta.display()
        )),
        "{config}"
    );
    assert_eq!(fs::read_dir(dir.join("rootfs")).expect("rootfs").count(), 0);
    // The new hostname is in the upper layer, not in the source.
    assert_eq!(
        fs::read_to_string(delta.join("etc/hostname")).expect("delta hostname"),
        format!("{clone}\n")
    );

    world.rlxc(&["start", "-n", &clone]).assert().success();
    let output = world.sh(
        &clone,
        "hostname; cat /marker; echo clone > /marker; echo new > /added",
    );
    assert_ok(&output, "in the clone");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(text, format!("{clone}\nsource\n"));
    world.rlxc(&["stop", "-n", &clone, "-k"]).assert().success();

    assert_eq!(
        fs::read_to_string(delta.join("marker")).expect("marker"),
        "clone\n"
    );
    assert_eq!(
        fs::read_to_string(delta.join("added")).expect("added"),
        "new\n"
    );
    assert_eq!(
        describe(&world.rootfs(&source)),
        before,
        "the source changed"
    );
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(!mounts.contains(dir.to_string_lossy().as_ref()), "{mounts}");

    // The source holds the clone's rootfs: destroy refuses it, ours and LXC's alike (they
    // read the same lxc_snapshots), until the clone is gone.
    let refused = world.output(&["destroy", "-n", &source]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("has clones"), "{stderr}");
    let lxc = Command::new("lxc-destroy")
        .args(["-P", &world.lxcpath().to_string_lossy(), "-n", &source])
        .output()
        .expect("lxc-destroy");
    assert!(!lxc.status.success(), "lxc-destroy destroyed the source");
    assert!(world.config(&source).is_file());
    assert_ok(
        &world.output(&["destroy", "-n", &clone]),
        "destroy the clone",
    );
    assert!(!world.lxcpath().join(&source).join("lxc_snapshots").exists());
    assert_ok(
        &world.output(&["destroy", "-n", &source]),
        "destroy the source",
    );
}

#[test]
fn an_ephemeral_copy_starts_at_once_and_leaves_nothing_at_stop() {
    let world = World::new();
    let source = world.busybox("ephsrc");
    let before = describe(&world.rootfs(&source));
    let shared = tempfile::tempdir().expect("shared");
    fs::write(shared.path().join("in"), "from the host\n").expect("in");
    let copy = world.name("eph");
    let bind = format!("bind={}:/mnt/shared", shared.path().display());
    // overlay=: the host directory seen through an overlay whose changes stay in the copy.
    let lower = tempfile::tempdir().expect("lower");
    fs::write(lower.path().join("seen"), "lower\n").expect("seen");
    let overlay = format!("overlay={}:/mnt/over", lower.path().display());
    assert_ok(
        &world.output(&[
            "copy", "-n", &source, "-N", &copy, "-e", "-m", &bind, "-m", &overlay,
        ]),
        "copy -e",
    );
    assert_eq!(world.state(&copy), "RUNNING");
    let pid = world.init_pid(&copy);
    let output = world.sh(
        &copy,
        "hostname; cat /mnt/shared/in; echo out > /mnt/shared/out; echo gone > /written
         cat /mnt/over/seen; echo changed > /mnt/over/seen; echo new > /mnt/over/new",
    );
    assert_ok(&output, "in the ephemeral copy");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{copy}\nfrom the host\nlower\n")
    );
    assert_eq!(
        fs::read_to_string(lower.path().join("seen")).expect("lower"),
        "lower\n"
    );
    assert!(
        !lower.path().join("new").exists(),
        "written through to the host"
    );
    assert_eq!(
        fs::read_to_string(shared.path().join("out")).expect("out"),
        "out\n"
    );
    let dir = world.lxcpath().join(&copy);
    assert!(dir.join("overlay/delta/written").exists());
    assert_eq!(
        fs::read_to_string(dir.join("overlay.mount.1/delta/seen")).expect("upper"),
        "changed\n"
    );

    world.rlxc(&["stop", "-n", &copy]).assert().success();
    // Gone: the directory, the run directory, the cgroups, every mount, the process.
    assert!(!dir.exists(), "{} is left", dir.display());
    world.assert_nothing_left(&copy);
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        describe(&world.rootfs(&source)),
        before,
        "the source changed"
    );
    assert_eq!(hidden_and_named(&world, &copy), Vec::<PathBuf>::new());
    assert!(!world.lxcpath().join(&source).join("lxc_snapshots").exists());
}

#[test]
fn an_ephemeral_copy_with_keep_data_stays_after_stop() {
    let world = World::new();
    let source = world.busybox("ephkeep");
    let copy = world.name("ephkept");
    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &copy, "-e", "-D"]),
        "copy -e -D",
    );
    assert_ok(&world.sh(&copy, "echo kept > /kept"), "write");
    world.rlxc(&["stop", "-n", &copy, "-k"]).assert().success();
    let config = fs::read_to_string(world.config(&copy)).expect("config");
    assert!(!config.contains("lxc.ephemeral"), "{config}");
    assert_eq!(
        fs::read_to_string(world.lxcpath().join(&copy).join("overlay/delta/kept")).expect("kept"),
        "kept\n"
    );
}

#[test]
fn an_ephemeral_copy_on_tmpfs_keeps_its_changes_there_and_leaves_no_mount() {
    let world = World::new();
    let source = world.busybox("ephtmp");
    let copy = world.name("ephtmpfs");
    assert_ok(
        &world.output(&["copy", "-n", &source, "-N", &copy, "-e", "-t"]),
        "copy -e -t",
    );
    let holder = world.lxcpath().join(&copy).join("overlay");
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let line = mounts
        .lines()
        .find(|line| line.split(' ').nth(4) == Some(holder.to_string_lossy().as_ref()))
        .unwrap_or_else(|| panic!("no mount at {}:\n{mounts}", holder.display()));
    assert!(line.contains(" - tmpfs "), "{line}");
    assert_ok(&world.sh(&copy, "hostname > /written"), "write");
    assert_eq!(
        fs::read_to_string(holder.join("delta/written")).expect("on the tmpfs"),
        format!("{copy}\n")
    );
    world.rlxc(&["stop", "-n", &copy]).assert().success();
    assert!(!world.lxcpath().join(&copy).exists());
    world.assert_nothing_left(&copy);
    let mounts = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(holder.to_string_lossy().as_ref()),
        "{mounts}"
    );
}
