//! Finding the image in its source: an OCI layout's `index.json` (by tag, through nested
//! indexes to the host's architecture) or a `docker save` archive's `manifest.json`; then the
//! manifest and the config, each checked against its digest.

use std::io::{self, Read};

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::files::ImageFiles;
use super::OciError;

pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
pub(crate) const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
pub(crate) const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];
/// Indexes pointing at indexes: deeper than any real image, not deep enough to loop long.
pub(crate) const MAX_DEPTH: usize = 4;
/// Manifests, indexes and configs are small; a huge one is not an image rlxc should parse.
pub(crate) const MAX_JSON: u64 = 16 << 20;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: std::collections::HashMap<String, String>,
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Platform {
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Index {
    pub manifests: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Manifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// One layer to apply: where it is in the source, and its digest when the source gives one
/// (an OCI manifest does; a `docker save` manifest.json only names files).
#[derive(Debug, Clone)]
pub(crate) struct LayerRef {
    pub file: String,
    pub media_type: String,
    pub blob: Option<Descriptor>,
}

/// The image, found and its small parts checked: config bytes and the layers in order.
pub(crate) struct Resolved {
    pub config: Vec<u8>,
    pub layers: Vec<LayerRef>,
}

/// The blob path of `digest` in an OCI layout, after checking it is `sha256:` + 64 hex.
pub(crate) fn blob_path(image: &str, what: &str, digest: &str) -> Result<String, OciError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| OciError::BadDigest {
            image: image.to_string(),
            what: what.to_string(),
            digest: digest.to_string(),
        })?;
    Ok(format!("blobs/sha256/{hex}"))
}

/// The host's architecture in OCI's words (GOARCH).
pub(crate) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a whole small file of the image.
fn read_small(
    image: &str,
    files: &dyn ImageFiles,
    name: &str,
    what: &str,
) -> Result<Vec<u8>, OciError> {
    let read_error = |cause: io::Error| match cause.kind() {
        io::ErrorKind::NotFound => OciError::Missing {
            image: image.to_string(),
            what: format!("{what} ({name})"),
        },
        _ => OciError::Read {
            image: image.to_string(),
            what: format!("{what} ({name})"),
            cause,
        },
    };
    let (reader, _) = files.open(name).map_err(read_error)?;
    let mut bytes = Vec::new();
    reader
        .take(MAX_JSON)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    Ok(bytes)
}

/// A small blob, checked against its descriptor's size and digest before it is parsed.
fn read_blob(
    image: &str,
    files: &dyn ImageFiles,
    blob: &Descriptor,
    what: &str,
) -> Result<Vec<u8>, OciError> {
    let name = blob_path(image, what, &blob.digest)?;
    let bytes = read_small(image, files, &name, &format!("{what} {}", blob.digest))?;
    check_bytes(image, &blob.digest, Some(blob.size), &bytes)?;
    Ok(bytes)
}

pub(crate) fn check_bytes(
    image: &str,
    digest: &str,
    size: Option<u64>,
    bytes: &[u8],
) -> Result<(), OciError> {
    if let Some(expected) = size.filter(|size| *size != bytes.len() as u64) {
        return Err(OciError::SizeMismatch {
            image: image.to_string(),
            digest: digest.to_string(),
            expected,
            actual: bytes.len() as u64,
        });
    }
    let actual = sha256_hex(bytes);
    if digest.strip_prefix("sha256:") != Some(actual.as_str()) {
        return Err(OciError::DigestMismatch {
            image: image.to_string(),
            digest: digest.to_string(),
            actual,
        });
    }
    Ok(())
}

pub(crate) fn parse<'a, T: Deserialize<'a>>(
    image: &str,
    what: &str,
    bytes: &'a [u8],
) -> Result<T, OciError> {
    serde_json::from_slice(bytes).map_err(|cause| OciError::Json {
        image: image.to_string(),
        what: what.to_string(),
        cause,
    })
}

/// An OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/`.
pub(crate) fn resolve_layout(
    image: &str,
    files: &dyn ImageFiles,
    tag: Option<&str>,
) -> Result<Resolved, OciError> {
    read_small(
        image,
        files,
        "oci-layout",
        "the oci-layout file (is this an OCI image layout?)",
    )?;
    let bytes = read_small(image, files, "index.json", "the index")?;
    let index: Index = parse(image, "index.json", &bytes)?;
    let mut chosen = pick_tag(image, &index.manifests, tag)?;
    for _ in 0..MAX_DEPTH {
        if INDEX_TYPES.contains(&chosen.media_type.as_str()) {
            let bytes = read_blob(image, files, &chosen, "image index")?;
            let nested: Index = parse(image, &format!("image index {}", chosen.digest), &bytes)?;
            chosen = pick_arch(image, &nested.manifests)?;
            continue;
        }
        if !MANIFEST_TYPES.contains(&chosen.media_type.as_str()) {
            return Err(OciError::MediaType {
                image: image.to_string(),
                what: format!("manifest {}", chosen.digest),
                media_type: chosen.media_type.clone(),
            });
        }
        let bytes = read_blob(image, files, &chosen, "manifest")?;
        let manifest: Manifest = parse(image, &format!("manifest {}", chosen.digest), &bytes)?;
        let config = read_blob(image, files, &manifest.config, "config")?;
        let layers = manifest
            .layers
            .into_iter()
            .map(|blob| {
                Ok(LayerRef {
                    file: blob_path(image, "a layer", &blob.digest)?,
                    media_type: blob.media_type.clone(),
                    blob: Some(blob),
                })
            })
            .collect::<Result<Vec<_>, OciError>>()?;
        return Ok(Resolved { config, layers });
    }
    Err(OciError::TooDeep {
        image: image.to_string(),
        depth: MAX_DEPTH,
    })
}

/// The manifest tagged `tag` (default `latest`); with no tag asked for, the only one there is.
fn pick_tag(
    image: &str,
    manifests: &[Descriptor],
    tag: Option<&str>,
) -> Result<Descriptor, OciError> {
    let wanted = tag.unwrap_or("latest");
    let tagged = manifests
        .iter()
        .find(|m| m.annotations.get(REF_NAME).map(String::as_str) == Some(wanted));
    match (tagged, tag, manifests) {
        (Some(found), _, _) => Ok(found.clone()),
        (None, None, [only]) => Ok(only.clone()),
        _ => Err(OciError::NoSuchTag {
            image: image.to_string(),
            tag: wanted.to_string(),
            available: manifests
                .iter()
                .filter_map(|m| m.annotations.get(REF_NAME).cloned())
                .collect(),
        }),
    }
}

/// From a multi-architecture index, the manifest for this host (Linux, its architecture).
pub(crate) fn pick_arch(image: &str, manifests: &[Descriptor]) -> Result<Descriptor, OciError> {
    let arch = host_arch();
    let fits = |m: &&Descriptor| {
        m.platform
            .as_ref()
            .is_some_and(|p| p.architecture == arch && p.os == "linux")
    };
    match (manifests.iter().find(fits), manifests) {
        (Some(found), _) => Ok(found.clone()),
        // An index without platforms (a plain list of one image) has nothing to choose.
        (None, [only]) if only.platform.is_none() => Ok(only.clone()),
        _ => Err(OciError::NoSuchArch {
            image: image.to_string(),
            arch,
            available: manifests
                .iter()
                .filter_map(|m| m.platform.as_ref())
                .map(|p| match &p.variant {
                    Some(variant) => format!("{}/{}/{variant}", p.os, p.architecture),
                    None => format!("{}/{}", p.os, p.architecture),
                })
                .collect(),
        }),
    }
}

/// A `docker save` archive: `manifest.json` lists configs and layer files by name. The config
/// is named by its digest; the layers are checked against the config's `diff_ids` as they are
/// unpacked.
pub(crate) fn resolve_docker(
    image: &str,
    files: &dyn ImageFiles,
    tag: Option<&str>,
) -> Result<Resolved, OciError> {
    let bytes = read_small(
        image,
        files,
        "manifest.json",
        "manifest.json (is this a docker save archive?)",
    )?;
    let entries: Vec<DockerEntry> = parse(image, "manifest.json", &bytes)?;
    let tags = |entry: &DockerEntry| entry.repo_tags.clone().unwrap_or_default();
    let entry = match tag {
        None => entries.first(),
        Some(tag) => entries.iter().find(|entry| {
            tags(entry).iter().any(|repo_tag| {
                repo_tag == tag || repo_tag.rsplit_once(':').is_some_and(|(_, t)| t == tag)
            })
        }),
    }
    .ok_or_else(|| OciError::NoSuchTag {
        image: image.to_string(),
        tag: tag.unwrap_or("latest").to_string(),
        available: entries.iter().flat_map(tags).collect(),
    })?;
    let config = read_small(image, files, &entry.config, "the config")?;
    // `HEX.json` (docker before 25) or `blobs/sha256/HEX` (docker 25, podman): the name is
    // the digest.
    let file_name = entry.config.rsplit('/').next().unwrap_or_default();
    let hex = file_name.strip_suffix(".json").unwrap_or(file_name);
    let digest = format!("sha256:{hex}");
    blob_path(image, "the config's file name", &digest)?;
    check_bytes(image, &digest, None, &config)?;
    let layers = entry
        .layers
        .iter()
        .map(|file| LayerRef {
            file: file.clone(),
            media_type: String::new(),
            blob: None,
        })
        .collect();
    Ok(Resolved { config, layers })
}
