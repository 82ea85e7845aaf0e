//! The rootfs of a copy, one way per [`Method`], from a source of any backing store:
//!
//! | source | no `-B` | `-s` | `-B dir` | `-B btrfs` | `-B loop` |
//! |---|---|---|---|---|---|
//! | `dir` | full copy | overlay on it | full copy | new subvolume, filled | new image, filled |
//! | `btrfs` subvolume | full copy | btrfs snapshot | full copy | btrfs snapshot | new image, filled |
//! | `overlay` | overlay: same lower, upper copied | the same | flattened | new subvolume, filled | new image, filled |
//! | `loop` | the image copied | refused (as LXC) | flattened | new subvolume, filled | new image, filled |
//!
//! "Filled" and "flattened" copy the tree the container sees: a `dir` or `btrfs` rootfs as it
//! is, an `overlay` or `loop` one mounted detached (read-only) for the copy, or, while the
//! container runs, through its init's root (`/proc/PID/root`: mounting an image that is
//! mounted already would corrupt it). Everything is made in the staging directory, so a
//! failed copy leaves nothing; a loop image's filesystem is only ever mounted detached.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rlxc_storage::backend::{btrfs, image, mount, overlay, Backend, Kind, Overlay};
use rlxc_storage::copy as storage;

use super::copy::{io_error, CopyError, Source};
use super::staging::Staging;
use crate::paths::ContainerPaths;

/// How the clone's rootfs is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A full copy into a directory (an overlay or loop source flattened).
    Full,
    /// `-s` of a `dir` source (or `-B overlay`): `overlay:SRC_ROOTFS:NEWDIR/overlay/delta`,
    /// LXC 5's layout (an empty `rootfs` mount point, `overlay/{delta,work}`). Of an overlay
    /// source: its lower, and a copy of its upper.
    Overlay,
    /// `-s` of a btrfs subvolume (or `-B btrfs`): a writable btrfs snapshot, `btrfs:NEWDIR/rootfs`.
    Btrfs,
    /// `-B btrfs` of a source that is not a subvolume: a new subvolume, filled.
    Subvolume,
    /// A loop source's image, copied (sparse, a reflink where the filesystem has them).
    Image,
    /// `-B loop`: a new image of `size` bytes holding an ext4, filled (LXC's default type).
    Loop { size: u64 },
}

/// `overlay/delta`: where LXC 5 keeps a clone's own changes.
pub const OVERLAY_UPPER: &str = "overlay/delta";
/// The directory of the upper and work directories (a tmpfs with `-t`).
pub const OVERLAY_DIR: &str = "overlay";
/// A loop clone's image in its directory, as LXC names it.
const IMAGE: &str = "rootdev";

/// LXC's default size of a new loop image (`-L` says otherwise).
pub const DEFAULT_LOOP_SIZE: u64 = 1 << 30;

/// What `-s`, `-B` and `-L` ask of `source` (see the table above).
pub fn choose_method(
    source: &ContainerPaths,
    snapshot: bool,
    backing_store: Option<&str>,
    loop_size: Option<u64>,
) -> Result<Method, CopyError> {
    let value = super::copy::rootfs_value(&source.config())?;
    let backend = Backend::parse(&value).map_err(|cause| refused(&value, cause.to_string()))?;
    let subvolume = || {
        backend
            .directory()
            .is_some_and(|dir| btrfs::is_subvolume(dir).unwrap_or(false))
    };
    if loop_size.is_some() && backing_store != Some("loop") {
        return Err(refused(&value, "-L sizes a loop copy: add -B loop".into()));
    }
    let kind = backend.kind();
    match (backing_store, snapshot) {
        (Some("dir"), true) => Err(refused(
            &value,
            "a snapshot (-s) into a dir backing store: a dir copy is a full copy".into(),
        )),
        (Some("dir"), false) => Ok(Method::Full),
        (Some("loop"), _) => Ok(Method::Loop {
            size: loop_size.unwrap_or(DEFAULT_LOOP_SIZE),
        }),
        (Some("btrfs"), _) if subvolume() => Ok(Method::Btrfs),
        (Some("btrfs"), _) => Ok(Method::Subvolume),
        (Some("overlay" | "overlayfs"), _) | (None, true) if kind == Kind::Loop => Err(refused(
            &value,
            "a loop image has no snapshots, and is no overlay's lower (as LXC's): copy it \
             without -s, or flatten it with -B dir"
                .into(),
        )),
        (None, true) if subvolume() => Ok(Method::Btrfs),
        (None, true) | (Some("overlay" | "overlayfs"), _) => Ok(Method::Overlay),
        (None, false) => Ok(match kind {
            Kind::Overlay => Method::Overlay,
            Kind::Loop => Method::Image,
            Kind::Dir | Kind::Btrfs => Method::Full,
        }),
        (Some(other), _) => {
            // LXC's other stores say what this host lacks.
            let why = match Backend::parse(&format!("{other}:/")) {
                Err(unavailable @ rlxc_storage::backend::ParseError::Unavailable { .. }) => {
                    unavailable.to_string()
                }
                _ => format!("-B {other}: not a backing store (dir, overlay, btrfs, loop)"),
            };
            Err(refused(&value, why))
        }
    }
}

/// What a snapshot of (or restore from) a container of `source`'s store is: LXC copies
/// what it cannot snapshot (`LXC_CLONE_MAYBE_SNAPSHOT`).
pub fn snapshot_method(source: &ContainerPaths) -> Result<Method, CopyError> {
    let value = super::copy::rootfs_value(&source.config())?;
    let backend = Backend::parse(&value).map_err(|cause| refused(&value, cause.to_string()))?;
    Ok(match backend {
        Backend::Overlay(_) => Method::Overlay,
        Backend::Loop(_) => Method::Image,
        Backend::Btrfs(ref dir) | Backend::Dir(ref dir)
            if btrfs::is_subvolume(dir).unwrap_or(false) =>
        {
            Method::Btrfs
        }
        Backend::Dir(_) | Backend::Btrfs(_) => Method::Full,
    })
}

fn refused(value: &str, why: String) -> CopyError {
    CopyError::Refused {
        rootfs: value.to_string(),
        why,
    }
}

/// The rootfs made: `lxc.rootfs.path` of the copy, and the mount points the tree copy
/// skipped.
pub(super) struct Made {
    pub(super) value: String,
    pub(super) mount_points: Vec<PathBuf>,
}

/// Makes the copy's rootfs in `staged` (the directory that becomes `new_dir`).
/// `running_init` is the source's init while it runs (frozen by the caller).
pub(super) fn make(
    method: Method,
    source: &Source,
    staged: &Path,
    new_dir: &Path,
    running_init: Option<i32>,
) -> Result<Made, CopyError> {
    let new_rootfs = new_dir.join("rootfs");
    let made = |value: String, mount_points| Made {
        value,
        mount_points,
    };
    match method {
        Method::Full => {
            let value = match source.rootfs_value.starts_with("dir:") {
                true => format!("dir:{}", new_rootfs.display()),
                false => new_rootfs.display().to_string(),
            };
            let view = View::of(source, running_init)?;
            let mount_points = fill(source, &view.path(), Into::Path(&staged.join("rootfs")))?;
            Ok(made(value, mount_points))
        }
        Method::Overlay => Ok(made(overlay_clone(source, staged, new_dir)?, Vec::new())),
        Method::Btrfs => {
            let rootfs = staged.join("rootfs");
            let dir = source
                .backend
                .directory()
                .ok_or_else(|| refused(&source.rootfs_value, "not a btrfs subvolume".into()))?;
            btrfs::snapshot(dir, &rootfs, false)
                .map_err(io_error("making a btrfs snapshot at", &rootfs))?;
            Ok(made(Backend::Btrfs(new_rootfs).to_string(), Vec::new()))
        }
        Method::Subvolume => {
            let rootfs = staged.join("rootfs");
            if !btrfs::is_btrfs(staged).map_err(io_error("looking at", staged))? {
                return Err(refused(
                    &source.rootfs_value,
                    format!("-B btrfs: {} is not on btrfs", new_dir.display()),
                ));
            }
            btrfs::create_subvolume(&rootfs)
                .map_err(io_error("making the btrfs subvolume", &rootfs))?;
            let subvolume = fs::File::open(&rootfs).map_err(io_error("opening", &rootfs))?;
            let view = View::of(source, running_init)?;
            let mount_points = fill(source, &view.path(), Into::Fd(subvolume.as_fd()))?;
            Ok(made(Backend::Btrfs(new_rootfs).to_string(), mount_points))
        }
        Method::Image => {
            copy_image(source, staged, running_init)?;
            Ok(made(
                Backend::Loop(new_dir.join(IMAGE)).to_string(),
                Vec::new(),
            ))
        }
        Method::Loop { size } => {
            let image = staged.join(IMAGE);
            image::make(&image, size, "ext4").map_err(|cause| CopyError::Io {
                step: "making the loop image",
                path: image.clone(),
                cause: std::io::Error::other(cause.to_string()),
            })?;
            let mounted = mount_detached(&Backend::Loop(image.clone()), false, &image)?;
            // mkfs's lost+found would clash with the source's own; fsck makes one if needed.
            let _ = rustix::fs::unlinkat(&mounted, c"lost+found", rustix::fs::AtFlags::REMOVEDIR);
            let view = View::of(source, running_init)?;
            let mount_points = fill(source, &view.path(), Into::Fd(mounted.as_fd()))?;
            Ok(made(
                Backend::Loop(new_dir.join(IMAGE)).to_string(),
                mount_points,
            ))
        }
    }
}

/// The tree a source's container sees, readable as a directory.
enum View {
    Dir(PathBuf),
    /// A detached mount, reached through `/proc/self/fd/N`; unmounted when dropped.
    Mounted(OwnedFd),
}

impl View {
    fn of(source: &Source, running_init: Option<i32>) -> Result<View, CopyError> {
        if let Some(dir) = source.backend.directory() {
            return Ok(View::Dir(dir.to_path_buf()));
        }
        if let Some(pid) = running_init {
            return Ok(View::Dir(PathBuf::from(format!("/proc/{pid}/root"))));
        }
        let what = source.backend.own_data().to_path_buf();
        mount_detached(&source.backend, true, &what).map(View::Mounted)
    }

    fn path(&self) -> PathBuf {
        match self {
            View::Dir(dir) => dir.clone(),
            View::Mounted(fd) => PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd())),
        }
    }
}

fn mount_detached(backend: &Backend, read_only: bool, what: &Path) -> Result<OwnedFd, CopyError> {
    mount::mount_detached(backend, read_only, None).map_err(|cause| CopyError::Io {
        step: "mounting",
        path: what.to_path_buf(),
        cause: std::io::Error::other(cause.to_string()),
    })
}

/// Where a tree copy goes: a new directory, or one that exists (a mount, a subvolume).
enum Into<'a> {
    Path(&'a Path),
    Fd(std::os::fd::BorrowedFd<'a>),
}

/// Copies the tree at `from` (the source's view) into `to`; the mount points it skipped.
fn fill(source: &Source, from: &Path, to: Into<'_>) -> Result<Vec<PathBuf>, CopyError> {
    let interrupted = || Staging::check_interrupted().is_err();
    let copied = match to {
        Into::Path(dst) => storage::copy_tree(from, dst, &interrupted),
        Into::Fd(dst) => storage::copy_tree_into(from, dst, &interrupted),
    };
    let report = copied.map_err(|cause| match cause {
        storage::TreeError::Interrupted => match Staging::check_interrupted() {
            Err(error) => CopyError::Create(error),
            Ok(()) => tree_error(source, cause),
        },
        cause => tree_error(source, cause),
    })?;
    Ok(report.mount_points)
}

fn tree_error(source: &Source, cause: storage::TreeError) -> CopyError {
    CopyError::Tree {
        rootfs: source.backend.own_data().to_path_buf(),
        cause,
    }
}

/// LXC 5's overlay clone: `overlay/delta` (the upper) and `overlay/work` in the new
/// directory, and `rootfs`, an empty directory, where it is mounted. Of a `dir` source the
/// lower is its rootfs; of an overlay the same lower, with a copy of its upper (as LXC's
/// `ovl_clonepaths`). Returns the value of `lxc.rootfs.path`.
fn overlay_clone(source: &Source, staged: &Path, new_dir: &Path) -> Result<String, CopyError> {
    let rootfs = staged.join("rootfs");
    fs::create_dir(&rootfs).map_err(io_error("making", &rootfs))?;
    let lower = match &source.backend {
        Backend::Overlay(Overlay { lower, upper }) => {
            let dir = staged.join(OVERLAY_DIR);
            // A tmpfs there already (`-t`) holds the copy.
            if fs::symlink_metadata(&dir).is_err() {
                fs::create_dir(&dir).map_err(io_error("making", &dir))?;
            }
            fill(source, upper, Into::Path(&staged.join(OVERLAY_UPPER)))?;
            lower.clone()
        }
        backend => match backend.directory() {
            Some(dir) => dir.to_path_buf(),
            None => {
                return Err(refused(
                    &source.rootfs_value,
                    "a loop image is no overlay's lower".into(),
                ))
            }
        },
    };
    let overlay = Overlay {
        lower: lower.clone(),
        upper: staged.join(OVERLAY_UPPER),
    };
    overlay
        .make_dirs()
        .map_err(io_error("making the overlay's directories", &overlay.upper))?;
    if !matches!(source.backend, Backend::Overlay(_)) {
        // A new upper belongs to whoever owns the lower's top: an unprivileged container's
        // root, who must own its rootfs.
        let top = fs::metadata(&lower).map_err(io_error("reading the owner of", &lower))?;
        std::os::unix::fs::chown(&overlay.upper, Some(top.uid()), Some(top.gid()))
            .map_err(io_error("giving the clone's root", &overlay.upper))?;
    }
    let value = Backend::Overlay(Overlay {
        lower,
        upper: new_dir.join(OVERLAY_UPPER),
    });
    Ok(value.to_string())
}

/// A loop source's image copied to `STAGED/rootdev`. A running source's filesystem is
/// synced first (the caller froze it): the copy is then what a crash at that moment leaves,
/// which the journal replays at the next mount.
fn copy_image(source: &Source, staged: &Path, running_init: Option<i32>) -> Result<(), CopyError> {
    let image = source.backend.own_data();
    if let Some(pid) = running_init {
        let root = PathBuf::from(format!("/proc/{pid}/root"));
        let dir = fs::File::open(&root).map_err(io_error("opening", &root))?;
        rustix::fs::syncfs(&dir).map_err(|errno| io_error("syncing", &root)(errno.into()))?;
    }
    let (Some(parent), Some(name)) = (image.parent(), image.file_name()) else {
        return Err(refused(&source.rootfs_value, "no image file named".into()));
    };
    storage::copy_file_below(parent, Path::new(name), staged).map_err(|cause| CopyError::Tree {
        rootfs: image.to_path_buf(),
        cause,
    })?;
    let copied = staged.join(name);
    let target = staged.join(IMAGE);
    if copied != target {
        fs::rename(&copied, &target).map_err(io_error("naming", &target))?;
    }
    Ok(())
}

/// Renames the container in the rootfs that `value` (an `lxc.rootfs.path`) names. An overlay
/// or a loop image is mounted (detached, reached through `/proc/self/fd`), so an overlay's
/// changed files are copied up into its upper, as at run time.
pub(super) fn rename_inside(value: &str, old: &str, new: &str) -> Result<(), CopyError> {
    let Ok(backend) = Backend::parse(value) else {
        return Ok(());
    };
    let etc = backend.own_data().join("etc");
    let rename = |root: &Path| {
        storage::rename_in_rootfs(root, old, new).map_err(io_error("naming the container in", &etc))
    };
    match backend.directory() {
        Some(dir) => rename(dir),
        None => {
            let mounted = mount_detached(&backend, false, backend.own_data())?;
            rename(&PathBuf::from(format!(
                "/proc/self/fd/{}",
                mounted.as_raw_fd()
            )))
        }
    }
}

/// The rootfs of `value` (an `lxc.rootfs.path`) mounted, detached, when it is an overlay or
/// a loop image; None for a directory.
pub(super) fn mount_for_hooks(value: &str) -> Result<Option<OwnedFd>, CopyError> {
    match Backend::parse(value) {
        Ok(backend) if backend.needs_mount() => {
            mount_detached(&backend, false, backend.own_data()).map(Some)
        }
        _ => Ok(None),
    }
}

/// The tmpfs of a clone being made, unmounted if the copy fails.
pub(super) struct TmpfsGuard(pub(super) Option<PathBuf>);

impl Drop for TmpfsGuard {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = overlay::unmount_tmpfs(&dir);
        }
    }
}
