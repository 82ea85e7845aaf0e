//! Backing stores of a container's rootfs, one module per kind, and the small API that
//! `create`, `start`, `destroy` and the copies use.
//!
//! | `lxc.rootfs.path` | [`Backend`] | made by `create -B` | at start |
//! |---|---|---|---|
//! | `PATH`, `dir:PATH` | [`Backend::Dir`] | a directory | bound onto itself |
//! | `overlay:LOWER:UPPER` (`overlayfs:` too) | [`Backend::Overlay`] | (by `copy -s`) | an overlay, workdir `UPPER/../work` |
//! | `btrfs:PATH` | [`Backend::Btrfs`] | a subvolume ([`btrfs::create_subvolume`]) | a directory, bound as `dir` |
//! | `loop:IMAGE` | [`Backend::Loop`] | an image file with a filesystem ([`image::make`]) | attached to a free loop device (autoclear), its filesystem mounted |
//! | `lvm:`, `zfs:`, `rbd:`, `nbd:` | refused: [`ParseError::Unavailable`] says what this host lacks | | |
//!
//! The API for the others:
//! - [`Backend::parse`] reads `lxc.rootfs.path` as LXC does; [`Backend::to_string`] writes it back.
//! - [`mount::mount_detached`] makes the rootfs of an `overlay` or `loop` store as a detached
//!   mount (an fd from `fsmount`), for the caller to attach with `move_mount` where it wants.
//! - [`btrfs::is_btrfs`], [`btrfs::create_subvolume`], [`btrfs::snapshot`] (a copy-on-write
//!   clone of a subvolume, `BTRFS_IOC_SNAP_CREATE_V2`), [`btrfs::is_subvolume`],
//!   [`btrfs::destroy_subvolume`]: the kernel's ioctls, no `btrfs` binary.
//! - [`image::make`] makes a loop image (sparse file + `mkfs.TYPE`), [`loopdev::attach`] a
//!   loop device through `/dev/loop-control` and `LOOP_CONFIGURE`, no `losetup`.

pub mod btrfs;
pub mod image;
pub mod loopdev;
pub mod mount;
pub mod overlay;
mod sys;

use std::fmt;
use std::path::{Path, PathBuf};

pub use overlay::Overlay;

/// Where a container's rootfs lives, as `lxc.rootfs.path` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A directory: `PATH` or `dir:PATH`.
    Dir(PathBuf),
    /// `overlay:LOWER:UPPER`: LOWER read-only, changes in UPPER.
    Overlay(Overlay),
    /// `btrfs:PATH`: a subvolume, used as a directory.
    Btrfs(PathBuf),
    /// `loop:IMAGE`: an image file holding a filesystem.
    Loop(PathBuf),
}

/// The kinds `create -B` and the copies name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    Overlay,
    Btrfs,
    Loop,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Dir => "dir",
            Kind::Overlay => "overlay",
            Kind::Btrfs => "btrfs",
            Kind::Loop => "loop",
        }
    }
}

/// LXC's kinds that rlxc refuses, each for a reason the host is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    Lvm,
    Zfs,
    Rbd,
    Nbd,
}

impl Unavailable {
    pub fn name(self) -> &'static str {
        match self {
            Unavailable::Lvm => "lvm",
            Unavailable::Zfs => "zfs",
            Unavailable::Rbd => "rbd",
            Unavailable::Nbd => "nbd",
        }
    }

    /// What the kind needs of the kernel, and the file that shows it.
    fn needs(self) -> (&'static str, &'static str) {
        match self {
            Unavailable::Lvm => ("device-mapper", "/dev/mapper/control"),
            Unavailable::Zfs => ("ZFS", "/dev/zfs"),
            Unavailable::Rbd => ("the Ceph RBD driver", "/sys/bus/rbd"),
            Unavailable::Nbd => ("the network block device driver", "/sys/module/nbd"),
        }
    }

    /// Why it is refused here: what the host lacks (looked up under `root`, `/` outside
    /// tests), or, where the host has it, that rlxc does not drive it.
    pub fn reason_under(self, root: &Path) -> String {
        let (what, shown_by) = self.needs();
        let present = root
            .join(shown_by.trim_start_matches('/'))
            .symlink_metadata()
            .is_ok();
        if present {
            format!(
                "the {} backing store is not supported by rlxc (this host has {what})",
                self.name()
            )
        } else {
            format!(
                "the {} backing store needs {what}, which this host lacks (no {shown_by}); \
                 rlxc does not support it either",
                self.name()
            )
        }
    }

    pub fn reason(self) -> String {
        self.reason_under(Path::new("/"))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    #[error("{}", .kind.reason())]
    Unavailable { kind: Unavailable },
    #[error(
        "not an absolute path, nor TYPE:PATH with a type rlxc knows (dir, overlay, btrfs, loop)"
    )]
    Unknown,
    #[error("{kind}: {path:?} is not an absolute path")]
    Relative { kind: &'static str, path: String },
    #[error("overlay needs LOWER:UPPER, two absolute paths")]
    OverlayPaths,
}

impl Backend {
    /// Reads `lxc.rootfs.path` as LXC does (`storage.c`, `overlay.c`): a plain absolute path
    /// is a directory; `TYPE:` picks the store.
    pub fn parse(value: &str) -> Result<Backend, ParseError> {
        if value.starts_with('/') {
            return Ok(Backend::Dir(PathBuf::from(value)));
        }
        let Some((kind, rest)) = value.split_once(':') else {
            return Err(ParseError::Unknown);
        };
        let absolute = |kind: &'static str| {
            if rest.starts_with('/') {
                Ok(PathBuf::from(rest))
            } else {
                Err(ParseError::Relative {
                    kind,
                    path: rest.to_string(),
                })
            }
        };
        match kind {
            "dir" => absolute("dir").map(Backend::Dir),
            "btrfs" => absolute("btrfs").map(Backend::Btrfs),
            "loop" => absolute("loop").map(Backend::Loop),
            // LXC takes the old `overlayfs:` spelling and writes `overlay:`.
            "overlay" | "overlayfs" => Overlay::parse(rest).map(Backend::Overlay),
            "lvm" => Err(ParseError::Unavailable {
                kind: Unavailable::Lvm,
            }),
            "zfs" => Err(ParseError::Unavailable {
                kind: Unavailable::Zfs,
            }),
            "rbd" => Err(ParseError::Unavailable {
                kind: Unavailable::Rbd,
            }),
            "nbd" => Err(ParseError::Unavailable {
                kind: Unavailable::Nbd,
            }),
            _ => Err(ParseError::Unknown),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Backend::Dir(_) => Kind::Dir,
            Backend::Overlay(_) => Kind::Overlay,
            Backend::Btrfs(_) => Kind::Btrfs,
            Backend::Loop(_) => Kind::Loop,
        }
    }

    /// The directory that is the rootfs on the host, for the kinds that have one (`dir`,
    /// `btrfs`); `overlay` and `loop` have one only once mounted.
    pub fn directory(&self) -> Option<&Path> {
        match self {
            Backend::Dir(path) | Backend::Btrfs(path) => Some(path),
            Backend::Overlay(_) | Backend::Loop(_) => None,
        }
    }

    /// True when the rootfs must be mounted (not bound) at start: see [`mount::mount_detached`].
    pub fn needs_mount(&self) -> bool {
        self.directory().is_none()
    }

    /// The host path that holds the container's own data: the directory, the overlay's
    /// upper, the loop image.
    pub fn own_data(&self) -> &Path {
        match self {
            Backend::Dir(path) | Backend::Btrfs(path) | Backend::Loop(path) => path,
            Backend::Overlay(overlay) => &overlay.upper,
        }
    }
}

/// Written back as LXC writes it: `dir` as a plain path.
impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Backend::Dir(path) => write!(f, "{}", path.display()),
            Backend::Overlay(overlay) => write!(
                f,
                "overlay:{}:{}",
                overlay.lower.display(),
                overlay.upper.display()
            ),
            Backend::Btrfs(path) => write!(f, "btrfs:{}", path.display()),
            Backend::Loop(path) => write!(f, "loop:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lxc_spellings() {
        let dir = Backend::Dir(PathBuf::from("/srv/web/rootfs"));
        assert_eq!(Backend::parse("/srv/web/rootfs"), Ok(dir.clone()));
        assert_eq!(Backend::parse("dir:/srv/web/rootfs"), Ok(dir));
        let overlay = Backend::parse("overlay:/srv/base/rootfs:/srv/web/overlay/delta").unwrap();
        assert_eq!(
            overlay.to_string(),
            "overlay:/srv/base/rootfs:/srv/web/overlay/delta"
        );
        assert_eq!(
            Backend::parse("overlayfs:/a:/b/c"),
            Backend::parse("overlay:/a:/b/c")
        );
        assert_eq!(
            Backend::parse("btrfs:/srv/web/rootfs"),
            Ok(Backend::Btrfs("/srv/web/rootfs".into()))
        );
        assert_eq!(
            Backend::parse("loop:/srv/web/rootdev").map(|b| b.to_string()),
            Ok("loop:/srv/web/rootdev".into())
        );
        assert!(matches!(
            Backend::parse("loop:rootdev"),
            Err(ParseError::Relative { kind: "loop", .. })
        ));
        assert_eq!(Backend::parse("rootfs"), Err(ParseError::Unknown));
        assert_eq!(Backend::parse("nfs:/x"), Err(ParseError::Unknown));
        assert_eq!(Backend::parse("overlay:/a"), Err(ParseError::OverlayPaths));
        assert_eq!(
            Backend::parse("overlay:/a:b"),
            Err(ParseError::OverlayPaths)
        );
    }

    #[test]
    fn refused_kinds_say_what_the_host_lacks() {
        for (value, kind) in [
            ("lvm:/dev/vg/web", Unavailable::Lvm),
            ("zfs:tank/lxc/web", Unavailable::Zfs),
            ("rbd:lxc/web", Unavailable::Rbd),
            ("nbd:/srv/web.qcow2", Unavailable::Nbd),
        ] {
            assert_eq!(Backend::parse(value), Err(ParseError::Unavailable { kind }));
        }
        let root = tempfile::tempdir().unwrap();
        let lacking = Unavailable::Lvm.reason_under(root.path());
        assert!(
            lacking.contains("needs device-mapper, which this host lacks (no /dev/mapper/control)"),
            "{lacking}"
        );
        std::fs::create_dir_all(root.path().join("dev/mapper")).unwrap();
        std::fs::write(root.path().join("dev/mapper/control"), "").unwrap();
        let present = Unavailable::Lvm.reason_under(root.path());
        assert!(present.contains("not supported by rlxc"), "{present}");
    }
}
