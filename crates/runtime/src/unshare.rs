//! `rlxc unshare` / `lxc-unshare`: a command in new namespaces, cloned (as LXC: clone, not
//! unshare) with the namespaces asked for. The child waits on a pipe until the parent has
//! done its part — the uid map of a new user namespace, the interfaces moved into a new
//! network namespace — then sets the hostname, mounts /proc, /sys, /dev/shm and /dev/mqueue
//! (`-M`, in its own mount namespace, made private first so nothing reaches the host),
//! becomes the user and execs.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;

use rustix::mount::{MountFlags, MountPropagationFlags};

use crate::namespaces::Namespace;
use crate::process::fork::{clone3, exit_child, wait_for, ChildOutcome, Forked};

/// The names `-s` takes, LXC's and the `/proc/PID/ns` ones (any case), with their kinds.
const NAMES: [(&str, &str, Namespace); 8] = [
    ("MOUNT", "mnt", Namespace::Mount),
    ("PID", "pid", Namespace::Pid),
    ("UTSNAME", "uts", Namespace::Uts),
    ("IPC", "ipc", Namespace::Ipc),
    ("USER", "user", Namespace::User),
    ("NETWORK", "net", Namespace::Net),
    ("CGROUP", "cgroup", Namespace::Cgroup),
    ("TIME", "time", Namespace::Time),
];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnshareError {
    #[error("could not parse command line: {0:?} is not a namespace (MOUNT, PID, UTSNAME, IPC, USER, NETWORK, CGROUP, TIME)")]
    UnknownNamespace(String),
    #[error("A namespace to execute command is required")]
    NoNamespace,
    #[error("A command to execute in the new namespace is required")]
    NoCommand,
    #[error("{option} needs -s {namespace} option")]
    Needs {
        option: &'static str,
        namespace: &'static str,
    },
    #[error("no user {0} in /etc/passwd (and not a number)")]
    NoSuchUser(String),
    #[error("{step}: {cause}")]
    Io { step: String, cause: std::io::Error },
    #[error("moving {link} into the new network namespace: {cause}")]
    Link {
        link: String,
        cause: rlxc_net::Error,
    },
}

/// Parses `MOUNT|PID|...` into the namespaces asked for.
pub fn parse_namespaces(list: &str) -> Result<Vec<Namespace>, UnshareError> {
    let mut kinds = Vec::new();
    for word in list.split('|').map(str::trim).filter(|w| !w.is_empty()) {
        let kind = NAMES
            .iter()
            .find(|(lxc, short, _)| {
                word.eq_ignore_ascii_case(lxc) || word.eq_ignore_ascii_case(short)
            })
            .map(|(_, _, kind)| *kind)
            .ok_or_else(|| UnshareError::UnknownNamespace(word.to_owned()))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// What to run, and how.
#[derive(Debug, Clone, Default)]
pub struct Unshare {
    pub namespaces: Vec<Namespace>,
    /// `-u`: a user name or number.
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub interfaces: Vec<String>,
    pub daemonize: bool,
    pub remount: bool,
    pub command: Vec<OsString>,
}

/// How it ended: the command's exit status (128 + the signal that killed it), or 0 at once
/// for `-d`.
pub fn run(request: &Unshare) -> Result<i32, UnshareError> {
    let has = |kind| request.namespaces.contains(&kind);
    if request.command.is_empty() {
        return Err(UnshareError::NoCommand);
    }
    if request.namespaces.is_empty() {
        return Err(UnshareError::NoNamespace);
    }
    let needs = |asked: bool, option, kind, namespace| {
        if asked && !has(kind) {
            return Err(UnshareError::Needs { option, namespace });
        }
        Ok(())
    };
    needs(
        !request.interfaces.is_empty(),
        "-i <interfacename>",
        Namespace::Net,
        "NETWORK",
    )?;
    needs(
        request.hostname.is_some(),
        "-H <hostname>",
        Namespace::Uts,
        "UTSNAME",
    )?;
    needs(request.remount, "-M", Namespace::Mount, "MOUNT")?;
    let user = request.user.as_deref().map(lookup_user).transpose()?;
    let io = |step: &str| {
        let step = step.to_owned();
        move |cause| UnshareError::Io { step, cause }
    };
    let (mut go_read, mut go_write) = std::io::pipe().map_err(io("making the start pipe"))?;
    let flags = request
        .namespaces
        .iter()
        .fold(0u64, |flags, kind| flags | kind.clone_flag() as u32 as u64);
    match clone3(flags, None).map_err(io("cloning into the new namespaces"))? {
        Forked::Child => {
            drop(go_write);
            let mut byte = [0u8; 1];
            // EOF without the byte: the parent failed and said so.
            if !matches!(go_read.read(&mut byte), Ok(1)) {
                exit_child(1);
            }
            drop(go_read);
            let (error, code) = child(request, user, has(Namespace::User));
            eprintln!("rlxc unshare: {error}");
            exit_child(code);
        }
        Forked::Parent { pid, pidfd: _ } => {
            drop(go_read);
            let prepared = prepare(request, pid, user, has(Namespace::User));
            if let Err(error) = prepared {
                drop(go_write);
                let _ = wait_for(pid);
                return Err(error);
            }
            go_write
                .write_all(b"1")
                .map_err(io("starting the command"))?;
            drop(go_write);
            if request.daemonize {
                return Ok(0);
            }
            match wait_for(pid).map_err(io("waiting for the command"))? {
                ChildOutcome::Exited(code) => Ok(code),
                ChildOutcome::KilledBySignal(signal) => Ok(128 + signal),
            }
        }
    }
}

/// The parent's part: `-u` in a new user namespace maps that uid to the caller's (as LXC;
/// without `-u` no map is written, and the command is the overflow user), `-i` interfaces.
fn prepare(
    request: &Unshare,
    pid: i32,
    user: Option<(u32, u32)>,
    new_user_ns: bool,
) -> Result<(), UnshareError> {
    if let (true, Some((uid, _))) = (new_user_ns, user) {
        let map = format!("{uid} {} 1\n", rustix::process::getuid().as_raw());
        std::fs::write(format!("/proc/{pid}/uid_map"), map).map_err(|cause| UnshareError::Io {
            step: "writing the uid map".into(),
            cause,
        })?;
    }
    if !request.interfaces.is_empty() {
        let netns =
            File::open(format!("/proc/{pid}/ns/net")).map_err(|cause| UnshareError::Io {
                step: "opening the new network namespace".into(),
                cause,
            })?;
        for link in &request.interfaces {
            move_link(link, &netns).map_err(|cause| UnshareError::Link {
                link: link.clone(),
                cause,
            })?;
        }
    }
    Ok(())
}

fn move_link(name: &str, netns: &File) -> Result<(), rlxc_net::Error> {
    let mut host = rlxc_net::Netlink::open()?;
    let index = rlxc_net::link::index_by_name(&mut host, name)?;
    let change = rlxc_net::link::Change {
        netns: Some(netns.as_fd()),
        ..Default::default()
    };
    rlxc_net::link::change(&mut host, index, name, &change)
}

/// The child's part, in the new namespaces; returns only on failure, with the exit code (a
/// shell's: 127 for a command not found, 126 for one that cannot run, else 1).
fn child(request: &Unshare, user: Option<(u32, u32)>, new_user_ns: bool) -> (UnshareError, i32) {
    let failed = |step: &str| {
        let step = step.to_owned();
        move |errno: rustix::io::Errno| UnshareError::Io {
            step,
            cause: errno.into(),
        }
    };
    let steps = || -> Result<(), UnshareError> {
        if request.namespaces.contains(&Namespace::Mount) {
            rustix::mount::mount_change(
                "/",
                MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
            )
            .map_err(failed("making the mounts private"))?;
        }
        if let Some(name) = &request.hostname {
            rustix::system::sethostname(name.as_bytes()).map_err(failed("setting the hostname"))?;
        }
        if request.remount {
            remount().map_err(|(what, errno)| failed(what)(errno))?;
        }
        if let Some((uid, gid)) = user {
            if !new_user_ns {
                // The user's group and no supplementary ones, not root's.
                rustix::thread::set_thread_groups(&[]).map_err(failed("dropping groups"))?;
                rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))
                    .map_err(failed("setgid"))?;
            }
            rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))
                .map_err(failed("setuid"))?;
        }
        Ok(())
    };
    if let Err(error) = steps() {
        return (error, 1);
    }
    let program = &request.command[0];
    let error = std::process::Command::new(program)
        .args(&request.command[1..])
        .exec();
    let code = if error.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    let error = UnshareError::Io {
        step: format!("exec {}", program.to_string_lossy()),
        cause: error,
    };
    (error, code)
}

/// `-M`: the new namespaces' own /proc, /sys and /dev/mqueue, and a fresh /dev/shm, where
/// the host has those directories.
fn remount() -> Result<(), (&'static str, rustix::io::Errno)> {
    let none = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    let mounts: [(&str, &str, &str, MountFlags, &'static str); 4] = [
        ("proc", "/proc", "proc", none, "mounting /proc"),
        ("sysfs", "/sys", "sysfs", none, "mounting /sys"),
        (
            "shm",
            "/dev/shm",
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            "mounting /dev/shm",
        ),
        (
            "mqueue",
            "/dev/mqueue",
            "mqueue",
            none,
            "mounting /dev/mqueue",
        ),
    ];
    for (source, target, fstype, flags, what) in mounts {
        if !std::path::Path::new(target).is_dir() {
            continue;
        }
        match rustix::mount::mount(source, target, fstype, flags, None) {
            // The same filesystem is there already: the namespace it shows (pid for /proc,
            // network for /sys, ipc for /dev/mqueue) was not asked to be new.
            Err(rustix::io::Errno::BUSY) => {}
            other => other.map_err(|e| (what, e))?,
        }
    }
    Ok(())
}

/// A user name from /etc/passwd, or a number: its uid and primary gid.
fn lookup_user(user: &str) -> Result<(u32, u32), UnshareError> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = |matches: &dyn Fn(&str, u32) -> bool| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let uid = fields.get(2)?.parse().ok()?;
            let gid = fields.get(3)?.parse().ok()?;
            matches(fields[0], uid).then_some((uid, gid))
        })
    };
    if let Some(found) = entry(&|name, _| name == user) {
        return Ok(found);
    }
    let uid: u32 = user
        .parse()
        .map_err(|_| UnshareError::NoSuchUser(user.to_owned()))?;
    Ok(entry(&|_, id| id == uid).unwrap_or((uid, uid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_names_are_lxcs_and_the_short_ones() {
        assert_eq!(
            parse_namespaces("MOUNT|PID|UTSNAME|IPC|NETWORK|USER|CGROUP").expect("parses"),
            [
                Namespace::Mount,
                Namespace::Pid,
                Namespace::Uts,
                Namespace::Ipc,
                Namespace::Net,
                Namespace::User,
                Namespace::Cgroup
            ]
        );
        assert_eq!(
            parse_namespaces("mnt|net").expect("parses"),
            [Namespace::Mount, Namespace::Net]
        );
        assert!(matches!(
            parse_namespaces("MOUNT|FOO"),
            Err(UnshareError::UnknownNamespace(word)) if word == "FOO"
        ));
    }
}
