//! What can go wrong while building the container's filesystem; each variant names the step.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootfsError {
    #[error("making every mount a slave of the host's (MS_REC|MS_SLAVE on /): {source}")]
    MakeSlave {
        #[source]
        source: io::Error,
    },
    /// `target` is `path` itself, or `lxc.rootfs.mount`.
    #[error("bind-mounting the rootfs {path} on {target}: {source}")]
    BindRootfs {
        path: PathBuf,
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("lxc.tty.dir = {dir}: not one directory name under /dev (such as lxc)")]
    TtyDir { dir: String },
    #[error("lxc.rootfs.mount = {path}: {reason}")]
    RootfsMount { path: PathBuf, reason: String },
    #[error("opening the rootfs {path}: {source}")]
    OpenRootfs {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("becoming root of the user namespace (lxc.idmap): {source}")]
    UserNamespace {
        #[source]
        source: io::Error,
    },
    #[error("lxc.rootfs.options = {options:?}: {reason}")]
    RootfsOptions { options: String, reason: String },
    #[error("lxc.mount.auto: {what}: {source}")]
    MountAuto {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("the container's own boot id (/proc/sys/kernel/random/boot_id): {source}")]
    BootId {
        #[source]
        source: io::Error,
    },
    #[error("masking {path}: {source}")]
    Mask {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A mount-time hook failed.
    #[error("{message}")]
    Hook { message: String },
    /// A setting this runtime does not implement yet; never skipped silently.
    /// A value rlxc does not implement; `key` is the config key it comes from.
    #[error("{key} = {value} is not supported yet")]
    Unsupported { key: &'static str, value: String },
    #[error("autodev: /dev/{node}: {source}")]
    Autodev {
        node: String,
        #[source]
        source: io::Error,
    },
    #[error("mounting the container's devpts on /dev/pts: {source}")]
    Devpts {
        #[source]
        source: io::Error,
    },
    /// `name` is `console` or `ttyN`.
    #[error("allocating the {name} pty from the container's devpts: {source}")]
    Pty {
        name: String,
        #[source]
        source: io::Error,
    },
    /// `entry` is the line as written (re-rendered from the parsed entry).
    #[error("lxc.mount.entry = {entry}: {reason}")]
    MountEntry { entry: String, reason: String },
    #[error("reading lxc.mount.fstab {path}: {source}")]
    FstabRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("lxc.mount.fstab {path} line {line}: {reason}")]
    FstabLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("pivot_root into the rootfs ({step}): {source}")]
    PivotRoot {
        step: &'static str,
        #[source]
        source: io::Error,
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
            RootfsError::OpenRootfs { .. } | RootfsError::BindRootfs { .. } => {
                Some("lxc.rootfs.path")
            }
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
