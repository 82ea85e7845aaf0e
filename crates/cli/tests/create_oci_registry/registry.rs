//! A real registry for the tests: Debian's `docker-registry` (the CNCF distribution server,
//! 2.8) on 127.0.0.1 behind TLS with a certificate from the test's CA, storage in a temporary
//! directory; optionally with token auth, whose token server (python3 behind TLS) the test
//! runs too, issuing RS256 JWTs with the signing certificate in `x5c`. Images are pushed
//! with the registry HTTP API v2 from a small python3 client. Everything is killed and
//! removed when the guards drop, pass or fail.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{make_certificates, run};

/// The token server: grants whatever scope is asked, unless the file `refuse` exists (then
/// 403). Every request's path is appended to the log.
const TOKEN_PY: &str = r#"
import base64, http.server, json, os, ssl, subprocess, sys, time, urllib.parse
cert, key, sign_key, sign_cert, issuer, log, refuse = sys.argv[1:8]
der = subprocess.run(["openssl", "x509", "-in", sign_cert, "-outform", "DER"],
                     capture_output=True, check=True).stdout
x5c = base64.b64encode(der).decode()
def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass
    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        if os.path.exists(refuse):
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        access = []
        for scope in query.get("scope", []):
            kind, rest = scope.split(":", 1)
            name, actions = rest.rsplit(":", 1)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [x5c]}
        claims = {"iss": issuer, "sub": "", "aud": query.get("service", [""])[0],
                  "exp": now + 600, "nbf": now - 60, "iat": now,
                  "jti": os.urandom(8).hex(), "access": access}
        signed = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", sign_key],
                                   input=signed.encode(), capture_output=True, check=True).stdout
        body = json.dumps({"token": signed + "." + b64(signature)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Pushes every tagged image of an OCI layout (manifests, nested indexes, blobs) with the
/// HTTP API v2: a blob is a POST for an upload URL, then a PUT with its digest.
const PUSH_PY: &str = r#"
import http.client, json, os, ssl, sys, urllib.parse
host, repo, ca, layout, token_url = sys.argv[1:6]
context = ssl.create_default_context(cafile=ca)
INDEXES = ("application/vnd.oci.image.index.v1+json",
           "application/vnd.docker.distribution.manifest.list.v2+json")
def request(method, url, body=b"", headers=None, auth=True):
    url = urllib.parse.urlsplit(url if "://" in url else "https://" + host + url)
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context)
    headers = dict(headers or {})
    if auth and token:
        headers["Authorization"] = "Bearer " + token
    path = url.path + ("?" + url.query if url.query else "")
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {data[:400]!r}")
    return response, data
token = ""
if token_url:
    _, data = request("GET", token_url + "&scope=repository:" + repo + ":pull,push", auth=False)
    token = json.loads(data)["token"]
def blob(digest):
    with open(os.path.join(layout, "blobs/sha256", digest.split(":")[1]), "rb") as f:
        return f.read()
def push_blob(digest):
    response, _ = request("POST", f"/v2/{repo}/blobs/uploads/")
    location = response.getheader("Location")
    separator = "&" if "?" in location else "?"
    request("PUT", location + separator + "digest=" + digest, blob(digest),
            {"Content-Type": "application/octet-stream"})
def push(descriptor, ref):
    data = blob(descriptor["digest"])
    if descriptor["mediaType"] in INDEXES:
        for nested in json.loads(data)["manifests"]:
            push(nested, nested["digest"])
    else:
        manifest = json.loads(data)
        for part in [manifest["config"]] + manifest["layers"]:
            push_blob(part["digest"])
    request("PUT", f"/v2/{repo}/manifests/{ref}", data,
            {"Content-Type": descriptor["mediaType"]})
with open(os.path.join(layout, "index.json")) as f:
    for descriptor in json.load(f)["manifests"]:
        push(descriptor, descriptor["annotations"]["org.opencontainers.image.ref.name"])
"#;

pub(crate) const SERVICE: &str = "rlxc-test-registry";

/// A running registry; killed, and its directory removed, when dropped.
pub(crate) struct Registry {
    child: Child,
    port: u16,
    token: Option<TokenServer>,
    dir: tempfile::TempDir,
}

/// The token server of a registry with token auth.
pub(crate) struct TokenServer {
    child: Child,
    port: u16,
}

impl Registry {
    /// Starts a registry; `with_token_auth` puts it behind the test's token server.
    pub(crate) fn start(with_token_auth: bool) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("rlxc-registry-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let path = dir.path();
        make_certificates(path);
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:0\n  tls:\n    certificate: {}\n    key: {}\n",
            path.join("storage").display(),
            path.join("server.pem").display(),
            path.join("server.key").display()
        );
        let token = with_token_auth.then(|| {
            let token = TokenServer::start(path);
            config.push_str(&format!(
                "auth:\n  token:\n    realm: https://127.0.0.1:{}/token\n    service: {SERVICE}\n\
                 \x20   issuer: rlxc-test-issuer\n    rootcertbundle: {}\n",
                token.port,
                path.join("signing.pem").display()
            ));
            token
        });
        fs::write(path.join("config.yml"), config).expect("config.yml");
        let log = fs::File::create(path.join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(path.join("config.yml"))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("docker-registry (Debian's docker-registry package)");
        let mut registry = Registry {
            child,
            port: 0,
            token,
            dir,
        };
        registry.port = registry.wait_for_port();
        registry
    }

    /// The port the registry chose, from its "listening on 127.0.0.1:PORT" line.
    fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            let port = log
                .split("listening on 127.0.0.1:")
                .nth(1)
                .and_then(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                });
            if let Some(port) = port {
                return port;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}):\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "docker-registry did not start:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(crate) fn token_port(&self) -> u16 {
        self.token
            .as_ref()
            .expect("a registry with token auth")
            .port
    }

    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub(crate) fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The paths the token server was asked for.
    pub(crate) fn token_requests(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("token-requests"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// From now on the token server answers 403.
    pub(crate) fn refuse_tokens(&self) {
        fs::write(self.dir.path().join("refuse"), "").expect("refuse");
    }

    /// Pushes the tagged images of `layout` to `repository`.
    pub(crate) fn push(&self, repository: &str, layout: &Path) {
        let token_url = match &self.token {
            Some(token) => format!("https://127.0.0.1:{}/token?service={SERVICE}", token.port),
            None => String::new(),
        };
        run(Command::new("python3")
            .arg("-c")
            .arg(PUSH_PY)
            .arg(self.address())
            .arg(repository)
            .arg(self.ca())
            .arg(layout)
            .arg(token_url));
    }

    /// The file holding blob `digest` in the registry's storage.
    pub(crate) fn stored_blob(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256");
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }

    /// The status and `WWW-Authenticate` of an anonymous GET of `path`, with curl.
    pub(crate) fn anonymous_get(&self, path: &str) -> String {
        let output = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-D", "-", "--cacert"])
            .arg(self.ca())
            .arg(format!("https://{}{path}", self.address()))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl TokenServer {
    /// Starts the token server with a fresh RSA signing key and self-signed certificate
    /// (`signing.pem`, the registry's `rootcertbundle`).
    fn start(dir: &Path) -> TokenServer {
        run(Command::new("openssl")
            .current_dir(dir)
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
            .args([
                "-keyout",
                "signing.key",
                "-out",
                "signing.pem",
                "-days",
                "2",
            ])
            .args(["-subj", "/CN=rlxc test token issuer"]));
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(TOKEN_PY)
            .arg(dir.join("server.pem"))
            .arg(dir.join("server.key"))
            .arg(dir.join("signing.key"))
            .arg(dir.join("signing.pem"))
            .arg("rlxc-test-issuer")
            .arg(dir.join("token-requests"))
            .arg(dir.join("refuse"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("port");
        let port = line.trim().parse().expect("the token server's port");
        TokenServer { child, port }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The token server (a field) is dropped next, the directory last.
    }
}
