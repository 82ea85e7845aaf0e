//! From the config's option words to `mount(2)` flags.

use rustix::mount::{MountFlags, MountPropagationFlags};

use rlxc_config::values::{MountFlag, Propagation};

/// The flags of one entry, split by how they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryFlags {
    /// Per-mount and superblock flags (`ro`, `nosuid`, `relatime`, ...), without bind/rec.
    pub(crate) flags: MountFlags,
    pub(crate) bind: bool,
    pub(crate) recursive: bool,
    pub(crate) remount: bool,
}

impl EntryFlags {
    /// Later words win, as with mount(8): `ro,rw` is read-write.
    pub(crate) fn from_words(words: impl IntoIterator<Item = MountFlag>) -> Self {
        let mut out = Self {
            flags: MountFlags::empty(),
            bind: false,
            recursive: false,
            remount: false,
        };
        for word in words {
            let (set, clear) = match word {
                MountFlag::Ro => (MountFlags::RDONLY, MountFlags::empty()),
                MountFlag::Rw => (MountFlags::empty(), MountFlags::RDONLY),
                MountFlag::Nosuid => (MountFlags::NOSUID, MountFlags::empty()),
                MountFlag::Suid => (MountFlags::empty(), MountFlags::NOSUID),
                MountFlag::Nodev => (MountFlags::NODEV, MountFlags::empty()),
                MountFlag::Dev => (MountFlags::empty(), MountFlags::NODEV),
                MountFlag::Noexec => (MountFlags::NOEXEC, MountFlags::empty()),
                MountFlag::Exec => (MountFlags::empty(), MountFlags::NOEXEC),
                MountFlag::Sync => (MountFlags::SYNCHRONOUS, MountFlags::empty()),
                MountFlag::Async => (MountFlags::empty(), MountFlags::SYNCHRONOUS),
                MountFlag::Mand => (
                    MountFlags::PERMIT_MANDATORY_FILE_LOCKING,
                    MountFlags::empty(),
                ),
                MountFlag::Nomand => (
                    MountFlags::empty(),
                    MountFlags::PERMIT_MANDATORY_FILE_LOCKING,
                ),
                MountFlag::Dirsync => (MountFlags::DIRSYNC, MountFlags::empty()),
                MountFlag::Noatime => (MountFlags::NOATIME, MountFlags::empty()),
                MountFlag::Atime => (MountFlags::empty(), MountFlags::NOATIME),
                MountFlag::Nodiratime => (MountFlags::NODIRATIME, MountFlags::empty()),
                MountFlag::Diratime => (MountFlags::empty(), MountFlags::NODIRATIME),
                MountFlag::Relatime => (MountFlags::RELATIME, MountFlags::empty()),
                MountFlag::Norelatime => (MountFlags::empty(), MountFlags::RELATIME),
                MountFlag::Strictatime => (MountFlags::STRICTATIME, MountFlags::empty()),
                MountFlag::Lazytime => (MountFlags::LAZYTIME, MountFlags::empty()),
                MountFlag::Silent => (MountFlags::SILENT, MountFlags::empty()),
                MountFlag::Loud => (MountFlags::empty(), MountFlags::SILENT),
                MountFlag::Bind => {
                    out.bind = true;
                    continue;
                }
                MountFlag::Rbind => {
                    out.bind = true;
                    out.recursive = true;
                    continue;
                }
                MountFlag::Remount => {
                    out.remount = true;
                    continue;
                }
                // rw,suid,dev,exec,async: what an empty flag set already means.
                MountFlag::Defaults => continue,
            };
            out.flags = (out.flags | set) - clear;
        }
        out
    }

    /// True when a bind mount needs a second, `MS_REMOUNT|MS_BIND` call: mount(2) ignores
    /// every flag but `MS_REC` when it makes a bind mount.
    pub(crate) fn bind_needs_remount(&self) -> bool {
        !(self.flags - MountFlags::SILENT).is_empty()
    }
}

/// `rshared` and friends.
pub(crate) fn propagation(p: Propagation) -> MountPropagationFlags {
    let rec = MountPropagationFlags::REC;
    match p {
        Propagation::Private => MountPropagationFlags::PRIVATE,
        Propagation::Rprivate => MountPropagationFlags::PRIVATE | rec,
        Propagation::Shared => MountPropagationFlags::SHARED,
        Propagation::Rshared => MountPropagationFlags::SHARED | rec,
        Propagation::Slave => MountPropagationFlags::DOWNSTREAM,
        Propagation::Rslave => MountPropagationFlags::DOWNSTREAM | rec,
        Propagation::Unbindable => MountPropagationFlags::UNBINDABLE,
        Propagation::Runbindable => MountPropagationFlags::UNBINDABLE | rec,
    }
}

/// `lxc.rootfs.options` for a directory rootfs: only per-mount flags mean anything on a
/// bind mount, so filesystem data (`size=`) and `idmap=` are refused rather than ignored.
pub(crate) fn rootfs_option_flags(options: &str) -> Result<MountFlags, String> {
    let mut words = Vec::new();
    for word in options.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word.starts_with("idmap=") {
            return Err("idmapped rootfs mounts (idmap=) are not supported yet".into());
        }
        match MountFlag::from_word(word).filter(|f| f.name() == word) {
            Some(flag) => words.push(flag),
            None => {
                return Err(format!(
                    "'{word}' is not a mount flag; a directory rootfs takes flags such as ro, nodev, nosuid, noexec"
                ))
            }
        }
    }
    let parsed = EntryFlags::from_words(words);
    if parsed.remount {
        return Err("'remount' makes no sense for the rootfs".into());
    }
    Ok(parsed.flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MountFlag::*;

    #[test]
    fn later_words_win() {
        let f = EntryFlags::from_words([Ro, Nosuid, Rw, Rbind]);
        assert_eq!(f.flags, MountFlags::NOSUID);
        assert!(f.bind && f.recursive && !f.remount);
        assert!(f.bind_needs_remount());
        let plain = EntryFlags::from_words([Defaults, Bind]);
        assert!(plain.bind && !plain.recursive && !plain.bind_needs_remount());
    }

    #[test]
    fn rootfs_options() {
        assert_eq!(
            rootfs_option_flags("ro, nodev"),
            Ok(MountFlags::RDONLY | MountFlags::NODEV)
        );
        assert_eq!(rootfs_option_flags(""), Ok(MountFlags::empty()));
        assert!(rootfs_option_flags("size=1m")
            .unwrap_err()
            .contains("size=1m"));
        assert!(rootfs_option_flags("idmap=container")
            .unwrap_err()
            .contains("not supported"));
    }
}
