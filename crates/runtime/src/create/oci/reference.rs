//! `docker://[HOST[:PORT]/]REPO[:TAG][@sha256:DIGEST]`, read as podman and docker read it: a
//! first component with a `.` or a `:` (or `localhost`) is the registry, anything else is a
//! repository on Docker Hub, where one-word names live under `library/`.

use std::fmt;

use super::OciError;

/// Docker Hub as the user names it, and where its API is.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";
const DEFAULT_TAG: &str = "latest";

/// An image in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `HOST[:PORT]` as written (`docker.io` for Docker Hub).
    pub registry: String,
    /// `NAMESPACE/NAME`, lower case.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:HEX`; when given, it is what is pulled, whatever the tag.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses what follows `docker:`.
    pub fn parse(url: &str, rest: &str) -> Result<Reference, OciError> {
        let bad = |reason: &'static str| OciError::BadReference {
            url: url.to_string(),
            reason,
        };
        let rest = rest
            .strip_prefix("//")
            .ok_or(bad("a registry image is docker://[HOST[:PORT]/]REPO[:TAG]"))?;
        let (name, digest) = match rest.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_string())),
            None => (rest, None),
        };
        if let Some(digest) = &digest {
            let hex = digest.strip_prefix("sha256:").unwrap_or_default();
            if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(bad("the digest after @ must be sha256: and 64 hex digits"));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                // Docker's old name for the Hub is the Hub (its one-word names under library/).
                let registry = match first {
                    "index.docker.io" => DOCKER_HUB,
                    other => other,
                };
                (registry.to_string(), path)
            }
            _ => (DOCKER_HUB.to_string(), name),
        };
        if registry.is_empty()
            || !registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        {
            return Err(bad(
                "the registry must be a host name or address, maybe with :PORT",
            ));
        }
        // The tag is after the last `:` that has no `/` after it.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag.to_string())),
            _ => (path, None),
        };
        if let Some(tag) = &tag {
            let valid = tag.len() <= 128
                && tag.bytes().enumerate().all(|(i, b)| {
                    b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
                });
            if tag.is_empty() || !valid {
                return Err(bad(
                    "a tag is up to 128 letters, digits, _ . and - (not first)",
                ));
            }
        }
        let component_ok = |part: &str| {
            let bytes = part.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        };
        if !repository.split('/').all(component_ok) {
            return Err(bad(
                "a repository is lower-case letters, digits and . _ - in /-separated parts",
            ));
        }
        let repository = match (registry.as_str(), repository.contains('/')) {
            (DOCKER_HUB, false) => format!("library/{repository}"),
            _ => repository.to_string(),
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The host whose `/v2/` API serves the image.
    pub fn api_host(&self) -> &str {
        match self.registry.as_str() {
            DOCKER_HUB | "index.docker.io" => DOCKER_HUB_API,
            other => other,
        }
    }

    /// What `/v2/REPO/manifests/` is asked for: the digest, else the tag, else `latest`.
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or(DEFAULT_TAG)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "docker://{}/{}", self.registry, self.repository)?;
        match (&self.tag, &self.digest) {
            (_, Some(digest)) => write!(f, "@{digest}"),
            (Some(tag), None) => write!(f, ":{tag}"),
            (None, None) => write!(f, ":{DEFAULT_TAG}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Reference, OciError> {
        Reference::parse(url, url.strip_prefix("docker:").expect("docker:"))
    }

    #[test]
    fn a_bare_name_is_on_docker_hub_under_library() {
        let r = parse("docker://alpine").expect("alpine");
        assert_eq!(
            (r.api_host(), r.repository.as_str(), r.manifest_ref()),
            ("registry-1.docker.io", "library/alpine", "latest")
        );
        assert_eq!(r.to_string(), "docker://docker.io/library/alpine:latest");
        let r = parse("docker://user/app:1.0").expect("user/app");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "user/app")
        );
        assert_eq!(r.manifest_ref(), "1.0");
        // As docker and podman read it: index.docker.io is Docker Hub, library/ and all.
        let r = parse("docker://index.docker.io/alpine:3").expect("index.docker.io");
        assert_eq!(
            (r.api_host(), r.repository.as_str()),
            ("registry-1.docker.io", "library/alpine")
        );
        assert_eq!(r.to_string(), "docker://docker.io/library/alpine:3");
    }

    #[test]
    fn a_host_with_a_port_a_tag_and_a_digest() {
        let r = parse("docker://127.0.0.1:5000/test/busybox:v1").expect("port");
        assert_eq!(r.api_host(), "127.0.0.1:5000");
        assert_eq!(r.repository, "test/busybox");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        let digest = format!("sha256:{}", "ab".repeat(32));
        let r = parse(&format!("docker://localhost/a/b:v1@{digest}")).expect("digest");
        assert_eq!(
            (r.registry.as_str(), r.manifest_ref()),
            ("localhost", &*digest)
        );
        assert_eq!(r.to_string(), format!("docker://localhost/a/b@{digest}"));
        let r = parse("docker://quay.io/org/app").expect("quay");
        assert_eq!((r.api_host(), r.manifest_ref()), ("quay.io", "latest"));
    }

    #[test]
    fn malformed_references_are_refused() {
        for url in [
            "docker:alpine",
            "docker://Alpine",
            "docker://alpine:",
            "docker://alpine:-x",
            "docker://host.io/a//b",
            "docker://host.io/../b",
            "docker://alpine@sha256:12",
            "docker://host.io/a?x=1",
            "docker://ho st/a",
        ] {
            assert!(
                matches!(parse(url), Err(OciError::BadReference { .. })),
                "{url}"
            );
        }
    }
}
