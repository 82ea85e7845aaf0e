//! What rlxc prints when something fails: each cause once. Real failures of different kinds
//! (a rootfs the host does not have, a missing fstab reached by init, a cgroup value the
//! kernel refuses, a state file that is not one, an lxcpath that is a file), each checked for
//! its cause, present, and for no part of the message said twice (": X: X").

mod support;

use support::World;

/// The stderr of a failed `rlxc ARGS`.
fn failure(world: &World, args: &[&str]) -> String {
    let out = world.output(args);
    assert!(!out.status.success(), "rlxc {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `cause` is in `stderr` exactly once, and no run of ": "-separated parts follows itself.
fn assert_said_once(stderr: &str, cause: &str) {
    assert_eq!(stderr.matches(cause).count(), 1, "{cause:?} in {stderr}");
    for line in stderr.lines() {
        let parts: Vec<&str> = line.split(": ").collect();
        for start in 0..parts.len() {
            for len in 1..=(parts.len() - start) / 2 {
                let (run, next) = (
                    &parts[start..start + len],
                    &parts[start + len..start + 2 * len],
                );
                assert_ne!(run, next, "{:?} said twice in {line}", run.join(": "));
            }
        }
    }
}

#[test]
fn a_missing_rootfs_and_fstab_are_said_once() {
    let world = World::new();
    for (base, path, line, cause) in [
        (
            "errrootfs",
            "/nonexistent/rlxc-rootfs",
            "lxc.rootfs.path",
            "no such directory on this host",
        ),
        (
            "errfstab",
            "/nonexistent/rlxc-fstab",
            "lxc.mount.fstab",
            "No such file or directory",
        ),
    ] {
        let name = world.busybox(base);
        world.append_config(&name, &format!("{line} = {path}\n"));
        let stderr = failure(&world, &["start", "-n", &name]);
        assert!(stderr.contains(path), "{stderr}");
        assert_said_once(&stderr, cause);
        world.assert_nothing_left(&name);
    }
}

#[test]
fn a_cgroup_value_the_kernel_refuses_is_said_once() {
    let world = World::new();
    let name = world.busybox("errcgroup");
    world.rlxc(&["start", "-n", &name]).assert().success();
    // Past rlxc's own checks (memory.max takes any word): the kernel says no.
    let stderr = failure(&world, &["cgroup", "-n", &name, "memory.max", "banana"]);
    assert!(stderr.contains("banana"), "{stderr}");
    assert_said_once(&stderr, "Invalid argument");
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

#[test]
fn a_state_file_that_is_not_one_is_said_once() {
    let world = World::new();
    let name = world.busybox("errstate");
    // The run directory's name (with the lxcpath's hash) as a start makes it.
    world.rlxc(&["start", "-n", &name]).assert().success();
    let run_dir = world.run_root().join(world.instance(&name));
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
    std::fs::create_dir_all(&run_dir).expect("run dir");
    std::fs::write(run_dir.join("state.json"), "not json\n").expect("state file");
    for verb in ["stop", "attach"] {
        let stderr = failure(&world, &[verb, "-n", &name]);
        assert!(stderr.contains("not a state file"), "{verb}: {stderr}");
        assert_said_once(&stderr, "expected ident at line 1 column 2");
    }
}

#[test]
fn an_lxcpath_that_is_a_file_is_said_once() {
    let world = World::new();
    let file = world.dir.path().join("a-file");
    std::fs::write(&file, "").expect("file");
    let out = world
        .rlxc(&["create", "-n", "errlxcpath", "-t", "busybox"])
        .env("RLXC_PATH", &file)
        .output()
        .expect("rlxc create");
    assert!(!out.status.success(), "create under a file succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create the container directory"),
        "{stderr}"
    );
    // The cause was a `source` only, printed by the CLI's `{:#}`: in the message now, once.
    assert_said_once(&stderr, "File exists");
}
