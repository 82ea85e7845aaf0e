//! The image cache: `CACHE/download/DIST/RELEASE/ARCH/VARIANT/` holds the rootfs (recompressed
//! as `rootfs.tar.zst`, see [`recompress`]), the files of `meta.tar.xz` and `build_id`, as
//! LXC's cache does. An image is downloaded into a temporary directory next to it, checked,
//! and renamed into place: a directory with a `build_id` is complete. `.VARIANT.lock` (flock) makes concurrent creates download once.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::recompress::{self, CACHED_ROOTFS};
use super::{
    base_url, fetch_index, fetcher, index, DownloadError, DownloadRequest, ImageId, Mode, Step,
    ROOTFS_LIMIT, SMALL_LIMIT,
};

/// `RLXC_CACHE_DIR` (tests, or a cache elsewhere), else `/var/cache/rlxc`.
pub fn cache_root() -> PathBuf {
    std::env::var_os("RLXC_CACHE_DIR")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/rlxc"))
}

/// Held while an image is fetched or unpacked, so no other create replaces it meanwhile.
#[derive(Debug)]
pub struct CacheLock {
    _file: File,
}

/// A complete image in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedImage {
    pub id: ImageId,
    pub dir: PathBuf,
    pub build: String,
    pub server: String,
    /// True when this create downloaded it.
    pub downloaded: bool,
}

impl CachedImage {
    /// The cached rootfs archive: zstd in a cache rlxc made, xz as served in an older one.
    pub fn rootfs(&self) -> PathBuf {
        let recompressed = self.dir.join(CACHED_ROOTFS);
        if recompressed.exists() {
            recompressed
        } else {
            self.dir.join("rootfs.tar.xz")
        }
    }

    /// LXC's choice of a metadata file: `NAME-MODE` before `NAME`, and `.7` (the compat
    /// level) after either when the image has it.
    pub fn relevant_file(&self, name: &str, mode: Mode) -> Option<PathBuf> {
        let mut path = self.dir.join(name);
        let with_mode = self.dir.join(format!("{name}-{}", mode.as_str()));
        if with_mode.exists() {
            path = with_mode;
        }
        let with_compat = PathBuf::from(format!("{}.{}", path.display(), super::COMPAT_LEVEL));
        if with_compat.exists() {
            path = with_compat;
        }
        path.exists().then_some(path)
    }
}

/// A cached image as `rlxc images` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedInfo {
    pub id: ImageId,
    pub build: String,
    pub server: String,
    pub size: u64,
    pub dir: PathBuf,
}

fn image_dir(root: &Path, id: &ImageId) -> PathBuf {
    root.join("download")
        .join(&id.dist)
        .join(&id.release)
        .join(&id.arch)
        .join(&id.variant)
}

/// The fields become directory names: nothing that could climb out or hide.
pub fn check_id(id: &ImageId) -> Result<(), DownloadError> {
    for (what, value) in [
        ("distribution", &id.dist),
        ("release", &id.release),
        ("architecture", &id.arch),
        ("variant", &id.variant),
    ] {
        let fine = !value.is_empty()
            && !value.starts_with('.')
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
        if !fine {
            return Err(DownloadError::BadField {
                what,
                value: value.clone(),
            });
        }
    }
    Ok(())
}

fn lock(root: &Path, id: &ImageId) -> Result<CacheLock, DownloadError> {
    let dir = image_dir(root, id);
    let parent = dir.parent().unwrap_or(root).to_path_buf();
    fs::create_dir_all(&parent).map_err(DownloadError::io("making the image cache", &parent))?;
    let path = parent.join(format!(".{}.lock", id.variant));
    let interrupted = || super::super::staging::Staging::check_interrupted().is_err();
    let file = crate::lock::lock_exclusive(&path, interrupted).map_err(|cause| {
        let step = match cause.kind() {
            io::ErrorKind::Interrupted => "waiting for the cache lock",
            _ => "locking",
        };
        DownloadError::Io {
            step,
            path: path.clone(),
            cause,
        }
    })?;
    Ok(CacheLock { _file: file })
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
}

/// The image from the cache, or from the server into the cache. The lock comes back with it:
/// hold it until the rootfs is unpacked.
pub fn obtain(
    request: &DownloadRequest,
    progress: &mut dyn FnMut(Step),
) -> Result<(CacheLock, CachedImage), DownloadError> {
    let id = &request.image;
    check_id(id)?;
    let lock = lock(&request.cache_dir, id)?;
    let dir = image_dir(&request.cache_dir, id);
    remove_crash_leftovers(&dir, &id.variant);
    if request.flush_cache && dir.exists() {
        fs::remove_dir_all(&dir).map_err(DownloadError::io("flushing the cached image", &dir))?;
    }
    let cached = read_trimmed(&dir.join("build_id")).map(|build| CachedImage {
        id: id.clone(),
        dir: dir.clone(),
        build,
        server: read_trimmed(&dir.join("server")).unwrap_or_default(),
        downloaded: false,
    });
    // As LXC: a cached image is used without asking the server until it expires (for ever
    // with --force-cache).
    if let Some(image) = cached
        .as_ref()
        .filter(|image| request.force_cache || !expired(image, request.mode))
    {
        progress(Step::UsingCache);
        return Ok((lock, image.clone()));
    }
    progress(Step::Index);
    let fetcher = fetcher()?;
    let entries = fetch_index(&fetcher, &request.server, request.mode)?;
    let entry = index::find(&entries, id)?;
    if let Some(image) = cached.filter(|image| image.build == entry.build) {
        progress(Step::UsingCache);
        return Ok((lock, image));
    }
    let image_path = checked_index_path(entry)?;
    let url = format!("{}/{}", base_url(&request.server), image_path);
    let parent = dir.parent().unwrap_or(&request.cache_dir);
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{}.download-", id.variant))
        .tempdir_in(parent)
        .map_err(DownloadError::io("making a download directory in", parent))?;
    let rootfs = temp.path().join("rootfs.tar.xz");
    let meta = temp.path().join("meta.tar.xz");
    for (name, path, limit) in [
        ("rootfs.tar.xz", &rootfs, ROOTFS_LIMIT),
        ("meta.tar.xz", &meta, SMALL_LIMIT),
    ] {
        fetcher.to_file(&format!("{url}/{name}"), path, limit, &mut |got, total| {
            progress(Step::Downloading(name, got, total))
        })?;
    }
    if request.validate {
        check_sums(&fetcher, &url, &rootfs, &meta)?;
    }
    progress(Step::Checking);
    recompress::check_and_recompress(&rootfs, &temp.path().join(CACHED_ROOTFS))?;
    fs::remove_file(&rootfs).map_err(DownloadError::io("removing", &rootfs))?;
    unpack_meta(&meta, temp.path())?;
    fs::remove_file(&meta).map_err(DownloadError::io("removing", &meta))?;
    fs::write(temp.path().join("server"), format!("{}\n", request.server)).map_err(
        DownloadError::io("writing the image's server to", temp.path()),
    )?;
    // Written last: a directory with a build_id is a complete image.
    fs::write(temp.path().join("build_id"), format!("{}\n", entry.build))
        .map_err(DownloadError::io("writing the build id to", temp.path()))?;
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(DownloadError::io("replacing the cached image", &dir))?;
    }
    let kept = temp.keep();
    fs::rename(&kept, &dir).map_err(|cause| {
        let _ = fs::remove_dir_all(&kept);
        DownloadError::Io {
            step: "moving the downloaded image into",
            path: dir.clone(),
            cause,
        }
    })?;
    Ok((
        lock,
        CachedImage {
            id: id.clone(),
            dir,
            build: entry.build.clone(),
            server: request.server.clone(),
            downloaded: true,
        },
    ))
}

/// A download cut short by SIGKILL or a crash leaves its temporary directory; with the lock
/// held, no other create is using one. Best effort: a leftover only costs disk space.
fn remove_crash_leftovers(dir: &Path, variant: &str) {
    let Some(parent) = dir.parent() else { return };
    let prefix = format!(".{variant}.download-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// `expiry` holds a Unix time after which LXC downloads the image again.
fn expired(image: &CachedImage, mode: Mode) -> bool {
    let Some(expiry) = image
        .relevant_file("expiry", mode)
        .and_then(|path| read_trimmed(&path))
        .and_then(|text| text.parse::<u64>().ok())
    else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    expiry < now
}

/// The index's path must stay a path on the server (no `..`, no other host).
fn checked_index_path(entry: &index::IndexEntry) -> Result<String, DownloadError> {
    let path = entry.path.trim_matches('/');
    let plain = !path.is_empty()
        && !path.contains("//")
        && !path.contains("://")
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && !path
            .chars()
            .any(|c| c.is_control() || c == '?' || c == '#' || c == ' ');
    if !plain {
        return Err(DownloadError::BadIndexPath {
            image: format!("{} {} {}", entry.dist, entry.release, entry.arch),
            path: entry.path.clone(),
        });
    }
    Ok(path.to_string())
}

/// Checks the two archives against `SHA256SUMS` when the server publishes one.
fn check_sums(
    fetcher: &crate::fetch::Fetcher,
    url: &str,
    rootfs: &Path,
    meta: &Path,
) -> Result<(), DownloadError> {
    let sums = match fetcher.bytes(&format!("{url}/SHA256SUMS"), SMALL_LIMIT) {
        Ok(body) => String::from_utf8_lossy(&body).into_owned(),
        Err(error) if error.is_not_found() => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    for (file, path) in [("rootfs.tar.xz", rootfs), ("meta.tar.xz", meta)] {
        let Some(expected) = sums.lines().find_map(|line| {
            let mut words = line.split_whitespace();
            let sum = words.next()?;
            let name = words.next()?.trim_start_matches('*');
            (name == file).then(|| sum.to_ascii_lowercase())
        }) else {
            continue;
        };
        let got = sha256_of(path)?;
        if got != expected {
            return Err(DownloadError::Checksum {
                file,
                got,
                expected,
            });
        }
    }
    Ok(())
}

fn sha256_of(path: &Path) -> Result<String, DownloadError> {
    let mut file = File::open(path).map_err(DownloadError::io("opening", path))?;
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(DownloadError::io("reading", path))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// `meta.tar.xz` holds a few plain files (`config`, `templates`, ...): each is written flat
/// into the image directory; anything else is refused.
fn unpack_meta(meta: &Path, into: &Path) -> Result<(), DownloadError> {
    let bad = |cause| DownloadError::BadArchive {
        path: meta.to_path_buf(),
        cause,
    };
    let file = File::open(meta).map_err(bad)?;
    let decoder = liblzma::read::XzDecoder::new_multi_decoder(io::BufReader::new(file));
    let mut archive = tar::Archive::new(decoder);
    let mut has_config = false;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let member = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = entry.path().map_err(bad)?.into_owned();
        let names: Vec<_> = path
            .components()
            .filter(|c| !matches!(c, Component::CurDir))
            .collect();
        if entry.header().entry_type().is_dir() && names.is_empty() {
            continue;
        }
        let name = match names.as_slice() {
            [Component::Normal(name)] => name.to_string_lossy().into_owned(),
            _ => {
                return Err(DownloadError::BadMetaMember {
                    member,
                    reason: "only plain files at the top are expected",
                })
            }
        };
        if !entry.header().entry_type().is_file() {
            return Err(DownloadError::BadMetaMember {
                member,
                reason: "not a regular file",
            });
        }
        if matches!(
            name.as_str(),
            "rootfs.tar.xz" | CACHED_ROOTFS | "build_id" | "server"
        ) {
            return Err(DownloadError::BadMetaMember {
                member,
                reason: "the name of a file of the cache itself",
            });
        }
        has_config |= name == "config" || name.starts_with("config.");
        let mut contents = Vec::new();
        entry
            .by_ref()
            .take(SMALL_LIMIT)
            .read_to_end(&mut contents)
            .map_err(bad)?;
        let target = into.join(&name);
        fs::write(&target, contents).map_err(DownloadError::io("writing", &target))?;
    }
    if !has_config {
        return Err(DownloadError::NoConfig);
    }
    Ok(())
}

/// Every complete image in the cache.
pub fn list_cached(root: &Path) -> Result<Vec<CachedInfo>, DownloadError> {
    let base = root.join("download");
    let mut found = Vec::new();
    for dist in subdirs(&base)? {
        for release in subdirs(&dist)? {
            for arch in subdirs(&release)? {
                for variant in subdirs(&arch)? {
                    let Some(build) = read_trimmed(&variant.join("build_id")) else {
                        continue;
                    };
                    let name = |p: &Path| {
                        p.file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    };
                    found.push(CachedInfo {
                        id: ImageId {
                            dist: name(&dist),
                            release: name(&release),
                            arch: name(&arch),
                            variant: name(&variant),
                        },
                        build,
                        server: read_trimmed(&variant.join("server")).unwrap_or_default(),
                        size: dir_size(&variant),
                        dir: variant,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    Ok(found)
}

/// Removes one cached image, waiting for a create that uses it.
pub fn remove_cached(root: &Path, id: &ImageId) -> Result<bool, DownloadError> {
    check_id(id)?;
    let dir = image_dir(root, id);
    if !dir.exists() {
        return Ok(false);
    }
    let _lock = lock(root, id)?;
    fs::remove_dir_all(&dir).map_err(DownloadError::io("removing", &dir))?;
    Ok(true)
}

/// The directories in `dir` (none if it does not exist), leaving out lock and temporary ones.
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, DownloadError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(cause) => return Err(DownloadError::io("reading", dir)(cause)),
    };
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(DownloadError::io("reading", dir))?;
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type().is_ok_and(|t| t.is_dir()) {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

fn dir_size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
