//! The `oci` template: a rootfs and a config from an OCI or Docker image.
//!
//! The recipe: find the image in its source ([`image`]: tag, nested index, architecture);
//! check each layer blob against its digest and size; apply the layers in order ([`layers`]:
//! whiteouts, opaque directories, uncompressed content against the config's `diff_ids`); make
//! the mount points an application image leaves out; map the image config to config keys
//! ([`run_config`]).
//!
//! Sources: an OCI image layout directory, its tar archive, or a `docker save` archive, read
//! in place ([`files`]); or a registry ([`registry`], HTTP API v2 with its token flow), pulled
//! first into an OCI layout in the work directory and then read as any layout, so one set of
//! checks covers every source.

mod error;
mod files;
mod image;
pub(crate) mod layers;
mod reference;
mod registry;
mod run_config;

use std::fmt;
use std::fs::{self, DirBuilder};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

pub use error::OciError;
pub use reference::Reference;

use super::config_file::TemplateKey;
use super::CreateError;
use files::{DirFiles, ImageFiles, TarFiles};

/// Where an image comes from: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
/// `docker-archive:FILE[:TAG]`, `docker://[HOST[:PORT]/]REPO[:TAG|@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    Layout { dir: PathBuf, tag: Option<String> },
    OciArchive { file: PathBuf, tag: Option<String> },
    DockerArchive { file: PathBuf, tag: Option<String> },
    Registry(Reference),
}

impl ImageSource {
    /// The `--url` of `-t oci`, in the transport syntax of skopeo and podman.
    pub fn parse(url: &str) -> Result<ImageSource, OciError> {
        let (transport, rest) = url.split_once(':').ok_or_else(|| OciError::UnknownSource {
            url: url.to_string(),
        })?;
        // `PATH:TAG`; a path with a colon in it can still be given with an empty tag (`p:x:`).
        let split = |rest: &str| match rest.rsplit_once(':') {
            Some((path, tag)) if !tag.contains('/') => (
                PathBuf::from(path),
                Some(tag.to_string()).filter(|t| !t.is_empty()),
            ),
            _ => (PathBuf::from(rest), None),
        };
        match transport {
            "oci" => {
                let (dir, tag) = split(rest);
                Ok(ImageSource::Layout { dir, tag })
            }
            "oci-archive" => {
                let (file, tag) = split(rest);
                Ok(ImageSource::OciArchive { file, tag })
            }
            "docker-archive" => {
                // A docker reference (`name:tag`) may hold a colon of its own.
                let (file, tag) = match rest.split_once(':') {
                    Some((file, tag)) => (PathBuf::from(file), Some(tag.to_string())),
                    None => (PathBuf::from(rest), None),
                };
                let tag = tag.filter(|t| !t.is_empty());
                Ok(ImageSource::DockerArchive { file, tag })
            }
            "docker" => Ok(ImageSource::Registry(Reference::parse(url, rest)?)),
            _ => Err(OciError::UnknownSource {
                url: url.to_string(),
            }),
        }
    }

    /// `-- --url IMAGE`, the template options of `-t oci` (as LXC's `lxc-oci` takes them).
    pub fn from_template_args(args: &[String]) -> Result<ImageSource, OciError> {
        let mut url = None;
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            match arg.as_str() {
                "--url" | "-u" => url = rest.next().cloned(),
                other => match other.strip_prefix("--url=") {
                    Some(value) => url = Some(value.to_string()),
                    None => return Err(OciError::UnknownOption(other.to_string())),
                },
            }
        }
        ImageSource::parse(&url.ok_or(OciError::NoUrl)?)
    }
}

impl fmt::Display for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (transport, path, tag) = match self {
            ImageSource::Layout { dir, tag } => ("oci", dir, tag),
            ImageSource::OciArchive { file, tag } => ("oci-archive", file, tag),
            ImageSource::DockerArchive { file, tag } => ("docker-archive", file, tag),
            ImageSource::Registry(reference) => return reference.fmt(f),
        };
        write!(f, "{transport}:{}", path.display())?;
        match tag {
            Some(tag) => write!(f, ":{tag}"),
            None => Ok(()),
        }
    }
}

/// Called with (bytes done, bytes in all) over pulling, checking and unpacking the layers.
pub type OciProgress<'a> = &'a mut dyn FnMut(u64, u64);

/// Makes `rootfs` (which must not exist) from the image; `work` is a scratch directory on the
/// same filesystem. Returns the config keys the image asks for.
pub(crate) fn build(
    source: &ImageSource,
    name: &str,
    work: &Path,
    rootfs: &Path,
    progress: OciProgress,
) -> Result<Vec<TemplateKey>, CreateError> {
    let image = source.to_string();
    let work = work.join("image");
    fs::create_dir(&work).map_err(CreateError::io("making", &work))?;
    let keys = build_in(source, &image, &work, rootfs, progress)?;
    write_host_files(rootfs, name).map_err(CreateError::io("writing /etc/hostname in", rootfs))?;
    // Scratch files (a decompressed archive) must not end up in the container's directory.
    fs::remove_dir_all(&work).map_err(CreateError::io("removing", &work))?;
    Ok(keys)
}

fn build_in(
    source: &ImageSource,
    image: &str,
    work: &Path,
    rootfs: &Path,
    progress: OciProgress,
) -> Result<Vec<TemplateKey>, CreateError> {
    let image = image.to_string();
    // A pull's bytes come first in the progress: (pulled, pulled + the local steps' total).
    let mut pulled = 0;
    let files: Box<dyn ImageFiles> = match source {
        ImageSource::Layout { dir, .. } => Box::new(DirFiles { root: dir.clone() }),
        ImageSource::OciArchive { file, .. } | ImageSource::DockerArchive { file, .. } => {
            Box::new(TarFiles::index(&image, file, work)?)
        }
        ImageSource::Registry(reference) => {
            let root = work.join("layout");
            // Unpacking counts the bytes twice (checked, then applied): a third share.
            registry::pull(&image, reference, &root, &mut |done, total| {
                pulled = total;
                progress(done, total * 3);
            })?;
            Box::new(DirFiles { root })
        }
    };
    let mut progress = |done: u64, total: u64| progress(pulled + done, pulled + total);
    let resolved = match source {
        ImageSource::Layout { tag, .. } | ImageSource::OciArchive { tag, .. } => {
            image::resolve_layout(&image, files.as_ref(), tag.as_deref())?
        }
        ImageSource::Registry(_) => {
            image::resolve_layout(&image, files.as_ref(), Some(registry::PULLED))?
        }
        ImageSource::DockerArchive { tag, .. } => {
            image::resolve_docker(&image, files.as_ref(), tag.as_deref())?
        }
    };
    let config: run_config::ImageConfig =
        serde_json::from_slice(&resolved.config).map_err(|cause| OciError::Json {
            image: image.clone(),
            what: "the image config".into(),
            cause,
        })?;
    let diff_ids = config
        .rootfs
        .as_ref()
        .map(|r| r.diff_ids.clone())
        .unwrap_or_default();
    if diff_ids.len() != resolved.layers.len() {
        return Err(OciError::LayerCount {
            image,
            diff_ids: diff_ids.len(),
            layers: resolved.layers.len(),
        }
        .into());
    }

    // Blobs are counted twice: once read to check the digest, once to unpack.
    let sizes: Vec<u64> = resolved
        .layers
        .iter()
        .map(|layer| files.open(&layer.file).map(|(_, size)| size).unwrap_or(0))
        .collect();
    let total: u64 = sizes.iter().sum::<u64>() * 2;
    let mut done = 0u64;
    let mut tick = |n: u64| {
        done += n;
        progress(done.min(total), total);
    };
    for layer in &resolved.layers {
        layers::verify(&image, files.as_ref(), layer, &mut tick)?;
    }
    fs::create_dir(rootfs).map_err(CreateError::io("making", rootfs))?;
    for (layer, diff_id) in resolved.layers.iter().zip(&diff_ids) {
        let label = layer
            .blob
            .as_ref()
            .map_or_else(|| layer.file.clone(), |blob| blob.digest.clone());
        let name = PathBuf::from(format!("{image} layer {label}"));
        let actual = layers::apply(&name, files.as_ref(), layer, rootfs, &mut tick)?;
        if diff_id.strip_prefix("sha256:") != Some(actual.as_str()) {
            return Err(OciError::DiffIdMismatch {
                image,
                layer: label,
                expected: diff_id.clone(),
                actual: format!("sha256:{actual}"),
            }
            .into());
        }
    }
    progress(total, total);
    make_mount_points(rootfs).map_err(CreateError::io("making mount points in", rootfs))?;
    let cwd = run_config::working_dir(&config);
    make_working_dir(rootfs, cwd).map_err(CreateError::io("making the WorkingDir in", rootfs))?;
    Ok(run_config::keys(&image, &config, rootfs)?)
}

/// An application image often has no /proc, /sys or /dev (its runtime makes them); the
/// container's mounts need them. Only made where nothing is there: a symlink is left alone.
fn make_mount_points(rootfs: &Path) -> io::Result<()> {
    for dir in ["proc", "sys", "dev"] {
        let path = rootfs.join(dir);
        if fs::symlink_metadata(&path).is_err() {
            DirBuilder::new().mode(0o755).create(&path)?;
        }
    }
    Ok(())
}

/// `/etc/hostname` and `/etc/hosts` with the container's name, as LXC's `lxc-oci` writes
/// them, where the image has an `/etc`. Opened below the rootfs with `RESOLVE_IN_ROOT` (a
/// symlink there stays inside), never a symlink itself, and only a regular file is written.
fn write_host_files(rootfs: &Path, name: &str) -> io::Result<()> {
    use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
    use std::io::Write;
    if !fs::symlink_metadata(rootfs.join("etc")).is_ok_and(|meta| meta.is_dir()) {
        return Ok(());
    }
    let root = rustix::fs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let hosts = format!(
        "127.0.0.1   localhost\n127.0.1.1   {name}\n::1     localhost ip6-localhost ip6-loopback\n\
         fe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\nff02::1 ip6-allnodes\n\
         ff02::2 ip6-allrouters\n"
    );
    for (file, text) in [("etc/hostname", format!("{name}\n")), ("etc/hosts", hosts)] {
        let fd = match openat2(
            &root,
            file,
            OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => fd,
            // A symlink (or something odd) where the file goes: the image's business.
            Err(rustix::io::Errno::LOOP) => continue,
            Err(errno) => return Err(errno.into()),
        };
        if !fs::File::from(fd.try_clone()?).metadata()?.is_file() {
            continue;
        }
        let mut file = fs::File::from(fd);
        file.set_len(0)?;
        file.write_all(text.as_bytes())?;
    }
    Ok(())
}

/// The image's WorkingDir, made where it is missing, as OCI runtimes make it before they run
/// the command (podman and buildah leave it out of the layers). Each missing component is a
/// directory owned by root; a symlink on the way is left for the container to resolve.
fn make_working_dir(rootfs: &Path, cwd: &str) -> io::Result<()> {
    let mut path = rootfs.to_path_buf();
    for component in Path::new(cwd).components() {
        let std::path::Component::Normal(part) = component else {
            continue;
        };
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                DirBuilder::new().mode(0o755).create(&path)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_transport_a_path_and_maybe_a_tag() {
        assert_eq!(
            ImageSource::parse("oci:/srv/img:v1").expect("oci"),
            ImageSource::Layout {
                dir: "/srv/img".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            ImageSource::parse("oci:img").expect("oci"),
            ImageSource::Layout {
                dir: "img".into(),
                tag: None
            }
        );
        assert_eq!(
            ImageSource::parse("docker-archive:/tmp/a.tar").expect("docker"),
            ImageSource::DockerArchive {
                file: "/tmp/a.tar".into(),
                tag: None
            }
        );
        assert!(matches!(
            ImageSource::parse("docker://docker.io/library/busybox:latest"),
            Ok(ImageSource::Registry(Reference { ref repository, .. }))
                if repository == "library/busybox"
        ));
        assert!(matches!(
            ImageSource::parse("http://x"),
            Err(OciError::UnknownSource { .. })
        ));
    }
}
