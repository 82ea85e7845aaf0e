//! What can go wrong reading an OCI image; every variant names the image, and the blob where
//! there is one.

use std::io;

use crate::fetch::FetchError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    #[error(
        "unknown image {url:?}: give oci:DIR[:TAG], oci-archive:FILE[:TAG], \
         docker-archive:FILE[:TAG] or docker://[HOST[:PORT]/]REPO[:TAG|@sha256:DIGEST]"
    )]
    UnknownSource { url: String },
    #[error("{url}: {reason}")]
    BadReference { url: String, reason: &'static str },
    #[error(
        "-t oci needs --url IMAGE (oci:DIR[:TAG], docker-archive:FILE[:TAG] or \
         docker://REGISTRY/REPO[:TAG])"
    )]
    NoUrl,
    #[error("-t oci: unknown option {0:?}; it takes --url IMAGE")]
    UnknownOption(String),
    #[error("{image}: reading {what}: {cause}")]
    Read {
        image: String,
        what: String,
        cause: io::Error,
    },
    #[error("{image}: {what} is not valid JSON of its kind: {cause}")]
    Json {
        image: String,
        what: String,
        cause: serde_json::Error,
    },
    #[error("{image}: {cause}")]
    Registry { image: String, cause: FetchError },
    #[error("{image}: the registry has no such image or tag ({url} answered 404 Not Found)")]
    NoSuchImage { image: String, url: String },
    /// `reason` names the token server's URL.
    #[error("{image}: getting an anonymous pull token: {reason}")]
    Token { image: String, reason: String },
    #[error(
        "{image}: {url} asks for credentials ({challenge}); rlxc pulls anonymously, with \
         the registry's Bearer token flow only"
    )]
    AuthScheme {
        image: String,
        url: String,
        challenge: String,
    },
    #[error("{image}: {what} is missing")]
    Missing { image: String, what: String },
    #[error("{image}: {what} is not a sha256 digest ({digest:?})")]
    BadDigest {
        image: String,
        what: String,
        digest: String,
    },
    #[error(
        "{image}: blob {digest} has sha256:{actual}: the image is corrupt or was tampered with"
    )]
    DigestMismatch {
        image: String,
        digest: String,
        actual: String,
    },
    #[error("{image}: blob {digest} is {actual} bytes, its descriptor says {expected}")]
    SizeMismatch {
        image: String,
        digest: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "{image}: layer {layer} unpacks to content with sha256:{actual}, but the image config \
         lists {expected}: the layer is corrupt or was tampered with"
    )]
    DiffIdMismatch {
        image: String,
        layer: String,
        expected: String,
        actual: String,
    },
    #[error("{image}: the config lists {diff_ids} layer ids for {layers} layers")]
    LayerCount {
        image: String,
        diff_ids: usize,
        layers: usize,
    },
    #[error("{image}: no image tagged {tag:?} (tags: {})", list(.available))]
    NoSuchTag {
        image: String,
        tag: String,
        available: Vec<String>,
    },
    #[error("{image}: no image for {arch} (it has: {})", list(.available))]
    NoSuchArch {
        image: String,
        arch: &'static str,
        available: Vec<String>,
    },
    #[error("{image}: {what} has media type {media_type:?}, which rlxc cannot use")]
    MediaType {
        image: String,
        what: String,
        media_type: String,
    },
    #[error("{image}: nested image indexes go deeper than {depth} levels")]
    TooDeep { image: String, depth: usize },
    #[error("{image}: the image's User {user:?}: {reason}")]
    User {
        image: String,
        user: String,
        reason: String,
    },
    #[error("{image}: the image's {field} entry {value:?} cannot go in the config: {reason}")]
    ConfigValue {
        image: String,
        field: &'static str,
        value: String,
        reason: &'static str,
    },
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
