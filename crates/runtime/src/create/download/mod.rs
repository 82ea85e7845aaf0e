//! The `download` template: LXC's image server protocol. The index names an image's
//! directory; its `rootfs.tar.xz` and `meta.tar.xz` are fetched into a cache
//! ([`cache`]), and a create unpacks the rootfs and applies the metadata as LXC's
//! `lxc-download` does ([`meta`]).

pub mod cache;
pub mod index;
pub(crate) mod meta;
mod recompress;

use std::fmt;
use std::io;
use std::path::PathBuf;

pub use cache::{
    cache_root, list_cached, obtain, remove_cached, CacheLock, CachedImage, CachedInfo,
};
pub use index::{IndexEntry, ListFilter};

use crate::fetch::{FetchError, Fetcher};

/// LXC's default image server.
pub const DEFAULT_SERVER: &str = "images.linuxcontainers.org";
/// The compatibility level LXC 5 announces and looks for in file names (`index-system.7`).
pub const COMPAT_LEVEL: u32 = 7;
/// The largest index, checksum list or metadata archive accepted.
const SMALL_LIMIT: u64 = 64 << 20;
/// The largest rootfs archive accepted.
const ROOTFS_LIMIT: u64 = 16 << 30;

/// Which image: `-d`, `-r`, `-a`, `--variant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId {
    pub dist: String,
    pub release: String,
    pub arch: String,
    pub variant: String,
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} {} {} ({})",
            self.dist, self.release, self.arch, self.variant
        )
    }
}

/// LXC's two kinds of image files: `system` for a privileged container, `user` (`config-user`,
/// `excludes-user`) for one with an id map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    System,
    User,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::System => "system",
            Mode::User => "user",
        }
    }
}

/// What `-t download -- ...` asked.
#[derive(Debug, Clone)]
pub struct DownloadRequest {
    pub image: ImageId,
    /// `HOST[:PORT]`, spoken to over HTTPS.
    pub server: String,
    pub mode: Mode,
    pub flush_cache: bool,
    /// Use a cached image even when it has expired, without asking the server (`--force-cache`).
    pub force_cache: bool,
    /// Check the server's SHA256SUMS (off with `--no-validate`).
    pub validate: bool,
    /// The cache's root; [`cache_root`] outside tests.
    pub cache_dir: PathBuf,
}

/// One step of getting an image, for a progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    Index,
    /// A file arriving: its name, bytes so far, the total if known.
    Downloading(&'a str, u64, Option<u64>),
    /// Reading the downloaded rootfs through once before it goes into the cache.
    Checking,
    UsingCache,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    #[error(
        "{what} {value:?} is not a valid image field: use letters, digits, '.', '_', '-' and ':'"
    )]
    BadField { what: &'static str, value: String },
    #[error(
        "no {what} {value:?}{} on the server{}",
        if .context.is_empty() { String::new() } else { format!(" for{}", .context) },
        if .available.is_empty() { String::new() } else { format!("; it has: {}", .available) }
    )]
    NoSuchImage {
        what: &'static str,
        value: String,
        context: String,
        available: String,
    },
    #[error("{server} has no image index (is it an LXC image server?): {last}")]
    NoIndex { server: String, last: String },
    #[error("the index path {path:?} of {image} is not a plain path on the server")]
    BadIndexPath { image: String, path: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(
        "{file} does not match the server's SHA256SUMS (got {got}, expected {expected}): \
             a corrupt or tampered download; nothing was cached"
    )]
    Checksum {
        file: &'static str,
        got: String,
        expected: String,
    },
    #[error("{path} is not a readable image archive: {cause}")]
    BadArchive { path: PathBuf, cause: io::Error },
    #[error("meta.tar.xz: refusing member {member:?}: {reason}")]
    BadMetaMember {
        member: String,
        reason: &'static str,
    },
    #[error("the image has no config file (meta.tar.xz lacks config)")]
    NoConfig,
    #[error("{step} {path}: {cause}")]
    Io {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
}

impl DownloadError {
    pub(crate) fn io(
        step: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |cause| DownloadError::Io { step, path, cause }
    }
}

/// The client every request of the download template uses; the user agent carries LXC's
/// compatibility level, which the image server reads.
pub fn fetcher() -> Result<Fetcher, FetchError> {
    Fetcher::new(&format!(
        "rlxc/{} compat:{COMPAT_LEVEL}",
        env!("CARGO_PKG_VERSION")
    ))
}

fn base_url(server: &str) -> String {
    format!("https://{}", server.trim_end_matches('/'))
}

/// The server's index for `mode`: `index-MODE.7` first, then `index-MODE`, as LXC asks; a
/// server without a user index gets asked for its system one (the images are the same, the
/// metadata picks `config-user`).
pub fn fetch_index(
    fetcher: &Fetcher,
    server: &str,
    mode: Mode,
) -> Result<Vec<IndexEntry>, DownloadError> {
    let mut modes = vec![mode];
    if mode == Mode::User {
        modes.push(Mode::System);
    }
    let mut last: Option<FetchError> = None;
    for mode in modes {
        let base = format!("{}/meta/1.0/index-{}", base_url(server), mode.as_str());
        for url in [format!("{base}.{COMPAT_LEVEL}"), base] {
            match fetcher.bytes(&url, SMALL_LIMIT) {
                Ok(body) => return Ok(index::parse(&String::from_utf8_lossy(&body))),
                Err(error) if error.is_not_found() => last = Some(error),
                Err(error) => return Err(error.into()),
            }
        }
    }
    Err(DownloadError::NoIndex {
        server: server.to_string(),
        last: last.map(|e| e.to_string()).unwrap_or_default(),
    })
}

/// `-- --list`: the index as LXC prints it.
pub fn list(server: &str, mode: Mode, filter: &ListFilter) -> Result<String, DownloadError> {
    let fetcher = fetcher()?;
    let entries = fetch_index(&fetcher, server, mode)?;
    Ok(index::render_list(&entries, filter))
}

/// Unpacks the cached image's rootfs (without its excludes) into `staged_rootfs` and applies
/// its metadata.
pub(crate) fn unpack(
    image: &CachedImage,
    mode: Mode,
    staging: &std::path::Path,
    staged_rootfs: &std::path::Path,
    names: &meta::Names,
    progress: super::Progress,
) -> Result<meta::Applied, super::CreateError> {
    let excludes = meta::excludes(image, mode)?;
    super::tarball::unpack_filtered(
        &image.rootfs(),
        staging,
        staged_rootfs,
        progress,
        &|member| meta::excluded(&excludes, member),
    )?;
    Ok(meta::apply(image, mode, staged_rootfs, names)?)
}

/// Loads the initial config and the image's config together, as the written config will
/// have them, to see which keys they set (written to `scratch`, which the config replaces).
pub(crate) fn load_distro_config(
    scratch: &std::path::Path,
    seed: Option<&str>,
    distro: &str,
) -> Result<rlxc_config::ContainerSpec, super::CreateError> {
    let text = format!("{}\n{distro}\n", seed.unwrap_or_default());
    std::fs::write(scratch, &text).map_err(super::CreateError::io("writing", scratch))?;
    rlxc_config::load_file(scratch, &[])
        .map(|loaded| loaded.spec)
        .map_err(|failure| super::CreateError::ImageConfig { failure })
}
