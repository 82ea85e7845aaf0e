//! `create -B`: the backing store a new container's rootfs is made in (LXC's `lxc-create -B`).
//! The store is made inside the staging directory, so a create that fails leaves nothing: a
//! btrfs subvolume goes with the staging directory (an emptied subvolume is removed like a
//! directory), a loop image is a file in it, and the image's filesystem is only ever mounted
//! detached (an fd, reached by the template through `/proc/self/fd/N`), so nothing is mounted
//! on the host and the autoclear loop device goes when the fd does, whoever dies.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use rlxc_storage::backend::{btrfs, image, mount, Backend};

use super::CreateError;

/// Where a template that makes its own rootfs directory writes it before it is copied into a
/// subvolume or an image.
const ASIDE: &str = "rootfs.template";

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
    /// Where a template that makes its rootfs directory writes it (see `template_target`).
    aside: PathBuf,
}

impl Staged {
    /// Where a template writes the rootfs: one that fills an existing directory (busybox)
    /// into the store; the others, which make the directory themselves, a plain directory
    /// (the rootfs of a `dir` store; for a subvolume or an image one aside, copied in by
    /// [`Staged::fill_from`]).
    pub(crate) fn template_target(&self, fills_existing: bool) -> &Path {
        match fills_existing {
            true => &self.fill_at,
            false => &self.aside,
        }
    }

    /// Copies `tree` (a template's rootfs, made aside) into the store, and removes it.
    pub(crate) fn fill_from(&self, tree: &Path) -> Result<(), CreateError> {
        let target = std::fs::File::open(&self.fill_at)
            .map_err(CreateError::io("opening", &self.fill_at))?;
        let interrupted = || super::Staging::check_interrupted().is_err();
        rlxc_storage::copy::copy_tree_into(tree, target.as_fd(), &interrupted).map_err(
            |cause| CreateError::Store {
                store: if self.mounted.is_some() {
                    "loop"
                } else {
                    "btrfs"
                },
                reason: format!("copying the rootfs in: {cause}"),
            },
        )?;
        std::fs::remove_dir_all(tree).map_err(CreateError::io("removing", tree))
    }

    /// Unmounts a loop image's filesystem (its device goes with it); before the commit.
    pub(crate) fn finish(&mut self) {
        self.mounted = None;
    }
}

/// Makes the store of `store` in `staging` (the directory that becomes `final_dir`).
pub(crate) fn make(
    store: &BackingStore,
    staging: &Path,
    final_dir: &Path,
) -> Result<Staged, CreateError> {
    let on_btrfs = || btrfs::is_btrfs(staging).map_err(CreateError::io("looking at", staging));
    let store = match store {
        BackingStore::Best if on_btrfs()? => &BackingStore::Btrfs,
        BackingStore::Best => &BackingStore::Dir,
        other => other,
    };
    let staged_rootfs = staging.join("rootfs");
    let final_rootfs = final_dir.join("rootfs");
    match store {
        BackingStore::Dir | BackingStore::Best => Ok(Staged {
            fill_at: staged_rootfs.clone(),
            config_value: final_rootfs.to_string_lossy().into_owned(),
            rootfs: final_rootfs,
            mounted: None,
            aside: staged_rootfs,
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
                fill_at: staged_rootfs.clone(),
                config_value: Backend::Btrfs(final_rootfs.clone()).to_string(),
                rootfs: final_rootfs,
                mounted: None,
                aside: staging.join(ASIDE),
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
                aside: staging.join(ASIDE),
            })
        }
    }
}

fn parent_of(dir: &Path) -> String {
    dir.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
