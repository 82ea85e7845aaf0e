//! HTTPS downloads for images (LXC's download server, OCI registries): blocking,
//! with timeouts, a size bound, progress, and servers verified against the system's CA store
//! (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR` as OpenSSL reads them).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long to wait for a connection, and for each read: a server that is down fails in
/// seconds, a slow one is still given time for a large image.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Called with (bytes so far, total if the server said) while a body arrives.
pub type FetchProgress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error("no CA certificates found in the system's store (/etc/ssl/certs): {0}")]
    NoCaCertificates(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    #[error("{url}: the server answered {status} {reason}")]
    Status {
        url: String,
        status: u16,
        reason: String,
    },
    /// A 401, with the `WWW-Authenticate` challenge that says where to get a token.
    #[error("{url}: the server answered 401 Unauthorized")]
    Unauthorized {
        url: String,
        challenge: Option<String>,
    },
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: larger than the {limit} bytes allowed")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: got {got} bytes, the server announced {announced} (cut short?)")]
    Truncated {
        url: String,
        got: u64,
        announced: u64,
    },
    #[error("{url}: reading the body: {cause}")]
    Read { url: String, cause: io::Error },
    #[error("writing {path}: {cause}")]
    Write { path: PathBuf, cause: io::Error },
}

impl FetchError {
    /// True for a 404 (an optional file the server does not publish).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::Status { status: 404, .. })
    }
}

/// Request headers (`Accept`, `Authorization`) of a GET.
pub type Headers<'a> = &'a [(&'a str, &'a str)];

/// One HTTPS client, reused for every request of a create.
pub struct Fetcher {
    agent: ureq::Agent,
}

impl Fetcher {
    /// A client that trusts the system's CA store. `user_agent` names the caller (LXC's
    /// image server reads its compatibility level from it).
    pub fn new(user_agent: &str) -> Result<Fetcher, FetchError> {
        let loaded = rustls_native_certs::load_native_certs();
        let mut roots = rustls::RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
        if added == 0 {
            let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
            return Err(FetchError::NoCaCertificates(if errors.is_empty() {
                "the store is empty (install ca-certificates)".into()
            } else {
                errors.join("; ")
            }));
        }
        // ring rather than aws-lc-rs: it builds without cmake and links statically. rustls
        // deprecates it only for lacking post-quantum key exchange.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| FetchError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let agent = ureq::AgentBuilder::new()
            .tls_config(Arc::new(config))
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(READ_TIMEOUT)
            .user_agent(user_agent)
            // Image servers redirect to mirrors; the redirect is checked like the first URL,
            // and one to plain http is refused (ureq would follow it otherwise).
            .redirects(5)
            .https_only(true)
            .build();
        Ok(Fetcher { agent })
    }

    fn get(&self, url: &str, headers: Headers) -> Result<ureq::Response, FetchError> {
        let request = headers
            .iter()
            .fold(self.agent.get(url), |request, (name, value)| {
                request.set(name, value)
            });
        match request.call() {
            Ok(response) => Ok(response),
            Err(ureq::Error::Status(401, response)) => Err(FetchError::Unauthorized {
                url: url.to_string(),
                challenge: response.header("WWW-Authenticate").map(str::to_string),
            }),
            Err(ureq::Error::Status(status, response)) => Err(FetchError::Status {
                url: url.to_string(),
                status,
                reason: response.status_text().to_string(),
            }),
            Err(ureq::Error::Transport(transport)) => Err(FetchError::Transport {
                url: url.to_string(),
                reason: transport_reason(&transport),
            }),
        }
    }

    /// A small body (an index, a checksum list) in memory, at most `limit` bytes.
    pub fn bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        Ok(self.bytes_with(url, &[], limit)?.0)
    }

    /// [`Fetcher::bytes`] with request headers; also returns the body's `Content-Type`
    /// (without parameters), which a registry's manifest needs.
    pub fn bytes_with(
        &self,
        url: &str,
        headers: Headers,
        limit: u64,
    ) -> Result<(Vec<u8>, String), FetchError> {
        let response = self.get(url, headers)?;
        let content_type = response.content_type().to_string();
        let mut body = Vec::new();
        copy(
            response,
            url,
            &mut body,
            Path::new("(memory)"),
            limit,
            &mut |_, _| {},
        )?;
        Ok((body, content_type))
    }

    /// Downloads `url` to `dest` (created or truncated), at most `limit` bytes; the length
    /// the server announced must arrive. The caller renames `dest` into place once it has
    /// checked it: a failed download leaves only this file, which it removes.
    pub fn to_file(
        &self,
        url: &str,
        dest: &Path,
        limit: u64,
        progress: FetchProgress,
    ) -> Result<u64, FetchError> {
        self.to_file_with(url, &[], dest, limit, progress)
    }

    /// [`Fetcher::to_file`] with request headers.
    pub fn to_file_with(
        &self,
        url: &str,
        headers: Headers,
        dest: &Path,
        limit: u64,
        progress: FetchProgress,
    ) -> Result<u64, FetchError> {
        let write_error = |cause| FetchError::Write {
            path: dest.to_path_buf(),
            cause,
        };
        let response = self.get(url, headers)?;
        let mut file = File::create(dest).map_err(write_error)?;
        let got = copy(response, url, &mut file, dest, limit, progress)?;
        file.sync_all().map_err(write_error)?;
        Ok(got)
    }
}

/// The body of `response` into `out`, at most `limit` bytes, all the announced length.
fn copy(
    response: ureq::Response,
    url: &str,
    out: &mut dyn Write,
    dest: &Path,
    limit: u64,
    progress: FetchProgress,
) -> Result<u64, FetchError> {
    let announced = response
        .header("Content-Length")
        .and_then(|length| length.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > limit) {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit,
        });
    }
    let mut reader = response.into_reader();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(cause) => {
                return Err(FetchError::Read {
                    url: url.to_string(),
                    cause,
                })
            }
        };
        got += n as u64;
        if got > limit {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        out.write_all(&buffer[..n])
            .map_err(|cause| FetchError::Write {
                path: dest.to_path_buf(),
                cause,
            })?;
        progress(got, announced);
    }
    if let Some(announced) = announced.filter(|&length| length != got) {
        return Err(FetchError::Truncated {
            url: url.to_string(),
            got,
            announced,
        });
    }
    Ok(got)
}

/// ureq's transport errors, in words a user can act on.
fn transport_reason(transport: &ureq::Transport) -> String {
    let mut detail = transport.message().unwrap_or_default().to_string();
    let mut source = std::error::Error::source(transport);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            if !detail.is_empty() {
                detail.push_str(": ");
            }
            detail.push_str(&text);
        }
        source = cause.source();
    }
    if detail.contains("certificate") || detail.contains("Certificate") {
        return format!(
            "the server's certificate is not trusted (checked against the system's CA store, \
             /etc/ssl/certs): {detail}"
        );
    }
    match transport.kind() {
        ureq::ErrorKind::ConnectionFailed => {
            format!("cannot connect (is the server down or the address wrong?): {detail}")
        }
        ureq::ErrorKind::Dns => format!("cannot resolve the host name: {detail}"),
        ureq::ErrorKind::InsecureRequestHttpsOnly => {
            "the server redirected to plain http, which is not followed (https only)".into()
        }
        ureq::ErrorKind::Io => format!("connection failed or timed out: {detail}"),
        _ => transport.to_string(),
    }
}
