//! The `debian` template: a Debian tree made by debootstrap, as LXC's `lxc-debian` makes it,
//! kept in a cache (`CACHE/debian/RELEASE/ARCH/VARIANT-KEY/rootfs`, KEY naming the packages
//! and mirror) and copied for each container.

use std::fs::{self, File};
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// What `-t debian -- ...` asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianRequest {
    pub release: String,
    /// Debian's name (amd64, arm64, ...).
    pub arch: String,
    pub packages: Vec<String>,
    pub mirror: String,
    /// debootstrap's `--variant` (minbase by default, as LXC's template).
    pub variant: String,
    pub cache_dir: PathBuf,
}

/// A debootstrapped tree in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianTree {
    pub rootfs: PathBuf,
    pub release: String,
    pub arch: String,
}

/// Held until the tree is copied, so no other create replaces it meanwhile.
#[derive(Debug)]
pub struct TreeLock {
    _file: File,
}

pub const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";

/// Installed into every tree, before `--packages`: an init (systemd, as `init` pulls it on
/// Debian), the network tools and, for DHCP and DNS on `eth0`, systemd's own networkd
/// (configured below) and resolved. LXC's template installs ifupdown and dhclient instead,
/// whose `auto eth0` fails the boot of a container without a network; and openssh-server,
/// left out here: every copy of the cached tree would share its host keys.
pub const BASE_PACKAGES: &[&str] = &[
    "init",
    "iproute2",
    "netbase",
    "ca-certificates",
    "dbus",
    "systemd-resolved",
];

/// DHCP on `eth0` when the container has one (LXC's default veth, `rlxc net`'s bridge);
/// nothing to wait for or fail when it has none.
const ETH0_NETWORK: &str = "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DebianError {
    #[error("{what} {value:?} is not valid here")]
    BadField { what: &'static str, value: String },
    #[error(
        "debootstrap {release} ({arch}) from {mirror} failed ({status}); its last words:\n{tail}"
    )]
    Debootstrap {
        release: String,
        arch: String,
        mirror: String,
        status: String,
        tail: String,
    },
    #[error("cannot run debootstrap (apt-get install debootstrap): {0}")]
    NoDebootstrap(io::Error),
    #[error("copying the Debian tree {from} failed: {reason}")]
    Copy { from: PathBuf, reason: String },
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
}

fn io_error(step: &'static str, path: &Path) -> impl FnOnce(io::Error) -> DebianError {
    let path = path.to_path_buf();
    move |cause| DebianError::Io { step, path, cause }
}

/// This machine's Debian architecture name.
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

fn check(request: &DebianRequest) -> Result<(), DebianError> {
    let word = |value: &str| {
        !value.is_empty()
            && !value.starts_with(['.', '-'])
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
    };
    for (what, value) in [
        ("release", &request.release),
        ("architecture", &request.arch),
        ("variant", &request.variant),
    ] {
        if !word(value) {
            return Err(DebianError::BadField {
                what,
                value: value.clone(),
            });
        }
    }
    if let Some(package) = request.packages.iter().find(|p| !word(p)) {
        return Err(DebianError::BadField {
            what: "package",
            value: package.clone(),
        });
    }
    if !(request.mirror.starts_with("http://") || request.mirror.starts_with("https://"))
        || request.mirror.chars().any(char::is_whitespace)
    {
        return Err(DebianError::BadField {
            what: "mirror",
            value: request.mirror.clone(),
        });
    }
    Ok(())
}

/// The cached tree for `request`, debootstrapped now if there is none.
/// `progress` gets debootstrap's steps while it runs.
pub fn obtain(
    request: &DebianRequest,
    progress: &mut dyn FnMut(&str),
) -> Result<(TreeLock, DebianTree), DebianError> {
    check(request)?;
    let mut packages: Vec<String> = BASE_PACKAGES.iter().map(|p| p.to_string()).collect();
    packages.extend(request.packages.iter().cloned());
    packages.sort();
    packages.dedup();
    let key: String = Sha256::digest(format!("{}\n{}", packages.join(","), request.mirror))
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    let parent = request
        .cache_dir
        .join("debian")
        .join(&request.release)
        .join(&request.arch);
    fs::create_dir_all(&parent).map_err(io_error("making the cache", &parent))?;
    let slot = format!("{}-{key}", request.variant);
    let lock_path = parent.join(format!(".{slot}.lock"));
    let file = crate::lock::lock_exclusive(&lock_path, || false)
        .map_err(io_error("locking", &lock_path))?;
    let done = parent.join(&slot);
    let tree = DebianTree {
        rootfs: done.join("rootfs"),
        release: request.release.clone(),
        arch: request.arch.clone(),
    };
    if tree.rootfs.is_dir() {
        return Ok((TreeLock { _file: file }, tree));
    }
    // debootstrap into a directory of its own, renamed into place when it succeeded.
    let partial = parent.join(format!(".{slot}.partial"));
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(io_error("removing", &partial))?;
    }
    fs::create_dir_all(&partial).map_err(io_error("making", &partial))?;
    let mut command = Command::new("debootstrap");
    command
        .arg(format!("--variant={}", request.variant))
        .arg(format!("--arch={}", request.arch));
    if !packages.is_empty() {
        command.arg(format!("--include={}", packages.join(",")));
    }
    command
        .arg(&request.release)
        .arg(partial.join("rootfs"))
        .arg(&request.mirror);
    let (status, text) =
        run_showing_steps(command, progress).map_err(DebianError::NoDebootstrap)?;
    if !status.success() {
        let _ = fs::remove_dir_all(&partial);
        let lines: Vec<&str> = text.lines().collect();
        return Err(DebianError::Debootstrap {
            release: request.release.clone(),
            arch: request.arch.clone(),
            mirror: request.mirror.clone(),
            status: status.to_string(),
            tail: lines[lines.len().saturating_sub(15)..].join("\n"),
        });
    }
    // Its package downloads are of no use in the cache.
    let archives = partial.join("rootfs/var/cache/apt/archives");
    if let Ok(entries) = fs::read_dir(&archives) {
        for entry in entries.filter_map(Result::ok) {
            if entry.path().extension().is_some_and(|e| e == "deb") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let configured = enable_networkd(&partial.join("rootfs"));
    if let Err(error) = configured {
        let _ = fs::remove_dir_all(&partial);
        return Err(error);
    }
    fs::rename(&partial, &done).map_err(io_error("moving into place", &done))?;
    Ok((TreeLock { _file: file }, tree))
}

/// Runs debootstrap with its stdout and stderr in one pipe, handing each of its `I: ` step
/// lines (`I: Retrieving Packages`, `I: Extracting libc6...`) to `progress` as they come;
/// returns its status and everything it wrote (for the error).
fn run_showing_steps(
    mut command: Command,
    progress: &mut dyn FnMut(&str),
) -> io::Result<(std::process::ExitStatus, String)> {
    let (reader, writer) = io::pipe()?;
    command
        .stdin(std::process::Stdio::null())
        .stdout(writer.try_clone()?)
        .stderr(writer);
    let mut child = command.spawn()?;
    // The command holds our copies of the write end: without them, the read below ends when
    // debootstrap (and whatever it started) has exited.
    drop(command);
    let mut text = String::new();
    let mut reader = io::BufReader::new(reader);
    let mut raw = Vec::new();
    // Bytes, not `lines()`: a message that is not UTF-8 (a mirror's, a localised tool's) must
    // not end the read while debootstrap runs on, unwaited, into the cache.
    let read = loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) => break Ok(()),
            Ok(_) => {
                let line = String::from_utf8_lossy(&raw);
                let line = line.strip_suffix('\n').unwrap_or(&line);
                if let Some(step) = line.strip_prefix("I: ") {
                    progress(step);
                }
                text.push_str(line);
                text.push('\n');
            }
            Err(error) => break Err(error),
        }
    };
    if let Err(error) = read {
        // Not left running (and writing) after we return and the cache lock goes.
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }
    Ok((child.wait()?, text))
}

/// `eth0` by DHCP through systemd-networkd, enabled as `systemctl enable` would (its links).
fn enable_networkd(rootfs: &Path) -> Result<(), DebianError> {
    let network = rootfs.join("etc/systemd/network/eth0.network");
    if let Some(dir) = network.parent() {
        fs::create_dir_all(dir).map_err(io_error("making", dir))?;
    }
    fs::write(&network, ETH0_NETWORK).map_err(io_error("writing", &network))?;
    for (wants, unit) in [
        ("multi-user.target.wants", "systemd-networkd.service"),
        ("sockets.target.wants", "systemd-networkd.socket"),
    ] {
        let dir = rootfs.join("etc/systemd/system").join(wants);
        fs::create_dir_all(&dir).map_err(io_error("making", &dir))?;
        let link = dir.join(unit);
        if !link.exists() {
            std::os::unix::fs::symlink(format!("/lib/systemd/system/{unit}"), &link)
                .map_err(io_error("enabling", &link))?;
        }
    }
    Ok(())
}

/// Copies the cached tree into the new container's rootfs (owners, modes, links, devices,
/// xattrs: `cp -a`), and names the system as LXC's template does.
pub(crate) fn fill(tree: &DebianTree, rootfs: &Path, name: &str) -> Result<String, DebianError> {
    let output = Command::new("cp")
        .args(["-a", "--one-file-system"])
        .arg(&tree.rootfs)
        .arg(rootfs)
        .output()
        .map_err(|cause| DebianError::Copy {
            from: tree.rootfs.clone(),
            reason: cause.to_string(),
        })?;
    if !output.status.success() {
        return Err(DebianError::Copy {
            from: tree.rootfs.clone(),
            reason: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    for (file, text) in [
        ("etc/hostname", format!("{name}\n")),
        (
            "etc/hosts",
            format!("127.0.0.1 localhost\n127.0.1.1 {name}\n\n::1 localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n"),
        ),
    ] {
        let path = rootfs.join(file);
        // Replaced, never written through: a link there stays out of the picture.
        let _ = fs::remove_file(&path);
        fs::write(&path, text).map_err(io_error("writing", &path))?;
    }
    let arch = match tree.arch.as_str() {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "i386" => "i686",
        other => other,
    };
    Ok(format!(
        "lxc.include = /usr/share/lxc/config/debian.common.conf\nlxc.arch = {arch}\n"
    ))
}

/// A debootstrapped tree in the cache, as `rlxc images` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeInfo {
    pub release: String,
    pub arch: String,
    /// `VARIANT-KEY`: the variant, and a hash of the packages and mirror.
    pub slot: String,
    pub size: u64,
    pub dir: PathBuf,
}

/// Every complete tree in the cache.
pub fn list_trees(root: &Path) -> Vec<TreeInfo> {
    let visible = |dir: &Path| -> Vec<PathBuf> {
        fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default()
    };
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut trees = Vec::new();
    for release in visible(&root.join("debian")) {
        for arch in visible(&release) {
            for slot in visible(&arch) {
                if slot.join("rootfs").is_dir() {
                    trees.push(TreeInfo {
                        release: name(&release),
                        arch: name(&arch),
                        slot: name(&slot),
                        size: tree_size(&slot),
                        dir: slot,
                    });
                }
            }
        }
    }
    trees.sort_by(|a, b| a.dir.cmp(&b.dir));
    trees
}

/// Removes one cached tree, waiting for a create that copies it. False if there is none.
pub fn remove_tree(
    root: &Path,
    release: &str,
    arch: &str,
    slot: &str,
) -> Result<bool, DebianError> {
    let plain = |s: &str| !s.is_empty() && !s.starts_with('.') && !s.contains('/');
    if ![release, arch, slot].iter().all(|s| plain(s)) {
        return Ok(false);
    }
    let parent = root.join("debian").join(release).join(arch);
    let dir = parent.join(slot);
    if !dir.join("rootfs").is_dir() {
        return Ok(false);
    }
    let lock_path = parent.join(format!(".{slot}.lock"));
    let _held = crate::lock::lock_exclusive(&lock_path, || false)
        .map_err(io_error("locking", &lock_path))?;
    fs::remove_dir_all(&dir).map_err(io_error("removing", &dir))?;
    Ok(true)
}

/// Bytes in regular files below `dir`, not following links or crossing mounts.
fn tree_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map(|m| m.len()).unwrap_or(0),
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_that_is_not_utf8_is_kept_and_the_steps_after_it_still_shown() {
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "printf 'I: Retrieving\\n' >&2; printf 'caf\\351 \\377\\n'; \
             printf 'I: Extracting\\n' >&2; exit 3",
        ]);
        let mut steps = Vec::new();
        let (status, text) =
            run_showing_steps(command, &mut |step| steps.push(step.to_string())).expect("runs");
        assert_eq!(status.code(), Some(3), "{text}");
        assert_eq!(steps, ["Retrieving", "Extracting"]);
        assert!(text.contains("caf\u{fffd} \u{fffd}\n"), "{text}");
    }
}
