//! Applying layers in order onto the rootfs being made: each blob is checked against its
//! digest and size before it is opened for unpacking, its uncompressed content against the
//! config's `diff_ids` as it is unpacked, and whiteouts remove what lower layers put there.
//!
//! Members are checked and written by the tarball template's code (no `..`, no absolute
//! paths, never through a symlink that leads out); what is added here is the layer semantics:
//! `.wh.NAME` deletes NAME, `.wh..wh..opq` empties its directory of lower content, and a
//! member replaces whatever of another kind lay at its path.

use std::collections::HashSet;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::image::{hex, LayerRef};
use super::{files::ImageFiles, OciError};
use crate::create::remove_tree::remove_container_dir;
use crate::create::tarball::{self, Compression};
use crate::create::CreateError;

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Layer media types rlxc unpacks (compression is read from the bytes, which is what every
/// runtime does in the end).
const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
];

pub(crate) fn decoder<'a>(
    compression: Compression,
    source: impl BufRead + 'a,
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match compression {
        Compression::None => Box::new(source),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(source)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(source)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(source)?),
    })
}

/// Checks a layer blob against its descriptor before use.
pub(crate) fn verify(
    image: &str,
    files: &dyn ImageFiles,
    layer: &LayerRef,
    progress: &mut dyn FnMut(u64),
) -> Result<(), OciError> {
    let Some(blob) = &layer.blob else {
        return Ok(());
    };
    if !LAYER_TYPES.contains(&layer.media_type.as_str()) {
        return Err(OciError::MediaType {
            image: image.to_string(),
            what: format!("layer {}", blob.digest),
            media_type: layer.media_type.clone(),
        });
    }
    let (mut reader, size) = files
        .open(&layer.file)
        .map_err(|cause| missing(image, &blob.digest, cause))?;
    if size != blob.size {
        return Err(OciError::SizeMismatch {
            image: image.to_string(),
            digest: blob.digest.clone(),
            expected: blob.size,
            actual: size,
        });
    }
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 << 10];
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(cause) => return Err(missing(image, &blob.digest, cause)),
        };
        hasher.update(&buffer[..n]);
        progress(n as u64);
        interrupted(image, &blob.digest)?;
    }
    let actual = hex(&hasher.finalize());
    if blob.digest.strip_prefix("sha256:") != Some(actual.as_str()) {
        return Err(OciError::DigestMismatch {
            image: image.to_string(),
            digest: blob.digest.clone(),
            actual,
        });
    }
    Ok(())
}

fn missing(image: &str, digest: &str, cause: io::Error) -> OciError {
    match cause.kind() {
        io::ErrorKind::NotFound => OciError::Missing {
            image: image.to_string(),
            what: format!("blob {digest}"),
        },
        _ => OciError::Read {
            image: image.to_string(),
            what: format!("blob {digest}"),
            cause,
        },
    }
}

fn interrupted(image: &str, digest: &str) -> Result<(), OciError> {
    crate::create::staging::Staging::check_interrupted().map_err(|e| OciError::Read {
        image: image.to_string(),
        what: format!("blob {digest}"),
        cause: io::Error::other(e.to_string()),
    })
}

/// Unpacks one (verified) layer onto `rootfs`; returns the sha256 of its uncompressed tar, for
/// the caller to compare with the config's `diff_ids`. `name` names the layer in errors.
pub(crate) fn apply(
    name: &Path,
    files: &dyn ImageFiles,
    layer: &LayerRef,
    rootfs: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<String, CreateError> {
    let unpack_error = tarball::unpack_error(name);
    let (reader, _) = files.open(&layer.file).map_err(&unpack_error)?;
    let mut source = BufReader::new(Counted {
        inner: reader,
        progress,
    });
    let compression = tarball::sniff(name, &mut source)?;
    let decoded = decoder(compression, source).map_err(&unpack_error)?;
    let mut hashed = Hashed {
        inner: decoded,
        hasher: Sha256::new(),
    };
    let root = fs::canonicalize(rootfs).map_err(&unpack_error)?;
    {
        let mut archive = tarball::archive(&mut hashed);
        let mut written: HashSet<PathBuf> = HashSet::new();
        for entry in archive.entries().map_err(&unpack_error)? {
            let mut entry = entry.map_err(&unpack_error)?;
            tarball::check_member(name, &entry)?;
            let path: PathBuf = entry
                .path()
                .map_err(&unpack_error)?
                .components()
                .filter(|c| matches!(c, Component::Normal(_)))
                .collect();
            let (Some(parent), Some(file_name)) = (path.parent(), path.file_name()) else {
                continue; // `./`: the rootfs itself, made by rlxc.
            };
            let file_name = file_name.to_string_lossy();
            if file_name == OPAQUE {
                make_opaque(&root, parent, &written).map_err(&unpack_error)?;
                continue;
            }
            if let Some(hidden) = file_name.strip_prefix(WHITEOUT) {
                // `.wh..wh.*` other than the opaque marker is aufs bookkeeping: nothing to do.
                if !hidden.starts_with(".wh.") {
                    remove_lower(&root, &parent.join(hidden)).map_err(&unpack_error)?;
                }
                continue;
            }
            let is_dir = entry.header().entry_type().is_dir();
            replace_other_kind(&root, &path, is_dir).map_err(&unpack_error)?;
            tarball::write_member(name, &root, &mut entry)?;
            written.insert(path);
        }
    }
    // The tar's end blocks and any padding after them belong to the hashed content too.
    io::copy(&mut hashed, &mut io::sink()).map_err(&unpack_error)?;
    Ok(hex(&hashed.hasher.finalize()))
}

/// `relative`'s parent inside the rootfs, or `None` when it does not exist (nothing below it to
/// change) or resolves outside (a symlink placed by a layer).
fn inside(root: &Path, relative: &Path) -> io::Result<Option<PathBuf>> {
    let parent = relative.parent().unwrap_or(Path::new(""));
    match fs::canonicalize(root.join(parent)) {
        Ok(real) if real.starts_with(root) => Ok(Some(real)),
        Ok(_) => Err(io::Error::other(format!(
            "{} leads outside the rootfs",
            parent.display()
        ))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes `path` (never following a symlink, never crossing a mount).
fn remove_entry(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => remove_container_dir(path, None).map(drop),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `.wh.NAME`: NAME of the lower layers is gone.
fn remove_lower(root: &Path, relative: &Path) -> io::Result<()> {
    let (Some(parent), Some(name)) = (inside(root, relative)?, relative.file_name()) else {
        return Ok(());
    };
    remove_entry(&parent.join(name))
}

/// `DIR/.wh..wh..opq`: DIR shows only what this layer puts in it.
fn make_opaque(root: &Path, dir: &Path, written: &HashSet<PathBuf>) -> io::Result<()> {
    let Some(parent) = inside(root, &dir.join("x"))? else {
        return Ok(());
    };
    if !fs::symlink_metadata(&parent)?.is_dir() {
        return Ok(());
    }
    for child in fs::read_dir(&parent)? {
        let child = child?;
        let relative = dir.join(child.file_name());
        let ours = written.iter().any(|path| path.starts_with(&relative));
        if !ours {
            remove_entry(&child.path())?;
        }
    }
    Ok(())
}

/// A directory replaces a file or symlink, and anything else replaces a directory: the layer
/// says what is at that path now. (A file over a file is replaced by the unpacking itself.)
fn replace_other_kind(root: &Path, relative: &Path, is_dir: bool) -> io::Result<()> {
    let Ok(Some(parent)) = inside(root, relative) else {
        return Ok(()); // Unpacking itself refuses what leads out.
    };
    let Some(name) = relative.file_name() else {
        return Ok(());
    };
    let target = parent.join(name);
    match fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() != is_dir => remove_entry(&target),
        _ => Ok(()),
    }
}

/// The compressed bytes read, for the progress line.
struct Counted<'a, R> {
    inner: R,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if crate::create::staging::Staging::check_interrupted().is_err() {
            return Err(io::Error::other("interrupted by a signal"));
        }
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// The uncompressed bytes, hashed as they go by.
struct Hashed<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
