//! `rlxc unshare` / `lxc-unshare`: each namespace asked for is new (its /proc/PID/ns inode
//! differs from ours, seen from outside) and the others are ours; -H, -M, -u, -i, -d; and the
//! outputs and exit codes LXC's lxc-unshare gives for the same command lines.

mod support;

use std::os::unix::fs::MetadataExt;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{TestNetns, World, RLXC};

const KINDS: [(&str, &str); 7] = [
    ("MOUNT", "mnt"),
    ("PID", "pid"),
    ("UTSNAME", "uts"),
    ("IPC", "ipc"),
    ("NETWORK", "net"),
    ("USER", "user"),
    ("CGROUP", "cgroup"),
];

fn ns_inode(pid: &str, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{kind}: {e}"))
        .ino()
}

/// The command rlxc cloned: its only child, once there.
fn only_child(parent: &Child) -> String {
    let file = format!("/proc/{0}/task/{0}/children", parent.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let children = std::fs::read_to_string(&file).unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            return pid.to_owned();
        }
        assert!(Instant::now() < deadline, "no child of rlxc unshare");
        std::thread::sleep(Duration::from_millis(10));
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn each_namespace_asked_for_is_new_and_no_other() {
    for (index, (flag, kind)) in KINDS.iter().enumerate() {
        // One alone, and with the next one: the list is |-separated.
        let (next_flag, next_kind) = KINDS[(index + 1) % KINDS.len()];
        for asked in [
            vec![(*flag, *kind)],
            vec![(*flag, *kind), (next_flag, next_kind)],
        ] {
            let list: Vec<&str> = asked.iter().map(|(flag, _)| *flag).collect();
            let child = Command::new(RLXC)
                .args(["unshare", "-s", &list.join("|"), "--", "sleep", "60"])
                .spawn()
                .expect("rlxc unshare");
            let child = Killed(child);
            let pid = only_child(&child.0);
            for (_, probe) in KINDS {
                let new = asked.iter().any(|(_, kind)| *kind == probe);
                assert_eq!(
                    ns_inode(&pid, probe) != ns_inode("self", probe),
                    new,
                    "-s {} : {probe}",
                    list.join("|")
                );
            }
        }
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(RLXC)
        .arg("unshare")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("rlxc unshare")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn hostname_mounts_user_and_exit_status() {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    let named = run(&[
        "-s",
        "UTSNAME",
        "-H",
        "unshared",
        "--",
        "cat",
        "/proc/sys/kernel/hostname",
    ]);
    assert_eq!(stdout(&named), "unshared\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname"),
        host
    );

    // -M: a /proc of the new pid namespace (pid 1 and the few after it), a /sys of the new
    // network namespace (only lo); the host's mounts stay as they were.
    let mounts_before = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mounted = run(&[
        "-s",
        "MOUNT|PID|NETWORK|IPC",
        "-M",
        "--",
        "sh",
        "-c",
        "ls /proc | grep -c '^[0-9]'; ls /sys/class/net; grep -c ' /dev/mqueue ' /proc/self/mountinfo",
    ]);
    assert!(mounted.status.success(), "{mounted:?}");
    let lines: Vec<String> = stdout(&mounted).lines().map(str::to_owned).collect();
    let pids: u32 = lines[0].parse().expect("a count");
    assert!(pids <= 4, "{lines:?}");
    assert_eq!(&lines[1..], ["lo", "1"]);
    assert_eq!(
        std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo"),
        mounts_before
    );

    // -u in a new user namespace: that uid is the caller's; without it, the overflow user.
    let mapped = run(&[
        "-s",
        "USER",
        "-u",
        "0",
        "--",
        "sh",
        "-c",
        "cat /proc/self/uid_map; id -u",
    ]);
    let text = stdout(&mapped);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words, ["0", "0", "1", "0"]);
    assert_eq!(stdout(&run(&["-s", "USER", "--", "id", "-u"])), "65534\n");
    // -u on its own: that user, with its group.
    assert_eq!(
        stdout(&run(&[
            "-s",
            "PID",
            "-u",
            "nobody",
            "--",
            "sh",
            "-c",
            "id -u; id -G"
        ])),
        "65534\n65534\n"
    );

    assert_eq!(
        run(&["-s", "PID", "--", "sh", "-c", "exit 3"])
            .status
            .code(),
        Some(3)
    );
    assert_eq!(
        run(&["-s", "PID", "--", "no-such-command"]).status.code(),
        Some(127)
    );
}

#[test]
fn an_interface_moves_into_the_new_network_namespace() {
    let netns = TestNetns::new();
    netns.ip(&[
        "link", "add", "vun0", "type", "veth", "peer", "name", "vun1",
    ]);
    let inside = Command::new("nsenter")
        .arg(format!("--net=/run/netns/{}", netns.name))
        .args([
            RLXC,
            "unshare",
            "-s",
            "NETWORK|MOUNT",
            "-M",
            "-i",
            "vun0",
            "--",
            "ls",
            "/sys/class/net",
        ])
        .output()
        .expect("nsenter rlxc");
    // /sys mounted afresh (-M) shows the new namespace's links.
    assert_eq!(stdout(&inside), "lo\nvun0\n", "{inside:?}");
    // Both ends go with the namespace (a veth dies with its namespace, and its peer): the
    // kernel cleans a namespace up in the background, a moment after its last process.
    let deadline = Instant::now() + Duration::from_secs(20);
    while netns.links() != ["lo"] {
        assert!(Instant::now() < deadline, "{:?}", netns.links());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn daemonized_it_returns_at_once() {
    let world = World::new();
    let marker = world.dir.path().join("ran");
    let script = format!("sleep 0.3; echo ran > {}", marker.display());
    let started = Instant::now();
    // The command keeps our stdio (as LXC's): not a pipe this test would wait on.
    let status = Command::new(RLXC)
        .args(["unshare", "-s", "UTSNAME", "-d", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("rlxc unshare");
    assert!(status.success());
    assert!(started.elapsed() < Duration::from_millis(300));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the daemonized command did not run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Called as lxc-unshare, the outputs and exit codes of LXC's tool for the same lines
/// (where LXC's exit status is meant: success, and 1 for a refused command line).
#[test]
fn the_same_as_lxcs_lxc_unshare() {
    let world = World::new();
    let link = world.dir.path().join("lxc-unshare");
    std::os::unix::fs::symlink(RLXC, &link).expect("link");
    let lines: [&[&str]; 8] = [
        &["-s", "UTSNAME", "-H", "same", "--", "hostname"],
        &[
            "-s",
            "USER",
            "-u",
            "1000",
            "--",
            "cat",
            "/proc/self/uid_map",
        ],
        &["-s", "USER", "--", "id", "-u"],
        &["-s", "PID", "--", "sh", "-c", "echo $$"],
        &["-s", "MOUNT|mnt|net", "--", "true"],
        &["-s", "PID", "-H", "x", "--", "true"],
        &["-s", "PID"],
        &["--", "true"],
    ];
    for args in lines {
        let ours = Command::new(&link).args(args).output().expect("ours");
        let lxcs = Command::new("lxc-unshare")
            .args(args)
            .output()
            .expect("lxc-unshare");
        assert_eq!(stdout(&ours), stdout(&lxcs), "{args:?}");
        assert_eq!(ours.status.code(), lxcs.status.code(), "{args:?}");
    }
}
