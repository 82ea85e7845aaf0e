//! A host device node given to a running container: the rule in its cgroup (v1's
//! `devices.allow`; on cgroup2 a program in place of the one its start attached, with the
//! rules it had and the new one), and the node made inside its mount namespace, owned by
//! the container's root. `del` undoes both (v1 `devices.deny`; on cgroup2 a deny rule).

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path};

use rlxc_cgroup::devices::{DeviceRule, DeviceType};
use rustix::fs::{FileType, Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, UnshareFlags};

use super::DeviceError;
use crate::state::StateFile;

pub(super) fn add(
    state: &mut StateFile,
    device: &str,
    name_inside: Option<&str>,
) -> Result<(), DeviceError> {
    let meta = fs::metadata(device).map_err(|cause| DeviceError::Node {
        step: "looking at",
        path: device.to_owned(),
        cause,
    })?;
    let kind = if meta.file_type().is_char_device() {
        DeviceType::Char
    } else if meta.file_type().is_block_device() {
        DeviceType::Block
    } else {
        return Err(DeviceError::NotADevice {
            path: device.to_owned(),
        });
    };
    let inside = checked_path(name_inside.unwrap_or(device))?;
    let owner = container_root(state.init.pid);
    if owner != (0, 0) {
        // Its /dev is a filesystem of its user namespace, where the kernel honours no
        // device node (and host root's ids are not mapped there to make one).
        return Err(DeviceError::Unprivileged {
            path: device.to_owned(),
        });
    }
    let rule = rule_of(true, kind, meta.rdev());
    apply_rule(state, rule)?;
    let file_type = match kind {
        DeviceType::Block => FileType::BlockDevice,
        _ => FileType::CharacterDevice,
    };
    let mode = Mode::from_bits_truncate(meta.mode() & 0o7777);
    in_mount_namespace(state.init.pid, move || {
        make_node(inside, file_type, mode, meta.rdev(), owner)
    })
}

pub(super) fn del(
    state: &mut StateFile,
    device: &str,
    name_inside: Option<&str>,
) -> Result<(), DeviceError> {
    let inside = checked_path(name_inside.unwrap_or(device))?;
    // The node inside says which device it is: the host's may be gone by now.
    let pid = state.init.pid;
    let found = in_mount_namespace(pid, {
        let inside = inside.clone();
        move || {
            let meta = fs::symlink_metadata(&inside).map_err(|cause| DeviceError::Node {
                step: "looking at",
                path: inside.clone(),
                cause,
            })?;
            let kind = if meta.file_type().is_char_device() {
                DeviceType::Char
            } else if meta.file_type().is_block_device() {
                DeviceType::Block
            } else {
                return Err(DeviceError::NotADevice { path: inside });
            };
            fs::remove_file(&inside).map_err(|cause| DeviceError::Node {
                step: "removing",
                path: inside.clone(),
                cause,
            })?;
            Ok((kind, meta.rdev()))
        }
    })?;
    apply_rule(state, rule_of(false, found.0, found.1))
}

fn rule_of(allow: bool, kind: DeviceType, rdev: u64) -> DeviceRule {
    DeviceRule {
        allow,
        kind,
        major: Some(rustix::fs::major(rdev)),
        minor: Some(rustix::fs::minor(rdev)),
        access: rlxc_cgroup::devices::ACCESS_MKNOD
            | rlxc_cgroup::devices::ACCESS_READ
            | rlxc_cgroup::devices::ACCESS_WRITE,
    }
}

/// Writes the rule where the container's devices are controlled, and records it.
fn apply_rule(state: &mut StateFile, rule: DeviceRule) -> Result<(), DeviceError> {
    let text = rule.to_v1().1;
    let failed = |cause| DeviceError::Cgroup {
        rule: text.clone(),
        cause,
    };
    let cgroups = state.container_cgroups();
    cgroups.write_device_rule_v1(&rule).map_err(failed)?;
    state.added.rules.push((rule.allow, text.clone()));
    if cgroups.unified_dir().is_some() {
        let mut rules = started_with(state).map_err(failed)?;
        for (allow, added) in &state.added.rules {
            rules.push(DeviceRule::parse(*allow, added).map_err(failed)?);
        }
        cgroups.replace_devices(&rules).map_err(failed)?;
    }
    Ok(())
}

/// The cgroup2 device rules the container's start put in its program: its config's and
/// rlxc's defaults, planned the way the start planned them.
fn started_with(state: &StateFile) -> Result<Vec<DeviceRule>, rlxc_cgroup::Error> {
    let config = state
        .effective
        .as_ref()
        .map(|effective| effective.config.as_slice())
        .unwrap_or_default();
    let pick = |prefix: &str| -> Vec<(String, String)> {
        config
            .iter()
            .filter_map(|(key, value)| {
                let file = key.strip_prefix(prefix)?;
                file.starts_with("devices.")
                    .then(|| (file.to_owned(), value.clone()))
            })
            .collect()
    };
    let layout = rlxc_cgroup::CgroupLayout::detect()?;
    let plan = rlxc_cgroup::LimitPlan::new(&layout, &pick("lxc.cgroup."), &pick("lxc.cgroup2."))?;
    Ok(plan.v2_devices)
}

/// An absolute path without `..`: it is looked up inside the container's root.
fn checked_path(path: &str) -> Result<String, DeviceError> {
    let bad = Path::new(path).is_relative()
        || Path::new(path)
            .components()
            .any(|c| matches!(c, Component::ParentDir));
    if bad {
        return Err(DeviceError::BadPath {
            path: path.to_owned(),
        });
    }
    Ok(path.to_owned())
}

/// The host uid and gid that are root in the container (itself for a privileged one).
fn container_root(pid: i32) -> (u32, u32) {
    let host_of_zero = |file: &str| {
        fs::read_to_string(format!("/proc/{pid}/{file}"))
            .ok()
            .and_then(|map| {
                map.lines().find_map(|line| {
                    let mut words = line.split_whitespace();
                    let inside: u32 = words.next()?.parse().ok()?;
                    let outside: u32 = words.next()?.parse().ok()?;
                    (inside == 0).then_some(outside)
                })
            })
            .unwrap_or(0)
    };
    (host_of_zero("uid_map"), host_of_zero("gid_map"))
}

fn make_node(
    path: String,
    file_type: FileType,
    mode: Mode,
    rdev: u64,
    (uid, gid): (u32, u32),
) -> Result<(), DeviceError> {
    let failed = |step: &'static str, path: &str| {
        let path = path.to_owned();
        move |cause: std::io::Error| DeviceError::Node { step, path, cause }
    };
    if let Some(parent) = Path::new(&path).parent() {
        fs::create_dir_all(parent).map_err(failed("making the directory of", &path))?;
    }
    rustix::fs::mknodat(rustix::fs::CWD, path.as_str(), file_type, mode, rdev)
        .map_err(|errno| failed("making", &path)(errno.into()))?;
    let owner = (
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
    );
    rustix::fs::chownat(
        rustix::fs::CWD,
        path.as_str(),
        owner.0,
        owner.1,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|errno| failed("giving the container's root", &path)(errno.into()))?;
    // mknod applies the umask; the host node's mode is wanted.
    rustix::fs::chmodat(
        rustix::fs::CWD,
        path.as_str(),
        mode,
        rustix::fs::AtFlags::empty(),
    )
    .map_err(|errno| failed("setting the mode of", &path)(errno.into()))
}

/// Runs `work` on a thread inside the mount namespace (and at the root) of `pid`: the
/// container's files as it sees them, with no host symlink to follow out of it. The thread
/// has its own root and cwd first (a thread sharing them may not change namespace), and the
/// namespace goes with the thread.
fn in_mount_namespace<T: Send>(
    pid: i32,
    work: impl FnOnce() -> Result<T, DeviceError> + Send,
) -> Result<T, DeviceError> {
    let namespace: OwnedFd = rustix::fs::open(
        format!("/proc/{pid}/ns/mnt"),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| DeviceError::Io {
        step: "opening the container's mount namespace",
        cause: errno.into(),
    })?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let step = |step: &'static str| {
                    move |errno: rustix::io::Errno| DeviceError::Io {
                        step,
                        cause: errno.into(),
                    }
                };
                // SAFETY: CLONE_FS only gives this thread its own root, cwd and umask.
                unsafe { rustix::thread::unshare_unsafe(UnshareFlags::FS) }
                    .map_err(step("unsharing the thread's filesystem context"))?;
                rustix::thread::move_into_link_name_space(
                    namespace.as_fd(),
                    Some(LinkNameSpaceType::Mount),
                )
                .map_err(step("entering the container's mount namespace"))?;
                rustix::process::chdir("/").map_err(step("chdir /"))?;
                work()
            })
            .join()
            .map_err(|_| DeviceError::Io {
                step: "the helper thread",
                cause: std::io::Error::other("panicked"),
            })?
    })
}
