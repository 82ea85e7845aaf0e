//! Step 6: `lxc.mount.entry` and `lxc.mount.fstab`, in order.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rlxc_config::values::{MountEntry, Propagation};
use rustix::mount as rmount;

use super::fdmount;
use super::flags::{propagation, EntryFlags};
use super::resolve::RootDir;
use super::RootfsError;

/// An `optional` entry that failed and was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedMount {
    /// The entry as written.
    pub entry: String,
    pub reason: String,
}

/// One line of an fstab file, with its line number (from 1) for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabLine {
    pub line: usize,
    pub entry: MountEntry,
}

/// Reads an `lxc.mount.fstab` file: one entry per line, blank lines and `#` comments skipped.
/// The first bad line is an error naming the file and line.
pub fn read_fstab(path: &Path) -> Result<Vec<FstabLine>, RootfsError> {
    let text = fs::read_to_string(path).map_err(|cause| RootfsError::FstabRead {
        path: path.to_path_buf(),
        cause,
    })?;
    parse_fstab(path, &text)
}

pub(crate) fn parse_fstab(path: &Path, text: &str) -> Result<Vec<FstabLine>, RootfsError> {
    let mut lines = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry = line
            .parse::<MountEntry>()
            .map_err(|e| RootfsError::FstabLine {
                path: PathBuf::from(path),
                line: index + 1,
                reason: e.to_string(),
            })?;
        lines.push(FstabLine {
            line: index + 1,
            entry,
        });
    }
    Ok(lines)
}

/// An entry's propagation options, with its mount (an `O_PATH` fd on the mount's root), to be
/// set again once the container's mounts have all been made shared after the pivot
/// ([`reapply_propagation`]): that recursive change would otherwise override them.
pub(crate) struct EntryPropagation {
    entry: String,
    mount_root: OwnedFd,
    options: Vec<Propagation>,
}

/// What [`mount_entries`] leaves: the skipped `optional` entries, and the entries' own
/// propagation for after the pivot.
pub(crate) struct MountedEntries {
    pub(crate) skipped: Vec<SkippedMount>,
    pub(crate) propagation: Vec<EntryPropagation>,
}

/// Mounts every entry in order. A failing `optional` entry is skipped and reported back; a
/// target with `..` is refused even when optional, since it is a config error, not a
/// mount that happened to fail.
pub(crate) fn mount_entries(
    root: &RootDir,
    entries: &[MountEntry],
) -> Result<MountedEntries, RootfsError> {
    let mut skipped = Vec::new();
    let mut propagation = Vec::new();
    for entry in entries {
        let refused = |reason: String| RootfsError::MountEntry {
            entry: entry.to_string(),
            reason,
        };
        if entry.target_escapes() {
            return Err(refused(
                "the target has a '..' component, which could leave the rootfs".into(),
            ));
        }
        if entry.idmap().is_some() {
            return Err(refused(
                "idmapped mounts (idmap=) are not supported yet".into(),
            ));
        }
        match mount_entry(root, entry) {
            Ok(Some(mount_root)) => propagation.push(EntryPropagation {
                entry: entry.to_string(),
                mount_root,
                options: entry.propagation().collect(),
            }),
            Ok(None) => {}
            Err(reason) if entry.optional() => skipped.push(SkippedMount {
                entry: entry.to_string(),
                reason,
            }),
            Err(reason) => return Err(refused(reason)),
        }
    }
    Ok(MountedEntries {
        skipped,
        propagation,
    })
}

/// After the pivot and the container-wide `MS_SHARED|MS_REC`: each entry's own propagation
/// options again, in order, on the very mount the entry made (even where a later mount
/// covers it). The change is made on `.` after an `fchdir` to the mount's root, which needs
/// no /proc in the container (the fd's magic link would).
pub(crate) fn reapply_propagation(mounts: Vec<EntryPropagation>) -> Result<(), RootfsError> {
    if mounts.is_empty() {
        return Ok(());
    }
    for mount in &mounts {
        let failed = |reason: String| RootfsError::MountEntry {
            entry: mount.entry.clone(),
            reason,
        };
        rustix::process::fchdir(&mount.mount_root)
            .map_err(|e| failed(format!("entering the mount to set its propagation: {e}")))?;
        for p in &mount.options {
            rmount::mount_change(".", propagation(*p))
                .map_err(|e| failed(format!("setting {p} propagation after the pivot: {e}")))?;
        }
    }
    rustix::process::chdir("/").map_err(|e| RootfsError::PivotRoot {
        step: "chdir / after the entries' propagation",
        cause: e.into(),
    })
}

const READ_ONLY: rustix::mount::MountFlags = rustix::mount::MountFlags::RDONLY;

/// One entry: resolve (and maybe create) the target inside the rootfs, mount onto it, then
/// fix up what mount(2) cannot do in one call (flags of a bind, propagation). Returns the
/// mount's root when the entry has propagation options, for [`reapply_propagation`].
fn mount_entry(root: &RootDir, entry: &MountEntry) -> Result<Option<OwnedFd>, String> {
    let flags = EntryFlags::from_words(entry.flags());
    let target = root
        .resolve(&entry.target, entry.create())
        .map_err(|e| format!("target: {e}"))?;
    // `relative`: the source lives in the rootfs too, so it is resolved the same way.
    let relative_source = match entry.relative() {
        true => Some(
            root.resolve(&entry.source, None)
                .map_err(|e| format!("source: {e}"))?,
        ),
        false => None,
    };
    let source = match &relative_source {
        Some(fd) => fdmount::fd_path(fd),
        None => entry.source.clone(),
    };
    let mut read_only_afterwards = false;
    let mounted = if flags.bind {
        fdmount::bind(&source, &target, flags.recursive)
    } else {
        let mut mount_flags = flags.flags;
        if flags.remount {
            mount_flags |= rustix::mount::MountFlags::from_bits_retain(libc::MS_REMOUNT as _);
        }
        match fdmount::mount_new(&source, &target, &entry.fstype, mount_flags, &entry.data()) {
            // sysfs (and proc) share one superblock per namespace: when it is already
            // mounted read-write (lxc.mount.auto, or the seed's own proc/sysfs lines after
            // it), asking for `ro` is EBUSY. Mount it as it is, then make this mount
            // read-only with a bind remount, which is a per-mount flag.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && flags.flags.contains(READ_ONLY) => {
                read_only_afterwards = true;
                fdmount::mount_new(
                    &source,
                    &target,
                    &entry.fstype,
                    mount_flags - READ_ONLY,
                    &entry.data(),
                )
            }
            other => other,
        }
    };
    mounted.map_err(|e| format!("mounting {source}: {e}"))?;
    let needs_remount = (flags.bind && flags.bind_needs_remount()) || read_only_afterwards;
    if !needs_remount && entry.propagation().next().is_none() {
        return Ok(None);
    }
    let mount_root = root
        .resolve(&entry.target, None)
        .map_err(|e| format!("reopening the target: {e}"))?;
    if needs_remount {
        fdmount::remount_bind(&mount_root, flags.flags)
            .map_err(|e| format!("remounting the bind with its flags: {e}"))?;
    }
    for p in entry.propagation() {
        fdmount::change_propagation(&mount_root, propagation(p))
            .map_err(|e| format!("setting {p} propagation: {e}"))?;
    }
    Ok(entry.propagation().next().is_some().then_some(mount_root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_lines_keep_their_numbers() {
        let text = "# comment\n\nproc proc proc nodev 0 0\n  tmpfs run tmpfs size=1m\n";
        let lines = parse_fstab(Path::new("/x/fstab"), text).unwrap();
        assert_eq!(lines.iter().map(|l| l.line).collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(lines[1].entry.data(), "size=1m");
    }

    #[test]
    fn a_bad_fstab_line_is_named() {
        let e = parse_fstab(Path::new("/x/fstab"), "proc proc proc\nbroken\n").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("lxc.mount.fstab /x/fstab line 2: "),
            "{text}"
        );
    }
}
