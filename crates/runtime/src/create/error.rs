//! What can go wrong while creating, listing or destroying containers; each variant names the
//! step and the thing it failed on.

use std::io;
use std::path::PathBuf;

use rlxc_config::LoadFailure;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    #[error(transparent)]
    Name(#[from] crate::name::InvalidName),
    #[error("Container already exists: {dir}")]
    AlreadyExists { dir: PathBuf },
    #[error("cannot create the container directory {path}: {cause}")]
    Lxcpath { path: PathBuf, cause: io::Error },
    #[error("cannot make the temporary directory in {lxcpath}: {cause}")]
    Staging { lxcpath: PathBuf, cause: io::Error },
    #[error("cannot catch SIGINT/SIGTERM during the create: {0}")]
    Signals(io::Error),
    #[error("interrupted by {signal}; removed the partly created container")]
    Interrupted { signal: String },
    #[error(
        "no static busybox found (looked at {}); install Debian's busybox-static package \
         (apt-get install busybox-static){}",
        .looked_at.join(", "),
        .dynamic.as_ref().map(|p| format!(": {} is dynamically linked", p.display())).unwrap_or_default()
    )]
    NoStaticBusybox {
        looked_at: Vec<String>,
        dynamic: Option<PathBuf>,
    },
    #[error("cannot list the applets of {busybox}: {reason}")]
    BusyboxApplets { busybox: PathBuf, reason: String },
    #[error("cannot open the rootfs tarball {path}: {cause}")]
    OpenTarball { path: PathBuf, cause: io::Error },
    #[error("{path}: {format} archives are not supported; use .tar, .tar.gz, .tar.xz or .tar.zst")]
    UnsupportedCompression { path: PathBuf, format: &'static str },
    #[error("unpacking {path}: {cause}")]
    Unpack { path: PathBuf, cause: io::Error },
    #[error("{tarball}: refusing member {member:?}: {reason}")]
    UnsafeMember {
        tarball: PathBuf,
        member: String,
        reason: &'static str,
    },
    #[error("the rootfs directory {path} does not exist or is not a directory")]
    RootfsNotADirectory { path: PathBuf },
    #[error("-t none needs a rootfs: give --rootfs DIR or set lxc.rootfs.path in the config")]
    NoRootfsGiven,
    #[error(
        "{config} sets lxc.rootfs.path, but this create puts the rootfs at {rootfs}: remove \
         that line from the config, or use -t none without --rootfs"
    )]
    SeedSetsRootfs { config: PathBuf, rootfs: PathBuf },
    #[error("the initial config {path} does not load:\n{failure}")]
    SeedConfig { path: PathBuf, failure: LoadFailure },
    #[error("the config written for the container does not load (a bug in rlxc):\n{0}")]
    WrittenConfig(LoadFailure),
    #[error(transparent)]
    Download(#[from] super::download::DownloadError),
    #[error(transparent)]
    Debian(#[from] super::debian::DebianError),
    #[error(
        "the image's config does not load (its lxc.include names LXC's distro configs in \
         /usr/share/lxc/config: install lxc-templates):\n{failure}"
    )]
    ImageConfig { failure: LoadFailure },
    #[error("shifting the new rootfs into lxc.idmap: {0}")]
    Shift(crate::userns::ShiftError),
    #[error(transparent)]
    Oci(#[from] super::oci::OciError),
    /// `-B STORE` cannot be made here; `reason` says why.
    #[error("-B {store}: {reason}")]
    Store { store: &'static str, reason: String },
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
}

impl CreateError {
    pub(crate) fn io(
        step: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |cause| CreateError::Io { step, path, cause }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DestroyError {
    /// LXC's words for a container that has no directory under the lxcpath.
    #[error("Container is not defined: {dir} does not exist")]
    NotDefined { dir: PathBuf },
    #[error("{name} is running (use -f to kill it first)")]
    Running { name: String },
    /// LXC's refusal (`lxc-destroy` without `-s`).
    #[error("Destroying {name} failed: {name} has snapshots (use -s to destroy them too)")]
    HasSnapshots { name: String },
    /// LXC's refusal: an overlay clone's rootfs is this one's.
    #[error("Destroying {name} failed: {name} has clones ({clones}): destroy them first")]
    HasClones { name: String, clones: String },
    #[error("destroying the snapshot {snapshot} of {name}: {cause}")]
    Snapshot {
        name: String,
        snapshot: String,
        cause: Box<DestroyError>,
    },
    #[error("{name}: {cause}")]
    Leftovers {
        name: String,
        cause: crate::leftovers::LeftoverError,
    },
    #[error(
        "cannot load the config {path}, so its destroy hooks and rootfs are unknown:\n{failure}"
    )]
    Config { path: PathBuf, failure: LoadFailure },
    #[error("stopping {name}: {cause}")]
    Stop {
        name: String,
        cause: crate::stop::StopError,
    },
    /// The hook's own error, in the message (not as a source: it says it all already).
    #[error("{hook}; nothing was removed")]
    Hook { hook: crate::hooks::HookError },
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot list containers in {path}: {cause}")]
    ReadDir { path: PathBuf, cause: io::Error },
}
