//! A store's rootfs as a detached mount (an fd from `fsmount` or `open_tree`), which the
//! caller attaches with `move_mount` where it wants it: the start in the container's mount
//! namespace before the pivot, a create in a private namespace of its own. Nothing is mounted
//! anywhere until then, and dropping the fd unmounts it (and, for `loop`, lets the
//! autoclear device go).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::mount::{
    fsconfig_create, fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, open_tree,
    FsMountFlags, FsOpenFlags, MountAttrFlags, OpenTreeFlags,
};

use super::{image, loopdev, Backend, Overlay};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MountError {
    /// `step` says which call, `path` what it was about.
    #[error("{step} {path}: {cause}")]
    Step {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("the image {path} holds no filesystem rlxc knows (ext2/3/4, btrfs, xfs)")]
    UnknownFilesystem { path: PathBuf },
}

fn step<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> MountError + 'a {
    move |cause| MountError::Step {
        step,
        path: path.to_path_buf(),
        cause,
    }
}

/// The rootfs of `backend`, mounted but attached nowhere. `dir` and `btrfs` give a recursive
/// bind of the directory; `overlay` an overlay (upper and work directories made if missing);
/// `loop` the image's filesystem on a free loop device (type by magic unless `fstype`).
pub fn mount_detached(
    backend: &Backend,
    read_only: bool,
    fstype: Option<&str>,
) -> Result<OwnedFd, MountError> {
    match backend {
        Backend::Dir(path) | Backend::Btrfs(path) => bind(path),
        Backend::Overlay(overlay) => mount_overlay(overlay, read_only),
        Backend::Loop(image) => mount_loop(image, read_only, fstype),
    }
}

fn bind(path: &Path) -> Result<OwnedFd, MountError> {
    open_tree(
        rustix::fs::CWD,
        path,
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE,
    )
    .map_err(|e| step("binding", path)(e.into()))
}

fn mount_overlay(overlay: &Overlay, read_only: bool) -> Result<OwnedFd, MountError> {
    overlay.make_dirs().map_err(step(
        "making the overlay's upper and work directories next to",
        &overlay.upper,
    ))?;
    let context = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| step("opening an overlay filesystem for", &overlay.upper)(e.into()))?;
    let workdir = overlay.workdir();
    let options: [(&str, &Path); 3] = [
        ("lowerdir", &overlay.lower),
        ("upperdir", &overlay.upper),
        ("workdir", &workdir),
    ];
    for (key, path) in options {
        fsconfig_set_string(&context, key, path)
            .map_err(|e| step(overlay_step(key), path)(e.into()))?;
    }
    create_and_mount(&context, read_only, &overlay.upper)
}

fn overlay_step(key: &str) -> &'static str {
    match key {
        "lowerdir" => "overlay lowerdir",
        "upperdir" => "overlay upperdir",
        _ => "overlay workdir",
    }
}

fn mount_loop(image: &Path, read_only: bool, fstype: Option<&str>) -> Result<OwnedFd, MountError> {
    let fstype = match fstype {
        Some(fstype) => fstype,
        None => image::detect_fstype(image)
            .map_err(step("reading the superblock of", image))?
            .ok_or_else(|| MountError::UnknownFilesystem {
                path: image.to_path_buf(),
            })?,
    };
    let device =
        loopdev::attach(image, read_only).map_err(step("attaching a loop device to", image))?;
    let context = fsopen(fstype, FsOpenFlags::FSOPEN_CLOEXEC)
        .map_err(|e| step("opening a filesystem context for", image)(e.into()))?;
    fsconfig_set_string(&context, "source", &device.path)
        .map_err(|e| step("setting the loop device as source for", image)(e.into()))?;
    let mount = create_and_mount(&context, read_only, image)?;
    // The superblock holds the device now; ours goes, so the autoclear fires at unmount.
    drop(device);
    Ok(mount)
}

fn create_and_mount(
    context: &OwnedFd,
    read_only: bool,
    what: &Path,
) -> Result<OwnedFd, MountError> {
    if read_only {
        fsconfig_set_flag(context, "ro").map_err(|e| step("read-only mount of", what)(e.into()))?;
    }
    fsconfig_create(context).map_err(|e| with_log(context, e, step("mounting", what)))?;
    let attrs = if read_only {
        MountAttrFlags::MOUNT_ATTR_RDONLY
    } else {
        MountAttrFlags::empty()
    };
    fsmount(context.as_fd(), FsMountFlags::FSMOUNT_CLOEXEC, attrs)
        .map_err(|e| step("making a mount of", what)(e.into()))
}

/// The kernel's own words for a refused mount (overlay says which option, and why), read from
/// the context's message log, added to the errno.
fn with_log(
    context: &OwnedFd,
    errno: rustix::io::Errno,
    error: impl FnOnce(io::Error) -> MountError,
) -> MountError {
    let mut buf = [0u8; 512];
    let mut messages = Vec::new();
    while let Ok(n) = rustix::io::read(context, &mut buf) {
        if n == 0 {
            break;
        }
        messages.push(String::from_utf8_lossy(&buf[..n]).trim().to_string());
    }
    if messages.is_empty() {
        return error(errno.into());
    }
    error(io::Error::new(
        io::Error::from(errno).kind(),
        format!("{} ({})", io::Error::from(errno), messages.join("; ")),
    ))
}
