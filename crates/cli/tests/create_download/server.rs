//! The test's HTTPS image server (python3's http.server behind TLS, a certificate from a CA
//! the test makes) and the download trees it serves.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::World;

pub(crate) const BUILD: &str = "20260101_00:00";

/// A download tree (`meta/1.0/index-system`, `images/...`) served over HTTPS; every request's
/// path is appended to `requests`. The server is killed when dropped.
pub(crate) struct ImageServer {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

pub(crate) const SERVER_PY: &str = include_str!("../support/https_server.py");

pub(crate) fn run(command: &mut Command) {
    let output = command.output().expect("spawn");
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

impl ImageServer {
    pub(crate) fn start() -> ImageServer {
        let dir = tempfile::Builder::new()
            .prefix("rlxc-images-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        make_certificates(dir.path());
        fs::create_dir_all(dir.path().join("www/meta/1.0")).expect("mkdir");
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SERVER_PY)
            .arg(dir.path().join("www"))
            .arg(dir.path().join("server.pem"))
            .arg(dir.path().join("server.key"))
            .arg(dir.path().join("requests"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("port");
        let port = line.trim().parse().expect("the server's port");
        ImageServer { dir, child, port }
    }

    pub(crate) fn server(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub(crate) fn www(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    pub(crate) fn requests(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("requests"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Publishes an image: its directory with the two archives (and SHA256SUMS), and its
    /// line in the index.
    pub(crate) fn publish(
        &self,
        dist: &str,
        release: &str,
        rootfs_xz: &Path,
        meta_xz: &Path,
    ) -> PathBuf {
        let arch = "amd64";
        let path = format!("images/{dist}/{release}/{arch}/default/{BUILD}");
        let dir = self.www().join(&path);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::copy(rootfs_xz, dir.join("rootfs.tar.xz")).expect("copy rootfs");
        fs::copy(meta_xz, dir.join("meta.tar.xz")).expect("copy meta");
        run(Command::new("sh").arg("-c").arg(format!(
            "cd '{}' && sha256sum rootfs.tar.xz meta.tar.xz > SHA256SUMS",
            dir.display()
        )));
        let index = self.www().join("meta/1.0/index-system");
        let mut text = fs::read_to_string(&index).unwrap_or_default();
        text.push_str(&format!(
            "{dist};{release};{arch};default;{BUILD};/{path}/\n"
        ));
        fs::write(&index, text).expect("index");
        dir
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it (`ca.pem`, `server.pem`,
/// `server.key`).
pub(crate) fn make_certificates(dir: &Path) {
    run(Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/test_ca.sh"
        ))
        .arg(dir));
}

/// A busybox rootfs (made by `rlxc create -t busybox`) with LXC's template variables in
/// /etc/hostname and /etc/hosts, and its metadata, as `rootfs.tar.xz` and `meta.tar.xz`.
pub(crate) fn busybox_image(world: &World, out: &Path) -> (PathBuf, PathBuf) {
    let name = world.busybox("image-src");
    let rootfs = world.rootfs(&name);
    fs::write(rootfs.join("etc/hostname"), "LXC_NAME\n").expect("hostname");
    fs::write(
        rootfs.join("etc/hosts"),
        "127.0.0.1 localhost\n127.0.1.1 LXC_NAME\n",
    )
    .expect("hosts");
    fs::write(
        rootfs.join("etc/left-out"),
        "excluded for unprivileged containers\n",
    )
    .expect("left-out");
    let rootfs_xz = out.join("rootfs.tar.xz");
    run(Command::new("tar")
        .args(["--numeric-owner", "-cJf"])
        .arg(&rootfs_xz)
        .arg("-C")
        .arg(&rootfs)
        .arg("."));
    let meta = out.join("meta");
    fs::create_dir_all(&meta).expect("meta");
    let arch = std::env::consts::ARCH;
    fs::write(
        meta.join("config"),
        format!("lxc.include = LXC_TEMPLATE_CONFIG/common.conf\nlxc.arch = {arch}\n"),
    )
    .expect("config");
    fs::write(
        meta.join("config-user"),
        format!(
            "lxc.include = LXC_TEMPLATE_CONFIG/common.conf\n\
             lxc.include = LXC_TEMPLATE_CONFIG/userns.conf\nlxc.arch = {arch}\n"
        ),
    )
    .expect("config-user");
    fs::write(meta.join("excludes-user"), "./etc/left-out\n").expect("excludes");
    fs::write(
        meta.join("templates"),
        "/etc/hostname\n/etc/hosts\n/etc/missing\n",
    )
    .expect("templates");
    fs::write(
        meta.join("fstab"),
        "# the extra mounts of LXC_NAME\nnone tmp tmpfs size=1m,create=dir 0 0\n",
    )
    .expect("fstab");
    fs::write(meta.join("create-message"), "Welcome to the test image.\n").expect("message");
    fs::write(meta.join("expiry"), "4102444800\n").expect("expiry");
    let meta_xz = out.join("meta.tar.xz");
    run(Command::new("tar")
        .args(["--numeric-owner", "-cJf"])
        .arg(&meta_xz)
        .arg("-C")
        .arg(&meta)
        .arg("."));
    (rootfs_xz, meta_xz)
}

/// A world, its image server with the busybox image published as `busybox 1.36 amd64`.
pub(crate) fn serving_busybox() -> (World, ImageServer) {
    let world = World::new();
    let server = ImageServer::start();
    let (rootfs_xz, meta_xz) = busybox_image(&world, world.dir.path());
    server.publish("busybox", "1.36", &rootfs_xz, &meta_xz);
    (world, server)
}

pub(crate) fn cache_dir(world: &World) -> PathBuf {
    world.dir.path().join("cache")
}

/// `rlxc ARGS` trusting the test's CA, with the world's own image cache.
pub(crate) fn rlxc(world: &World, server: &ImageServer, args: &[&str]) -> assert_cmd::Command {
    let mut command = world.rlxc(args);
    command
        .env("SSL_CERT_FILE", server.ca())
        .env("RLXC_CACHE_DIR", cache_dir(world));
    command
}

pub(crate) fn create_args<'a>(name: &'a str, server: &'a str, release: &'a str) -> Vec<&'a str> {
    vec![
        "create", "-n", name, "-t", "download", "--", "-d", "busybox", "-r", release, "-a",
        "amd64", "--server", server,
    ]
}

pub(crate) fn rootfs_requests(server: &ImageServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|path| path.ends_with("/rootfs.tar.xz"))
        .count()
}
