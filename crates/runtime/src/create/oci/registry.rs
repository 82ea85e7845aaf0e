//! Pulling from a registry over the distribution spec's HTTP API v2, into an OCI image layout
//! in the work directory: the manifest by tag or digest (through an index to the host's
//! architecture), then the config and the layers. The layout is then read as any local one,
//! so every blob goes through the same digest and size checks and the same unpacking.
//!
//! A registry that answers 401 with a `Bearer` challenge gets the token flow: an anonymous
//! token from the challenge's realm for `repository:NAME:pull`, then the request again.

use std::fs;
use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use super::image::{
    self, blob_path, check_bytes, pick_arch, sha256_hex, Descriptor, Index, Manifest, INDEX_TYPES,
    MANIFEST_TYPES, MAX_DEPTH, MAX_JSON, REF_NAME,
};
use super::reference::Reference;
use super::OciError;
use crate::create::CreateError;
use crate::fetch::{FetchError, Fetcher};

/// Every manifest kind rlxc reads; the registry answers with the one it has.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
                      application/vnd.oci.image.manifest.v1+json, \
                      application/vnd.docker.distribution.manifest.list.v2+json, \
                      application/vnd.docker.distribution.manifest.v2+json";
/// A token reply is a small JSON object.
const MAX_TOKEN_REPLY: u64 = 1 << 20;
/// The name the pulled image has in the scratch layout's `index.json`.
pub(crate) const PULLED: &str = "pulled";

/// Pulls `reference` into the OCI layout `layout` (a directory to be made); afterwards the
/// layout's `index.json` names it [`PULLED`]. `progress` gets (bytes, total) of the blobs.
pub(crate) fn pull(
    image: &str,
    reference: &Reference,
    layout: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), CreateError> {
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).map_err(CreateError::io("making", &blobs))?;
    let fetcher = Fetcher::new(&format!("rlxc/{}", env!("CARGO_PKG_VERSION")))
        .map_err(|cause| registry_error(image, cause))?;
    let mut client = Client {
        image,
        fetcher,
        base: format!(
            "https://{}/v2/{}",
            reference.api_host(),
            reference.repository
        ),
        repository: &reference.repository,
        token: None,
    };

    // The top manifest: by digest it must have that digest before it is even parsed; by
    // tag, the registry is trusted for which manifest the tag names.
    let (bytes, media_type) = client.manifest(reference.manifest_ref())?;
    let digest = match &reference.digest {
        Some(digest) => {
            check_bytes(image, digest, None, &bytes)?;
            digest.clone()
        }
        None => format!("sha256:{}", sha256_hex(&bytes)),
    };
    write_blob(image, layout, &digest, &bytes)?;
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": media_type,
            "digest": digest,
            "size": bytes.len(),
            "annotations": { REF_NAME: PULLED },
        }],
    });
    write_file(layout, "index.json", index.to_string().as_bytes())?;
    write_file(layout, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;

    let (mut bytes, mut media_type) = (bytes, media_type);
    for _ in 0..MAX_DEPTH {
        if INDEX_TYPES.contains(&media_type.as_str()) {
            let index: Index = image::parse(image, "the image index", &bytes)?;
            let chosen = pick_arch(image, &index.manifests)?;
            (bytes, _) = client.manifest(&chosen.digest)?;
            check_bytes(image, &chosen.digest, Some(chosen.size), &bytes)?;
            write_blob(image, layout, &chosen.digest, &bytes)?;
            media_type = chosen.media_type;
            continue;
        }
        let manifest: Manifest = image::parse(image, "the manifest", &bytes)?;
        let blobs: Vec<&Descriptor> = std::iter::once(&manifest.config)
            .chain(&manifest.layers)
            .collect();
        let total = blobs.iter().map(|blob| blob.size).sum();
        let mut done = 0;
        for blob in blobs {
            client.blob(layout, blob, &mut |got| progress(done + got, total))?;
            done += blob.size;
        }
        return Ok(());
    }
    Err(OciError::TooDeep {
        image: image.to_string(),
        depth: MAX_DEPTH,
    }
    .into())
}

/// One repository of one registry, with the token once it has one.
struct Client<'a> {
    image: &'a str,
    fetcher: Fetcher,
    /// `https://HOST/v2/REPO`.
    base: String,
    repository: &'a str,
    token: Option<String>,
}

impl Client<'_> {
    /// A manifest or index and its media type (from `Content-Type`, else its `mediaType`).
    fn manifest(&mut self, reference: &str) -> Result<(Vec<u8>, String), OciError> {
        let url = format!("{}/manifests/{reference}", self.base);
        let (bytes, content_type) = self
            .authorized(|fetcher, headers| {
                let mut headers = headers.to_vec();
                headers.push(("Accept", ACCEPT));
                fetcher.bytes_with(&url, &headers, MAX_JSON)
            })?
            .map_err(|cause| match cause {
                FetchError::Status { status: 404, .. } => OciError::NoSuchImage {
                    image: self.image.to_string(),
                    url: url.clone(),
                },
                cause => registry_error(self.image, cause),
            })?;
        let known = |t: &str| INDEX_TYPES.contains(&t) || MANIFEST_TYPES.contains(&t);
        if known(&content_type) {
            return Ok((bytes, content_type));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Typed {
            media_type: Option<String>,
        }
        let typed: Typed = image::parse(self.image, &format!("the manifest at {url}"), &bytes)?;
        match typed.media_type {
            Some(media_type) if known(&media_type) => Ok((bytes, media_type)),
            other => Err(OciError::MediaType {
                image: self.image.to_string(),
                what: format!("the manifest at {url}"),
                media_type: other.unwrap_or(content_type),
            }),
        }
    }

    /// A blob into the layout, at most its descriptor's size; its digest is checked when the
    /// layout is read. A blob already there (a layer listed twice) is not fetched again.
    fn blob(
        &mut self,
        layout: &Path,
        blob: &Descriptor,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), OciError> {
        let dest = layout.join(blob_path(self.image, "a blob", &blob.digest)?);
        if dest.exists() {
            return Ok(());
        }
        let url = format!("{}/blobs/{}", self.base, blob.digest);
        self.authorized(|fetcher, headers| {
            fetcher.to_file_with(&url, headers, &dest, blob.size, &mut |got, _| progress(got))
        })?
        .map_err(|cause| match cause {
            FetchError::Status { status: 404, .. } => OciError::Missing {
                image: self.image.to_string(),
                what: format!("blob {} ({url} answered 404)", blob.digest),
            },
            cause => registry_error(self.image, cause),
        })?;
        Ok(())
    }

    /// `request` with the token if there is one; on a 401 with a challenge, a new token and
    /// one more try. The outer error is the token's, the inner one the request's.
    fn authorized<T>(
        &mut self,
        mut request: impl FnMut(&Fetcher, &[(&str, &str)]) -> Result<T, FetchError>,
    ) -> Result<Result<T, FetchError>, OciError> {
        let mut renewed = false;
        loop {
            let bearer = self.token.as_ref().map(|token| format!("Bearer {token}"));
            let headers: Vec<(&str, &str)> = bearer
                .iter()
                .map(|value| ("Authorization", value.as_str()))
                .collect();
            match request(&self.fetcher, &headers) {
                Err(FetchError::Unauthorized {
                    url,
                    challenge: Some(challenge),
                }) if !renewed => {
                    self.token = Some(self.token(&url, &challenge)?);
                    renewed = true;
                }
                other => return Ok(other),
            }
        }
    }

    /// An anonymous pull token from the realm the challenge names.
    fn token(&self, url: &str, challenge: &str) -> Result<String, OciError> {
        let token_error = |url: &str, reason: String| OciError::Token {
            image: self.image.to_string(),
            reason: format!("{url}: {reason}"),
        };
        let Some(params) = bearer_params(challenge) else {
            return Err(OciError::AuthScheme {
                image: self.image.to_string(),
                url: url.to_string(),
                challenge: challenge.to_string(),
            });
        };
        let param = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let realm = param("realm")
            .ok_or_else(|| token_error(url, format!("the challenge has no realm: {challenge}")))?;
        // The token is sent to the realm: it must be as private as the registry.
        if !realm.starts_with("https://") {
            return Err(token_error(
                realm,
                "the token server is not an https:// URL; rlxc will not use it".into(),
            ));
        }
        let scope = param("scope")
            .map(str::to_string)
            .unwrap_or_else(|| format!("repository:{}:pull", self.repository));
        let mut token_url = realm.to_string();
        let mut separator = if realm.contains('?') { '&' } else { '?' };
        if let Some(service) = param("service") {
            token_url.push_str(&format!("{separator}service={}", encode(service)));
            separator = '&';
        }
        token_url.push_str(&format!("{separator}scope={}", encode(&scope)));
        let body = self
            .fetcher
            .bytes(&token_url, MAX_TOKEN_REPLY)
            .map_err(|cause| OciError::Token {
                image: self.image.to_string(),
                reason: cause.to_string(),
            })?;
        #[derive(Deserialize)]
        struct Reply {
            token: Option<String>,
            access_token: Option<String>,
        }
        let reply: Reply = serde_json::from_slice(&body)
            .map_err(|e| token_error(&token_url, format!("the reply is not JSON: {e}")))?;
        reply
            .token
            .or(reply.access_token)
            .filter(|token| !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| token_error(&token_url, "the reply holds no usable token".into()))
    }
}

fn registry_error(image: &str, cause: FetchError) -> OciError {
    OciError::Registry {
        image: image.to_string(),
        cause,
    }
}

fn write_blob(image: &str, layout: &Path, digest: &str, bytes: &[u8]) -> Result<(), CreateError> {
    write_file(layout, &blob_path(image, "a manifest", digest)?, bytes)
}

fn write_file(layout: &Path, name: &str, bytes: &[u8]) -> Result<(), CreateError> {
    let path = layout.join(name);
    fs::write(&path, bytes).map_err(CreateError::io("writing", &path))
}

/// The parameters of a `Bearer k="v", k2=v2` challenge; `None` for another scheme.
fn bearer_params(challenge: &str) -> Option<Vec<(String, String)>> {
    let (scheme, rest) = challenge.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return Some(params);
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.push((key.trim().to_string(), value.trim().to_string()));
    }
}

/// Percent-encoding of a query value: everything but the unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_challenge_is_read_with_quoted_commas() {
        let params = bearer_params(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        )
        .expect("bearer");
        assert_eq!(
            params,
            [
                ("realm".into(), "https://auth.docker.io/token".into()),
                ("service".into(), "registry.docker.io".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
            ]
        );
        assert_eq!(bearer_params(r#"Basic realm="x""#), None);
        assert_eq!(
            bearer_params("bearer realm=https://x/t, service=s"),
            Some(vec![
                ("realm".into(), "https://x/t".into()),
                ("service".into(), "s".into())
            ])
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode("repository:test/busybox:pull"),
            "repository%3Atest%2Fbusybox%3Apull"
        );
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
