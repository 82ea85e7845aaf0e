//! `create -B`: the backing store a new container's rootfs is made in (LXC's `lxc-create -B`).
//! The store is made inside the staging directory, so a create that fails leaves nothing: a
//! btrfs subvolume goes with the staging directory (an emptied subvolume is removed like a
//! directory), a loop image is a file in it, and the image's filesystem is only ever mounted
//! detached (an fd, reached by the template through `/proc/self/fd/N`), so nothing is mounted
//! on the host and the autoclear loop device goes when the fd does, whoever dies.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rlxc_storage::backend::{btrfs, image, mount, Backend};

use super::CreateError;

/// What `-B` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BackingStore {
    /// A plain directory (LXC's default).
    #[default]
    Dir,
    /// A btrfs subvolume; the lxcpath must be on btrfs.
    Btrfs,
    /// An image file `rootdev` of `size` bytes with a `fstype` filesystem.
    Loop { size: u64, fstype: String },
    /// btrfs where the lxcpath is on btrfs, else a directory (LXC's `best`, for the stores
    /// this host can have).
    Best,
}

impl BackingStore {
    pub fn name(&self) -> &'static str {
        match self {
            BackingStore::Dir => "dir",
            BackingStore::Btrfs => "btrfs",
            BackingStore::Loop { .. } => "loop",
            BackingStore::Best => "best",
        }
    }
}

/// The store made in the staging directory, and where the template writes the rootfs.
pub(crate) struct Staged {
    /// Where the template fills the rootfs: the staged directory or subvolume, or the loop
    /// image's detached mount through `/proc/self/fd/N`.
    pub fill_at: PathBuf,
    /// `lxc.rootfs.path` of the finished container.
    pub config_value: String,
    /// The rootfs directory the start will see, for `Created`.
    pub rootfs: PathBuf,
    /// The detached mount of a loop image, held while the template writes.
    mounted: Option<OwnedFd>,
}

impl Staged {
    /// Unmounts a loop image's filesystem (its device goes with it); before the commit.
    pub(crate) fn finish(&mut self) {
        self.mounted = None;
    }
}

/// Makes the store of `store` in `staging` (the directory that becomes `final_dir`).
/// `best` picks btrfs only for a template that `can_fill` a store (see `check_store`).
pub(crate) fn make(
    store: &BackingStore,
    staging: &Path,
    final_dir: &Path,
    can_fill: bool,
) -> Result<Staged, CreateError> {
    let on_btrfs = || btrfs::is_btrfs(staging).map_err(CreateError::io("looking at", staging));
    let store = match store {
        BackingStore::Best if can_fill && on_btrfs()? => &BackingStore::Btrfs,
        BackingStore::Best => &BackingStore::Dir,
        other => other,
    };
    let staged_rootfs = staging.join("rootfs");
    let final_rootfs = final_dir.join("rootfs");
    match store {
        BackingStore::Dir | BackingStore::Best => Ok(Staged {
            fill_at: staged_rootfs,
            config_value: final_rootfs.to_string_lossy().into_owned(),
            rootfs: final_rootfs,
            mounted: None,
        }),
        BackingStore::Btrfs => {
            if !on_btrfs()? {
                return Err(CreateError::Store {
                    store: "btrfs",
                    reason: format!("{} is not on a btrfs filesystem", parent_of(final_dir)),
                });
            }
            btrfs::create_subvolume(&staged_rootfs).map_err(CreateError::io(
                "making the btrfs subvolume",
                &staged_rootfs,
            ))?;
            Ok(Staged {
                fill_at: staged_rootfs,
                config_value: Backend::Btrfs(final_rootfs.clone()).to_string(),
                rootfs: final_rootfs,
                mounted: None,
            })
        }
        BackingStore::Loop { size, fstype } => {
            let staged_image = staging.join("rootdev");
            image::make(&staged_image, *size, fstype).map_err(|e| CreateError::Store {
                store: "loop",
                reason: e.to_string(),
            })?;
            let fstype = image::detect_fstype(&staged_image)
                .ok()
                .flatten()
                .unwrap_or("ext4");
            let mounted = mount::mount_detached(&Backend::Loop(staged_image), false, Some(fstype))
                .map_err(|e| CreateError::Store {
                    store: "loop",
                    reason: e.to_string(),
                })?;
            let image = final_dir.join("rootdev");
            Ok(Staged {
                fill_at: PathBuf::from(format!("/proc/self/fd/{}", mounted.as_raw_fd())),
                config_value: Backend::Loop(image.clone()).to_string(),
                rootfs: image,
                mounted: Some(mounted),
            })
        }
    }
}

fn parent_of(dir: &Path) -> String {
    dir.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
