//! Issue 20's speed case: `create -t download` of a Debian 12 image already in the tool's
//! cache, rlxc against `lxc-create -t download`. Both ask one local HTTPS server for the index
//! (python3 behind TLS, a certificate from a CA made here: LXC's wget trusts it through
//! WGETRC, rlxc through SSL_CERT_FILE) and unpack the cached image. The image is the systemd
//! guest as `rootfs.tar.xz`, made once per machine in the test suite's cache, by the script the
//! tests use (same path and lock: either makes it for the other).

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::cases::Results;
use crate::env::Env;
use crate::tools::{Case, Tool};
use crate::{guest, Rng};

const SUPPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/cli/tests/support");
const IMAGES: &str = "/var/cache/rlxc-test/images";
const ARCHIVE: &str = "bookworm-systemd.rootfs.tar.xz";
const BUILD: &str = "20260101_00:00";
const IMAGE_PATH: &str = "images/debian/bookworm/amd64/default/20260101_00:00";

/// The image server: killed when dropped; its files live in the bench's scratch directory.
pub struct ImageServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl ImageServer {
    /// Serves the guest image (made now if this machine has none yet) from `dir`.
    pub fn start(dir: PathBuf) -> Result<ImageServer, String> {
        let archive = guest_image()?;
        let www = dir.join("www");
        let image = www.join(IMAGE_PATH);
        fs::create_dir_all(&image).map_err(|e| format!("{}: {e}", image.display()))?;
        fs::create_dir_all(www.join("meta/1.0")).map_err(|e| e.to_string())?;
        run(Command::new("sh")
            .arg(format!("{SUPPORT}/test_ca.sh"))
            .arg(&dir))?;
        // A hard link, not a copy: the scratch directory is on the cache's filesystem or not.
        let target = image.join("rootfs.tar.xz");
        if fs::hard_link(&archive, &target).is_err() {
            fs::copy(&archive, &target).map_err(|e| format!("copying the image: {e}"))?;
        }
        let meta = dir.join("meta");
        fs::create_dir_all(&meta).map_err(|e| e.to_string())?;
        fs::write(
            meta.join("config"),
            format!(
                "lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\nlxc.arch = {}\n",
                std::env::consts::ARCH
            ),
        )
        .map_err(|e| e.to_string())?;
        fs::write(meta.join("templates"), "/etc/hostname\n").map_err(|e| e.to_string())?;
        run(Command::new("tar")
            .arg("-cJf")
            .arg(image.join("meta.tar.xz"))
            .arg("-C")
            .arg(&meta)
            .arg("."))?;
        fs::write(
            www.join("meta/1.0/index-system"),
            format!("debian;bookworm;amd64;default;{BUILD};/{IMAGE_PATH}/\n"),
        )
        .map_err(|e| e.to_string())?;
        fs::write(
            dir.join("wgetrc"),
            format!("ca_certificate = {}\n", dir.join("ca.pem").display()),
        )
        .map_err(|e| e.to_string())?;
        let mut child = Command::new("python3")
            .arg(format!("{SUPPORT}/https_server.py"))
            .arg(&www)
            .arg(dir.join("server.pem"))
            .arg(dir.join("server.key"))
            .arg(dir.join("requests"))
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("python3: {e}"))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("the server's stdout")?;
        let _ = BufReader::new(stdout).read_line(&mut line);
        let Ok(port) = line.trim().parse() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the image server did not start: {line:?}"));
        };
        Ok(ImageServer { child, port, dir })
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The tool's `create -t download` of the image, with its cache in the scratch directory.
    fn create(&self, env: &Env, tool: Tool, name: &str) -> Option<Command> {
        let mut create = env.create_command(tool, name)?;
        create
            .args([
                "-t", "download", "--", "-d", "debian", "-r", "bookworm", "-a",
            ])
            .args(["amd64", "--server", &self.address()])
            .env("SSL_CERT_FILE", self.dir.join("ca.pem"))
            .env("RLXC_CACHE_DIR", self.dir.join("rlxc-cache"))
            .env("WGETRC", self.dir.join("wgetrc"))
            .env("LXC_CACHE_PATH", self.dir.join("lxc-cache"));
        Some(create)
    }
}

impl Drop for ImageServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The guest's image archive, made once per machine (a minute of xz).
fn guest_image() -> Result<PathBuf, String> {
    let archive = Path::new(IMAGES).join(ARCHIVE);
    if archive.exists() {
        return Ok(archive);
    }
    let rootfs = guest::cached_rootfs()?;
    fs::create_dir_all(IMAGES).map_err(|e| format!("{IMAGES}: {e}"))?;
    let lock_path = Path::new(IMAGES).join("bookworm-systemd.lock");
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("locking {}: {e}", lock_path.display()))?;
    if !archive.exists() {
        eprintln!("rlxc-bench: making the image archive of the systemd guest (once)");
        run(Command::new("sh")
            .arg(format!("{SUPPORT}/guest_image.sh"))
            .arg(&rootfs)
            .arg(&archive))?;
    }
    Ok(archive)
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Creates the image once per tool and round, after an untimed warm create that fills the
/// tool's cache (see [`crate::rounds`]).
pub fn image_rounds(
    env: &Env,
    res: &mut Results,
    tools: &[Tool],
    rounds: usize,
    rng: &mut Rng,
) -> Result<(), String> {
    let image_tools = Tool::lxc_conf_tools(tools);
    let server = match ImageServer::start(env.dir.join("images")) {
        Ok(server) => server,
        Err(e) => {
            res.not_available(&[Case::ImageCreate], &image_tools, &e);
            eprintln!("rlxc-bench: no image server: {e}");
            return Ok(());
        }
    };
    crate::rounds::making_rounds(
        env,
        res,
        Case::ImageCreate,
        "image",
        "create from a cached image",
        &image_tools,
        rounds,
        rng,
        |tool, name| server.create(env, tool, name),
    )
}
