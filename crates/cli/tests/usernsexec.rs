//! `rlxc usernsexec` / `lxc-usernsexec`: the command is root in a new user namespace (and a
//! new mount namespace) with the maps asked for, written directly by root and through
//! newuidmap/newgidmap (Debian's uidmap) by anyone else; -s adds the caller's own ids; and
//! the outputs and exit codes of LXC's tool where both can run.

mod support;

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output, Stdio};

use support::{World, RLXC};

fn rlxc(args: &[&str]) -> Output {
    Command::new(RLXC)
        .arg("usernsexec")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("rlxc usernsexec")
}

/// The words of the output: `/proc/self/uid_map` pads its columns.
fn words(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

fn ns(pid: &str, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .expect("ns")
        .ino()
}

#[test]
fn root_inside_with_the_maps_given() {
    let output = rlxc(&[
        "-m",
        "u:0:100000:65536",
        "-m",
        "g:0:200000:1000",
        "--",
        "sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; \
         stat -L -c %i /proc/self/ns/user /proc/self/ns/mnt",
    ]);
    assert!(output.status.success(), "{output:?}");
    let seen = words(&output);
    assert_eq!(
        seen[..8],
        ["0", "0", "0", "100000", "65536", "0", "200000", "1000"]
    );
    // New user and mount namespaces (their inodes are the same wherever they are read).
    assert_ne!(seen[8].parse::<u64>().expect("inode"), ns("self", "user"));
    assert_ne!(seen[9].parse::<u64>().expect("inode"), ns("self", "mnt"));

    // b is both; -s adds the caller's ids (root's here) just above the range of 0.
    let output = rlxc(&[
        "-m",
        "b:0:100000:10",
        "-s",
        "--",
        "cat",
        "/proc/self/uid_map",
        "/proc/self/gid_map",
    ]);
    assert_eq!(
        words(&output),
        ["0", "100000", "10", "10", "0", "1", "0", "100000", "10", "10", "0", "1"]
    );

    // Without a command, /bin/sh (reading stdin); the command's exit status.
    let mut shell = Command::new(RLXC)
        .args(["usernsexec", "-m", "b:0:100000:10"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rlxc usernsexec");
    use std::io::Write;
    shell
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"id -u; exit 5\n")
        .expect("write");
    let output = shell.wait_with_output().expect("wait");
    assert_eq!(words(&output), ["0"]);
    assert_eq!(output.status.code(), Some(5));

    let bad = rlxc(&["-m", "x:0:1:1", "--", "true"]);
    assert_eq!(bad.status.code(), Some(1));
}

/// As an ordinary user (nobody), the maps go through newuidmap and newgidmap, which allow
/// one's own id and refuse ranges /etc/subuid does not delegate — as for LXC's tool.
#[test]
fn an_ordinary_user_maps_through_newuidmap_as_lxcs_does() {
    assert!(
        std::path::Path::new("/usr/bin/newuidmap").exists(),
        "newuidmap is missing: install uidmap"
    );
    let world = World::new();
    let link = world.dir.path().join("lxc-usernsexec");
    std::os::unix::fs::symlink(RLXC, &link).expect("link");
    // nobody must reach the link and the binary it names.
    std::fs::set_permissions(
        world.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let as_nobody = |program: &str, args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", program])
            .args(args)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .expect("setpriv")
    };
    let script = "id -u; cat /proc/self/uid_map /proc/self/gid_map";
    let link = link.display().to_string();
    for args in [
        &["-m", "b:0:65534:1", "--", "sh", "-c", script][..],
        &["-m", "b:0:100000:1", "--", "true"][..],
        &[
            "-m",
            "u:0:65534:1",
            "-m",
            "g:0:65534:1",
            "--",
            "sh",
            "-c",
            "exit 3",
        ][..],
    ] {
        let ours = as_nobody(&link, args);
        let lxcs = as_nobody("lxc-usernsexec", args);
        assert_eq!(words(&ours), words(&lxcs), "{args:?}");
        assert_eq!(ours.status.code(), lxcs.status.code(), "{args:?}: {ours:?}");
    }
    let mapped = as_nobody(&link, &["-m", "b:0:65534:1", "--", "sh", "-c", script]);
    assert_eq!(words(&mapped), ["0", "0", "65534", "1", "0", "65534", "1"]);
}

/// Without -m: the caller's first ranges of /etc/subuid and /etc/subgid, at 0; without
/// any, the refusal LXC gives.
#[test]
fn the_default_maps_are_the_callers_delegated_ranges() {
    let first = |file: &str| {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() == 3 && (fields[0] == "root" || fields[0] == "0"))
                    .then(|| (fields[1].to_owned(), fields[2].to_owned()))
            })
    };
    let output = rlxc(&["--", "cat", "/proc/self/uid_map", "/proc/self/gid_map"]);
    match (first("/etc/subuid"), first("/etc/subgid")) {
        (Some((uid, uids)), Some((gid, gids))) => {
            assert_eq!(words(&output), ["0", &uid, &uids, "0", &gid, &gids]);
        }
        _ => {
            assert_eq!(output.status.code(), Some(1));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("Failed to find subuid or subgid allocation"),
                "{stderr}"
            );
            let lxcs = Command::new("lxc-usernsexec")
                .args(["--", "true"])
                .output()
                .expect("lxc-usernsexec");
            assert_eq!(lxcs.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&lxcs.stderr)
                .contains("Failed to find subuid or subgid allocation"));
        }
    }
}
