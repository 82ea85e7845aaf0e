//! Nesting: a Debian systemd guest that includes LXC's nesting.conf runs containers itself —
//! rlxc inside rlxc, and Debian's podman — on both cgroup lanes. Checked from the host: the
//! inner container's init is in the host's process table, in a cgroup below the guest's
//! inner (`ns`) tree, and the limit set on the guest from the host holds for the whole tree.

mod support;

use std::path::{Path, PathBuf};

use support::guest::{cgroup_of, guest_container, pure_cgroup2, wait_until_booted, Guest, Overlay};
use support::{assert_ok, World};

/// The guest's pids limit, set from the host: room for systemd and an inner container, small
/// enough that a fork loop inside the inner container reaches it at once.
const GUEST_PIDS_MAX: u32 = 256;

/// Whether this kernel runs AppArmor (the cgroup-v2 lane boots with it; this host has none).
fn apparmor_runs() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|v| v.trim() == "Y")
}

/// A systemd guest configured as LXC's template does, with nesting.conf included and the
/// pids limit; `extra` adds lines (binds of the host's binaries).
fn nesting_guest(world: &World, base: &str, guest: Guest, extra: &str) -> (String, Overlay) {
    guest_container(
        world,
        base,
        guest,
        &format!(
            "lxc.include = /usr/share/lxc/config/nesting.conf\n\
             lxc.cgroup.pids.max = {GUEST_PIDS_MAX}\n\
             {extra}"
        ),
    )
}

/// Starts the guest and waits for systemd. nesting.conf names an AppArmor profile: on a kernel
/// without AppArmor the start warns, once, at that line, and runs the guest unconfined; where
/// AppArmor runs and has not loaded the profile (LXC's profiles are not loaded here), the start
/// refuses, and the guest is started unconfined on purpose.
fn start_nesting_guest(world: &World, name: &str) {
    let line = "lxc.apparmor.profile = lxc-container-default-with-nesting";
    let origin = "/usr/share/lxc/config/nesting.conf:2";
    let output = world.output(&["start", "-n", name, "-d"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if apparmor_runs() {
        assert!(
            !output.status.success(),
            "started with a profile AppArmor lacks"
        );
        assert!(
            stderr.contains(&format!(
                "{origin}: {line}: AppArmor runs on this host but has no profile"
            )),
            "{stderr}"
        );
        world.append_config(name, "lxc.apparmor.profile = unconfined\n");
        assert_ok(
            &world.output(&["start", "-n", name, "-d"]),
            "start unconfined",
        );
    } else {
        assert_ok(&output, "start");
        let warning = format!("warning: {origin}: {line}: this kernel has no AppArmor");
        assert_eq!(stderr.matches(&warning).count(), 1, "{stderr}");
    }
    assert_eq!(wait_until_booted(world, name), "running");
}

/// `SCRIPT` run in the guest with a clean environment (the host's RLXC_PATH and RLXC_RUN_DIR
/// would otherwise reach the rlxc inside): its stdout, the test failing unless it succeeds.
fn in_guest(world: &World, name: &str, script: &str) -> String {
    let output = run_in_guest(world, name, script);
    assert_ok(&output, script);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn run_in_guest(world: &World, name: &str, script: &str) -> std::process::Output {
    world.output(&[
        "attach",
        "-n",
        name,
        "--clear-env",
        "--",
        "/bin/sh",
        "-c",
        script,
    ])
}

/// The host pid of the process that is pid `pid` in the namespace of `guest_init` and the
/// init (pid 1) of a namespace below it: the inner container's init, as the host sees it.
fn host_pid_of_inner_init(guest_pid: i32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
                status.lines().any(|line| {
                    let ids: Vec<&str> = line
                        .strip_prefix("NSpid:")
                        .map(|ids| ids.split_whitespace().collect())
                        .unwrap_or_default();
                    ids.len() == 3 && ids[1] == guest_pid.to_string() && ids[2] == "1"
                })
            })
        })
}

/// The directory, as the host mounts it, of cgroup `path` of the pids controller (its v1
/// hierarchy, or cgroup2 on a pure cgroup2 host).
fn pids_dir(path: &str) -> PathBuf {
    let relative = path.trim_start_matches('/');
    let v1 = Path::new("/sys/fs/cgroup/pids");
    if v1.join("cgroup.procs").exists() {
        v1.join(relative)
    } else {
        Path::new("/sys/fs/cgroup").join(relative)
    }
}

/// The cgroups named `name` below directory `dir`, at any depth.
fn cgroups_named(dir: &Path, name: &str) -> Vec<PathBuf> {
    cgroups_below(dir, &|found| found == name)
}

/// The cgroups whose name starts with `prefix` below directory `dir`, at any depth.
fn cgroups_named_starting(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    cgroups_below(dir, &|found| found.starts_with(prefix))
}

fn cgroups_below(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("a cgroup")
        .filter_map(Result::ok)
    {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if wanted(&entry.file_name().to_string_lossy()) {
                found.push(entry.path());
            }
            found.extend(cgroups_below(&entry.path(), wanted));
        }
    }
    found
}

/// Host pids of the processes in cgroup directory `dir` with one of `names`.
fn processes_named(dir: &Path, names: &[&str]) -> Vec<i32> {
    // A cgroup gone (its container ended) holds none.
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|pid| pid.parse().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| names.contains(&comm.trim()))
        })
        .collect()
}

/// Forks until one is refused (the shell ends there), each fork's pid into /tmp/forked.
const FORK_LOOP: &str = "i=0; while [ $i -lt 1000 ]; do sleep 600 >/dev/null 2>&1 & \
                         echo $! >> /tmp/forked; i=$((i+1)); done";

/// The guest's limit (in `limit_dir`, set from the host) holds for a container nested in it:
/// `fork_loop`, run in the guest, runs [`FORK_LOOP`] in `nested`, whose forks stop at the
/// guest's limit, and are counted in `nested`'s cgroup below the guest's. They are ended
/// from the host afterwards, to free the guest's pids; with `end_nested`, `nested`'s pid 1
/// too, when it is no init that reaps them (a zombie keeps its pid charged).
fn assert_guest_limit_holds(
    world: &World,
    guest: &str,
    limit_dir: &Path,
    fork_loop: &str,
    nested: &Inner,
    end_nested: bool,
) {
    let read_current = || -> u32 {
        support::read(limit_dir, "pids.current")
            .parse()
            .expect("pids.current")
    };
    let before = read_current();
    let forks = run_in_guest(world, guest, fork_loop);
    assert!(
        !forks.status.success(),
        "1000 forks under a limit of {GUEST_PIDS_MAX}"
    );
    let forked = std::fs::read_to_string(format!("/proc/{}/root/tmp/forked", nested.host_pid))
        .expect("the nested container's list of forks");
    let forked = forked.lines().count();
    let current = read_current();
    assert!(
        forked > 0 && current <= GUEST_PIDS_MAX,
        "{forked} forked; the guest's pids.current is {current}"
    );
    assert_eq!(
        support::read(limit_dir, "pids.max"),
        GUEST_PIDS_MAX.to_string()
    );
    let nested_dir = pids_dir(&nested.cgroup);
    let counted = support::read(&nested_dir, "cgroup.procs").lines().count();
    assert!(
        counted >= forked,
        "{counted} processes in {}",
        nested_dir.display()
    );
    // Each is a sleep, or a shell about to be one; their pids are free again for what the
    // test does next once reaped (a zombie leaves cgroup.procs but keeps its pid charged):
    // the guest is back to what it used before, give or take its own services.
    let forks = || -> Vec<i32> {
        processes_named(&nested_dir, &["sleep", "sh"])
            .into_iter()
            .filter(|pid| end_nested || *pid != nested.host_pid)
            .collect()
    };
    let deadline = std::time::Instant::now() + support::guest::BOOT_LIMIT;
    loop {
        let left = forks();
        if left.is_empty() && read_current() <= before + 16 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "forks left: {left:?}; the guest's pids.current is {} (before: {before})",
            read_current()
        );
        for pid in left {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).expect("pid"),
                rustix::process::Signal::KILL,
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A container nested in container `outer` (whose own processes are in cgroup `outer_ns`,
/// its inner tree), as the host sees it.
struct Inner {
    /// Its init's pid in `outer`'s pid namespace.
    pid: i32,
    /// Its init's pid on the host.
    host_pid: i32,
    /// Its init's cgroup (pids controller) on the host.
    cgroup: String,
}

impl Inner {
    /// The nested container whose pid 1 has pid `pid_command` prints in `outer`, named `comm`.
    fn find(world: &World, outer: &str, pid_command: &str, comm: &str) -> Inner {
        let pid: i32 = in_guest(world, outer, pid_command)
            .trim()
            .parse()
            .expect("the nested container's pid 1 in the outer container");
        let host_pid = host_pid_of_inner_init(pid).expect("the nested pid 1 in the host's /proc");
        let found = std::fs::read_to_string(format!("/proc/{host_pid}/comm")).expect("comm");
        assert_eq!(found.trim(), comm);
        Inner {
            pid,
            host_pid,
            cgroup: cgroup_of(host_pid, "pids"),
        }
    }
}

/// rlxc inside `outer` makes and starts `inner`, a busybox container of its own. The host sees
/// its init: pid 1 of a pid namespace below `outer`'s, in a cgroup below `outer_ns` — below
/// the cgroup the inner rlxc ran in (the attach's; `.lxc` on cgroup2), in the inner
/// container's own writable tree. An attach inside `outer` reaches it.
fn start_inner(world: &World, outer: &str, outer_ns: &str) -> Inner {
    in_guest(
        world,
        outer,
        "rlxc create -n inner -t busybox && rlxc start -n inner",
    );
    let inner = Inner::find(world, outer, "rlxc info -n inner -p -H", "init");
    let cgroup = &inner.cgroup;
    let below = cgroup
        .strip_prefix(&format!("{outer_ns}/"))
        .unwrap_or_else(|| panic!("the inner init's cgroup {cgroup} is not below {outer_ns}"));
    assert!(below.ends_with("rlxc.payload.inner/ns"), "{cgroup}");
    let attached = in_guest(
        world,
        outer,
        "rlxc attach -n inner -- /bin/sh -c 'hostname; echo $((6*7))'",
    );
    assert_eq!(
        attached.split_whitespace().collect::<Vec<_>>(),
        ["inner", "42"]
    );
    inner
}

/// The inner container stops from inside `outer`, and nothing of it is left: its init gone
/// from the host's process table, its cgroups gone from `outer_ns`'s tree.
fn stop_inner(world: &World, outer: &str, outer_ns: &str, inner: &Inner) {
    in_guest(world, outer, "rlxc stop -n inner -k");
    assert_eq!(
        in_guest(world, outer, "rlxc info -n inner -s -H").trim(),
        "STOPPED"
    );
    assert!(host_pid_of_inner_init(inner.pid).is_none());
    let left = cgroups_named(&pids_dir(outer_ns), "rlxc.payload.inner");
    assert!(left.is_empty(), "left: {left:?}");
}

#[test]
fn rlxc_runs_a_container_inside_a_nesting_guest_below_its_cgroups_and_its_limit() {
    let world = World::new();
    // The rlxc under test and the host's static busybox (for `rlxc create -t busybox`),
    // bound read-only into the guest, as an admin would install them there.
    let binds = format!(
        "lxc.mount.entry = {} usr/local/bin/rlxc none bind,ro,create=file 0 0\n\
         lxc.mount.entry = /bin/busybox usr/bin/busybox none bind,ro,create=file 0 0\n",
        support::RLXC
    );
    let (name, _guest) = nesting_guest(&world, "nest-rlxc", Guest::Systemd, &binds);
    start_nesting_guest(&world, &name);
    let guest_init = world.init_pid(&name);
    let guest_cgroup = cgroup_of(guest_init, "pids");
    let guest_ns = guest_cgroup
        .strip_suffix("/init.scope")
        .expect("systemd runs in init.scope of the guest's inner cgroup")
        .to_owned();
    assert!(guest_ns.ends_with("/ns"), "{guest_cgroup}");
    let limit_dir = support::cgroup_dir(guest_init, "pids");
    assert_eq!(
        support::read(&limit_dir, "pids.max"),
        GUEST_PIDS_MAX.to_string()
    );

    let inner = start_inner(&world, &name, &guest_ns);

    assert_guest_limit_holds(
        &world,
        &name,
        &limit_dir,
        &format!("rlxc attach -n inner --clear-env -- /bin/sh -c '{FORK_LOOP}'"),
        &inner,
        false,
    );

    stop_inner(&world, &name, &guest_ns, &inner);

    assert_ok(
        &world.output(&["stop", "-n", &name, "--nokill", "-t", "30"]),
        "graceful stop",
    );
    world.assert_nothing_left(&name);
}

/// rlxc inside a container rlxc made as it makes any (`rlxc create -t busybox`: writable
/// cgroups, rlxc's default seccomp policy, which denies keyctl and bpf). On a host whose
/// device rules are v1's the inner container starts — without a session keyring of its own,
/// which its filter would deny it anyway — under the outer container's seccomp filters and its
/// own stacked on them, and stops. On pure cgroup2 its device program needs bpf(2): start and
/// config check both refuse, saying so, until the outer container runs LXC's common.seccomp.
#[test]
fn rlxc_runs_a_container_inside_a_container_rlxc_made() {
    let world = World::new();
    let outer = world.busybox("nest-bb");
    world.append_config(
        &outer,
        &format!(
            "lxc.mount.entry = {} usr/bin/rlxc none bind,ro,create=file 0 0\n",
            support::RLXC
        ),
    );
    world.rlxc(&["start", "-n", &outer]).assert().success();
    if pure_cgroup2() {
        in_guest(&world, &outer, "rlxc create -n inner -t busybox");
        let reason = "bpf(2) is denied to rlxc itself";
        for verb in ["start", "config check"] {
            let output = run_in_guest(&world, &outer, &format!("rlxc {verb} -n inner"));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(!output.status.success(), "{verb}: {stderr}");
            assert!(stderr.contains(reason), "{verb}: {stderr}");
        }
        in_guest(&world, &outer, "rlxc destroy -n inner");
        world.rlxc(&["stop", "-n", &outer, "-k"]).assert().success();
        world.append_config(
            &outer,
            "lxc.seccomp.profile = /usr/share/lxc/config/common.seccomp\n",
        );
        world.rlxc(&["start", "-n", &outer]).assert().success();
    }
    let outer_init = world.init_pid(&outer);
    let outer_ns = cgroup_of(outer_init, "pids");
    assert!(outer_ns.ends_with("/ns"), "{outer_ns}");
    let filters = |pid: i32| -> usize {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("Seccomp_filters:"))
            .and_then(|n| n.trim().parse().ok())
            .expect("Seccomp_filters")
    };

    let inner = start_inner(&world, &outer, &outer_ns);
    // The host lists it below its container, as lxc-ls --nesting does: `OUTER/INNER`, its
    // state and its pid as the outer container sees them.
    let listed = world.output(&["ls", "--nesting", "-f", "-F", "NAME,STATE,PID"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    let row: Vec<&str> = text
        .lines()
        .find(|line| line.starts_with(&format!("{outer}/inner ")))
        .unwrap_or_else(|| panic!("no nested row: {text}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        [
            format!("{outer}/inner"),
            "RUNNING".into(),
            inner.pid.to_string()
        ]
    );
    let plain = world.output(&["ls", "--nesting=1"]);
    assert!(String::from_utf8_lossy(&plain.stdout)
        .lines()
        .any(|l| l == format!("{outer}/inner")));
    let flat = world.output(&["ls"]);
    assert!(!String::from_utf8_lossy(&flat.stdout).contains("/inner"));
    assert!(
        filters(inner.host_pid) > filters(outer_init),
        "the inner init runs under {} filters, the outer init under {}",
        filters(inner.host_pid),
        filters(outer_init)
    );
    stop_inner(&world, &outer, &outer_ns, &inner);

    world.rlxc(&["stop", "-n", &outer, "-k"]).assert().success();
    world.assert_nothing_left(&outer);
}

/// Debian's podman (4.3, with crun) inside a nesting guest runs a container on a root
/// filesystem made in the guest from its busybox-static (no registry is reachable: `--rootfs`
/// needs no image): the host sees the container's process as pid 1 of a namespace below the
/// guest's, in podman's cgroup (machine.slice/libpod-ID.scope) below the guest's ns tree;
/// `podman exec` reaches it, the guest's pids limit holds for it (the container ends with its
/// forks), and `podman rm -f` removes it and its cgroups.
#[test]
fn podman_runs_a_container_inside_a_nesting_guest_below_its_cgroups_and_its_limit() {
    let world = World::new();
    // podman's overlay storage refuses an overlayfs below it, and this guest's root is an
    // overlay view of the cached guest: its storage gets a tmpfs, as it would a disk.
    let storage = "lxc.mount.entry = tmpfs var/lib/containers tmpfs create=dir,mode=0700 0 0\n";
    let (name, _guest) = nesting_guest(&world, "nest-pod", Guest::SystemdWithPodman, storage);
    start_nesting_guest(&world, &name);
    let guest_init = world.init_pid(&name);
    let guest_ns = cgroup_of(guest_init, "pids")
        .strip_suffix("/init.scope")
        .expect("systemd runs in init.scope of the guest's inner cgroup")
        .to_owned();
    let limit_dir = support::cgroup_dir(guest_init, "pids");

    in_guest(
        &world,
        &name,
        "mkdir -p /srv/box/bin /srv/box/proc /srv/box/sys /srv/box/dev /srv/box/etc /srv/box/tmp && \
         cp /bin/busybox /srv/box/bin/ && \
         for a in $(/bin/busybox --list); do [ -e /srv/box/bin/$a ] || ln -s busybox /srv/box/bin/$a; done && \
         podman run -d --name box --network none --rootfs /srv/box /bin/sleep 600",
    );
    let boxed = Inner::find(
        &world,
        &name,
        "podman inspect -f '{{.State.Pid}}' box",
        "sleep",
    );
    let cgroup = &boxed.cgroup;
    let below = cgroup
        .strip_prefix(&format!("{guest_ns}/machine.slice/libpod-"))
        .unwrap_or_else(|| panic!("podman's container is in {cgroup}, not below {guest_ns}"));
    assert!(below.contains(".scope"), "{cgroup}");
    let exec = in_guest(&world, &name, "podman exec box /bin/sh -c 'echo $((6*7))'");
    assert_eq!(exec.trim(), "42");

    assert_guest_limit_holds(
        &world,
        &name,
        &limit_dir,
        &format!("podman exec box /bin/sh -c '{FORK_LOOP}'"),
        &boxed,
        // Its pid 1 is a sleep, which reaps none of them: the container ends with them.
        true,
    );

    in_guest(&world, &name, "podman rm -f box");
    assert!(host_pid_of_inner_init(boxed.pid).is_none());
    // systemd in the guest removes the scopes once their processes are gone.
    let deadline = std::time::Instant::now() + support::guest::BOOT_LIMIT;
    loop {
        let left = cgroups_named_starting(&pids_dir(&guest_ns), "libpod-");
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "left: {left:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    assert_ok(
        &world.output(&["stop", "-n", &name, "--nokill", "-t", "30"]),
        "graceful stop",
    );
    world.assert_nothing_left(&name);
}
