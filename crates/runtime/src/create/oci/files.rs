//! The files of a local image, by their path inside it: an OCI layout directory, or an archive
//! (`docker save`, `podman save --format oci-archive`) read in place by the offsets of its
//! members, so a large image is never copied before it is checked and unpacked.
//!
//! A registry is pulled first into an OCI layout in the work directory ([`super::registry`]),
//! which is then read as any layout directory.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use super::OciError;
use crate::create::tarball::{self, Compression};

/// Where the image's files are read from.
pub(crate) trait ImageFiles {
    /// The file at `name` (a relative path inside the image) and its size.
    fn open(&self, name: &str) -> io::Result<(Box<dyn Read + '_>, u64)>;
}

/// An OCI image layout directory.
pub(crate) struct DirFiles {
    pub root: PathBuf,
}

impl ImageFiles for DirFiles {
    fn open(&self, name: &str) -> io::Result<(Box<dyn Read + '_>, u64)> {
        let relative = clean(name)
            .ok_or_else(|| io::Error::other(format!("{name:?} leaves the image directory")))?;
        let file = File::open(self.root.join(relative))?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other(format!("{name} is not a regular file")));
        }
        Ok((Box::new(BufReader::new(file)), meta.len()))
    }
}

/// A tar archive of an image; members are found by name and read where they lie.
pub(crate) struct TarFiles {
    path: PathBuf,
    /// Regular members: offset of the data, size.
    members: HashMap<PathBuf, (u64, u64)>,
    /// Symlink and hard link members (`docker save` links repeated layers): name → target.
    links: HashMap<PathBuf, PathBuf>,
}

impl TarFiles {
    /// Indexes `archive`. A compressed archive is first decompressed into `work`.
    pub(crate) fn index(image: &str, archive: &Path, work: &Path) -> Result<TarFiles, OciError> {
        let read_error = |what: &str| {
            let what = what.to_string();
            move |cause| OciError::Read {
                image: image.to_string(),
                what,
                cause,
            }
        };
        let file = File::open(archive).map_err(read_error("the archive"))?;
        let mut reader = BufReader::new(file);
        let compression = tarball::sniff(archive, &mut reader).map_err(|e| OciError::Read {
            image: image.to_string(),
            what: "the archive".into(),
            cause: io::Error::other(e.to_string()),
        })?;
        let path = if compression == Compression::None {
            archive.to_path_buf()
        } else {
            let plain = work.join("image.tar");
            let mut decoded = super::layers::decoder(compression, reader)
                .map_err(read_error("the compressed archive"))?;
            let mut out = File::create(&plain).map_err(read_error("a scratch copy"))?;
            io::copy(&mut decoded, &mut out).map_err(read_error("the compressed archive"))?;
            plain
        };
        let file = File::open(&path).map_err(read_error("the archive"))?;
        let mut members = HashMap::new();
        let mut links = HashMap::new();
        let mut outer = tar::Archive::new(BufReader::new(file));
        for entry in outer.entries().map_err(read_error("the archive"))? {
            let entry = entry.map_err(read_error("the archive"))?;
            let name = entry.path().map_err(read_error("the archive"))?;
            let Some(name) = clean(&name.to_string_lossy()) else {
                continue; // Never looked up: every name rlxc asks for is clean.
            };
            let kind = entry.header().entry_type();
            if kind.is_file() {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            } else if kind.is_symlink() || kind.is_hard_link() {
                if let Some(target) = entry.link_name().map_err(read_error("the archive"))? {
                    let base = match kind.is_symlink() {
                        true => name.parent().map(Path::to_path_buf).unwrap_or_default(),
                        false => PathBuf::new(),
                    };
                    if let Some(target) = clean(&base.join(target).to_string_lossy()) {
                        links.insert(name, target);
                    }
                }
            }
        }
        Ok(TarFiles {
            path,
            members,
            links,
        })
    }
}

impl ImageFiles for TarFiles {
    fn open(&self, name: &str) -> io::Result<(Box<dyn Read + '_>, u64)> {
        let not_found = || io::Error::new(io::ErrorKind::NotFound, format!("no member {name}"));
        let mut path = clean(name).ok_or_else(not_found)?;
        // A bounded walk: a link loop is a missing file.
        for _ in 0..8 {
            if let Some(&(offset, size)) = self.members.get(&path) {
                let mut file = File::open(&self.path)?;
                file.seek(SeekFrom::Start(offset))?;
                return Ok((Box::new(BufReader::new(file).take(size)), size));
            }
            path = self.links.get(&path).ok_or_else(not_found)?.clone();
        }
        Err(not_found())
    }
}

/// `name` as a relative path with `.` and `..` resolved lexically; `None` if it climbs out.
fn clean(name: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_may_not_climb_out() {
        assert_eq!(clean("./blobs/sha256/ab"), Some("blobs/sha256/ab".into()));
        assert_eq!(clean("a/../b"), Some("b".into()));
        assert_eq!(clean("../b"), None);
    }
}
