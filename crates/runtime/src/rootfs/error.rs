//! What can go wrong while building the container's filesystem; each variant names the step.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootfsError {
    #[error("making every mount a slave of the host's (MS_REC|MS_SLAVE on /): {cause}")]
    MakeSlave { cause: io::Error },
    /// `target` is `path` itself, or `lxc.rootfs.mount`.
    #[error("bind-mounting the rootfs {path} on {target}: {cause}")]
    BindRootfs {
        path: PathBuf,
        target: PathBuf,
        cause: io::Error,
    },
    #[error("lxc.tty.dir = {dir}: not one directory name under /dev (such as lxc)")]
    TtyDir { dir: String },
    #[error("lxc.rootfs.mount = {path}: {reason}")]
    RootfsMount { path: PathBuf, reason: String },
    #[error("opening the rootfs {path}: {cause}")]
    OpenRootfs { path: PathBuf, cause: io::Error },
    #[error("becoming root of the user namespace (lxc.idmap): {cause}")]
    UserNamespace { cause: io::Error },
    #[error("lxc.rootfs.options = {options:?}: {reason}")]
    RootfsOptions { options: String, reason: String },
    #[error("lxc.mount.auto: {what}: {cause}")]
    MountAuto {
        what: &'static str,
        cause: io::Error,
    },
    #[error("the container's own boot id (/proc/sys/kernel/random/boot_id): {cause}")]
    BootId { cause: io::Error },
    #[error("masking {path}: {cause}")]
    Mask { path: String, cause: std::io::Error },
    /// A mount-time hook failed.
    #[error("{message}")]
    Hook { message: String },
    /// A setting this runtime does not implement yet; never skipped silently.
    /// A value rlxc does not implement; `key` is the config key it comes from.
    #[error("{key} = {value} is not supported yet")]
    Unsupported { key: &'static str, value: String },
    /// `lxc.rootfs.path` names a store rlxc does not take (or the host lacks); `reason` says.
    #[error("lxc.rootfs.path = {value}: {reason}")]
    Backend { value: String, reason: String },
    /// Mounting an `overlay` or `loop` store.
    #[error("lxc.rootfs.path = {value}: {cause}")]
    MountBackend {
        value: String,
        cause: rlxc_storage::backend::mount::MountError,
    },
    /// Attaching a mounted store at its mount point.
    #[error("attaching the rootfs {value} at {target}: {cause}")]
    AttachRootfs {
        value: String,
        target: PathBuf,
        cause: io::Error,
    },
    #[error("autodev: /dev/{node}: {cause}")]
    Autodev { node: String, cause: io::Error },
    #[error("mounting the container's devpts on /dev/pts: {cause}")]
    Devpts { cause: io::Error },
    /// `name` is `console` or `ttyN`.
    #[error("allocating the {name} pty from the container's devpts: {cause}")]
    Pty { name: String, cause: io::Error },
    /// `entry` is the line as written (re-rendered from the parsed entry).
    #[error("lxc.mount.entry = {entry}: {reason}")]
    MountEntry { entry: String, reason: String },
    #[error("reading lxc.mount.fstab {path}: {cause}")]
    FstabRead { path: PathBuf, cause: io::Error },
    #[error("lxc.mount.fstab {path} line {line}: {reason}")]
    FstabLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("pivot_root into the rootfs ({step}): {cause}")]
    PivotRoot {
        step: &'static str,
        cause: io::Error,
    },
}

impl RootfsError {
    /// The config key the error is about, where one is: its origin (file:line) is then the
    /// place to point at.
    pub fn config_key(&self) -> Option<&'static str> {
        match self {
            RootfsError::Unsupported { key, .. } => Some(key),
            RootfsError::RootfsOptions { .. } => Some("lxc.rootfs.options"),
            RootfsError::MountAuto { .. } => Some("lxc.mount.auto"),
            RootfsError::MountEntry { .. } => Some("lxc.mount.entry"),
            RootfsError::FstabRead { .. } | RootfsError::FstabLine { .. } => {
                Some("lxc.mount.fstab")
            }
            RootfsError::OpenRootfs { .. }
            | RootfsError::BindRootfs { .. }
            | RootfsError::Backend { .. }
            | RootfsError::MountBackend { .. }
            | RootfsError::AttachRootfs { .. } => Some("lxc.rootfs.path"),
            RootfsError::UserNamespace { .. } => Some("lxc.idmap"),
            _ => None,
        }
    }

    /// The value of [`Self::config_key`]'s line, where the key is one of a list (a mount
    /// entry), so that the very line can be found.
    pub fn config_value(&self) -> Option<&str> {
        match self {
            RootfsError::MountEntry { entry, .. } => Some(entry),
            _ => None,
        }
    }
}
