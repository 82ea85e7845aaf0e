//! `rlxc usernsexec` / `lxc-usernsexec`: a command as root in a new user namespace (and a
//! new mount namespace, owned by it), with the maps of `-m` or, by default, the caller's
//! first `/etc/subuid` and `/etc/subgid` ranges mapped to 0. `-s` also maps the caller's own
//! uid and gid, just above the range that holds 0. Root writes the maps itself; anyone else
//! has them written by newuidmap and newgidmap (setuid root, which check the ranges against
//! /etc/subuid and /etc/subgid): the one place where writing them needs another program.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;

use rlxc_config::values::{IdKind, IdMap};
use rustix::mount::MountPropagationFlags;
use rustix::thread::UnshareFlags;

use crate::process::fork::{clone3, exit_child, wait_for, ChildOutcome, Forked};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsernsexecError {
    #[error("{0:?}: a map is [u|g|b]:ns_id:host_id:range")]
    BadMap(String),
    #[error("Failed to find subuid or subgid allocation: {0}")]
    NoDefault(String),
    #[error("Failed to write id mapping for child process: {0}")]
    Map(String),
    #[error("{step}: {cause}")]
    Io { step: String, cause: std::io::Error },
}

/// Parses one `-m` value: `b` gives a uid and a gid map.
pub fn parse_map(text: &str) -> Result<Vec<IdMap>, UsernsexecError> {
    let bad = || UsernsexecError::BadMap(text.to_owned());
    let fields: Vec<&str> = text.split(':').collect();
    let [which, ns, host, range] = fields[..] else {
        return Err(bad());
    };
    let number = |field: &str| field.parse::<u32>().map_err(|_| bad());
    let (ns, host, range) = (number(ns)?, number(host)?, number(range)?);
    let kinds: &[IdKind] = match which {
        "u" => &[IdKind::Uid],
        "g" => &[IdKind::Gid],
        "b" => &[IdKind::Uid, IdKind::Gid],
        _ => return Err(bad()),
    };
    Ok(kinds
        .iter()
        .map(|&kind| IdMap {
            kind,
            container_first: ns,
            host_first: host,
            count: range,
        })
        .collect())
}

/// The maps to use: those given, else the caller's delegated ranges at 0; with `map_self`
/// the caller's ids added above the range that holds 0.
pub fn maps_for(given: Vec<IdMap>, map_self: bool) -> Result<Vec<IdMap>, UsernsexecError> {
    let mut maps = given;
    if maps.is_empty() {
        let uid = rustix::process::getuid().as_raw();
        let name = user_name(uid).unwrap_or_else(|| uid.to_string());
        for (kind, file) in [(IdKind::Uid, "/etc/subuid"), (IdKind::Gid, "/etc/subgid")] {
            let range = crate::userns::subid_range(std::path::Path::new(file), &name, uid)
                .map_err(|error| {
                    UsernsexecError::NoDefault(match error {
                        crate::userns::SubidError::NoRange { path, user } => format!(
                            "{} delegates no range to {user} (add a line such as \
                             {user}:100000:65536 to /etc/subuid and /etc/subgid, or give \
                             the maps with -m)",
                            path.display()
                        ),
                        other => other.to_string(),
                    })
                })?;
            maps.push(IdMap {
                kind,
                container_first: 0,
                host_first: range.first,
                count: range.count,
            });
        }
    }
    if map_self {
        let above = |kind| {
            maps.iter().filter(|m| m.kind == kind).fold(0u32, |id, m| {
                if id >= m.container_first && id - m.container_first < m.count {
                    id.saturating_add(m.count)
                } else {
                    id
                }
            })
        };
        let (nsuid, nsgid) = (above(IdKind::Uid), above(IdKind::Gid));
        maps.push(IdMap {
            kind: IdKind::Gid,
            container_first: nsgid,
            host_first: rustix::process::getgid().as_raw(),
            count: 1,
        });
        maps.push(IdMap {
            kind: IdKind::Uid,
            container_first: nsuid,
            host_first: rustix::process::getuid().as_raw(),
            count: 1,
        });
    }
    Ok(maps)
}

fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

/// Runs `command` (else /bin/sh) as root in a new user and mount namespace with `maps`; the
/// command's exit status (128 + a signal that killed it).
pub fn run(maps: &[IdMap], command: &[OsString]) -> Result<i32, UsernsexecError> {
    let io = |step: &str| {
        let step = step.to_owned();
        move |cause| UsernsexecError::Io { step, cause }
    };
    let (mut go_read, mut go_write) = std::io::pipe().map_err(io("making the start pipe"))?;
    let flags = (libc::CLONE_NEWUSER | libc::CLONE_NEWNS) as u64;
    match clone3(flags, None).map_err(io("cloning into a new user namespace"))? {
        Forked::Child => {
            drop(go_write);
            let mut byte = [0u8; 1];
            // EOF without the byte: the parent could not write the maps, and said so.
            if !matches!(go_read.read(&mut byte), Ok(1)) {
                exit_child(1);
            }
            drop(go_read);
            let (error, code) = child(command);
            eprintln!("rlxc usernsexec: {error}");
            exit_child(code);
        }
        Forked::Parent { pid, pidfd: _ } => {
            drop(go_read);
            if let Err(error) = write_maps(pid, maps) {
                drop(go_write);
                let _ = wait_for(pid);
                return Err(error);
            }
            go_write
                .write_all(b"1")
                .map_err(io("starting the command"))?;
            drop(go_write);
            match wait_for(pid).map_err(io("waiting for the command"))? {
                ChildOutcome::Exited(code) => Ok(code),
                ChildOutcome::KilledBySignal(signal) => Ok(128 + signal),
            }
        }
    }
}

fn write_maps(pid: i32, maps: &[IdMap]) -> Result<(), UsernsexecError> {
    let of = |kind| maps.iter().filter(move |m| m.kind == kind);
    if rustix::process::geteuid().is_root() {
        for (kind, file) in [(IdKind::Uid, "uid_map"), (IdKind::Gid, "gid_map")] {
            let text: String = of(kind)
                .map(|m| format!("{} {} {}\n", m.container_first, m.host_first, m.count))
                .collect();
            if text.is_empty() {
                continue;
            }
            // One write: the kernel takes a map file's text once.
            std::fs::write(format!("/proc/{pid}/{file}"), text)
                .map_err(|e| UsernsexecError::Map(format!("{file}: {e}")))?;
        }
        return Ok(());
    }
    for (kind, helper) in [(IdKind::Uid, "newuidmap"), (IdKind::Gid, "newgidmap")] {
        let args: Vec<String> = of(kind)
            .flat_map(|m| [m.container_first, m.host_first, m.count])
            .map(|n| n.to_string())
            .collect();
        if args.is_empty() {
            continue;
        }
        let output = std::process::Command::new(helper)
            .arg(pid.to_string())
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| UsernsexecError::Map(format!("running {helper}: {e}")))?;
        if !output.status.success() {
            return Err(UsernsexecError::Map(format!(
                "{helper} {pid} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
    }
    Ok(())
}

/// The child's part: root of the new namespace, in a mount namespace of its own (owned by
/// it, so it may mount) that receives no more of the host's mounts than it sees; then the
/// exec. Returns only on failure, with the exit code (127 not found, 126 not runnable, 1).
fn child(command: &[OsString]) -> (UsernsexecError, i32) {
    let failed = |step: &str| {
        let step = step.to_owned();
        move |cause: std::io::Error| UsernsexecError::Io { step, cause }
    };
    let steps = || -> Result<(), UsernsexecError> {
        // EPERM where the maps' writer set setgroups to deny (newgidmap may): nothing to drop.
        match rustix::thread::set_thread_groups(&[]) {
            Ok(()) | Err(rustix::io::Errno::PERM) => {}
            Err(e) => return Err(failed("dropping groups")(e.into())),
        }
        let (gid, uid) = (
            rustix::process::Gid::from_raw(0),
            rustix::process::Uid::from_raw(0),
        );
        rustix::thread::set_thread_res_gid(gid, gid, gid)
            .map_err(|e| failed("becoming gid 0 (is 0 mapped?)")(e.into()))?;
        rustix::thread::set_thread_res_uid(uid, uid, uid)
            .map_err(|e| failed("becoming uid 0 (is 0 mapped?)")(e.into()))?;
        // SAFETY: only a new mount namespace; the caller is the single-threaded child.
        unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWNS) }
            .map_err(|e| failed("unsharing the mount namespace")(e.into()))?;
        rustix::mount::mount_change(
            "/",
            MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC,
        )
        .map_err(|e| failed("making the mounts dependent")(e.into()))?;
        Ok(())
    };
    if let Err(error) = steps() {
        return (error, 1);
    }
    let default = [OsString::from("/bin/sh")];
    let command = if command.is_empty() {
        &default[..]
    } else {
        command
    };
    let error = std::process::Command::new(&command[0])
        .args(&command[1..])
        .exec();
    let code = if error.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    let error = UsernsexecError::Io {
        step: format!("exec {}", command[0].to_string_lossy()),
        cause: error,
    };
    (error, code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kind: IdKind, ns: u32, host: u32, count: u32) -> IdMap {
        IdMap {
            kind,
            container_first: ns,
            host_first: host,
            count,
        }
    }

    #[test]
    fn maps_parse_as_lxcs() {
        assert_eq!(
            parse_map("b:0:100000:65536").expect("parses"),
            [
                map(IdKind::Uid, 0, 100000, 65536),
                map(IdKind::Gid, 0, 100000, 65536)
            ]
        );
        assert_eq!(
            parse_map("g:1:5:2").expect("parses"),
            [map(IdKind::Gid, 1, 5, 2)]
        );
        for bad in ["x:0:1:1", "u:0:1", "u:0:1:1:1", "u:a:1:1"] {
            assert!(parse_map(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn self_goes_above_the_range_of_zero() {
        let maps = maps_for(
            vec![
                map(IdKind::Uid, 0, 100000, 1000),
                map(IdKind::Gid, 0, 100000, 10),
            ],
            true,
        )
        .expect("maps");
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        assert!(maps.contains(&map(IdKind::Uid, 1000, uid, 1)));
        assert!(maps.contains(&map(IdKind::Gid, 10, gid, 1)));
    }
}
