//! The test images: layers written in Rust (whiteouts, an opaque directory, owners, an
//! xattr, a device node, links), gzip/zstd/plain blobs, OCI layouts and docker archives.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::World;

pub(crate) fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The host's architecture as OCI names it.
pub(crate) fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// A layer being written: plain tar, compressed later.
pub(crate) struct Layer(pub(crate) tar::Builder<Vec<u8>>);

impl Layer {
    pub(crate) fn new() -> Layer {
        Layer(tar::Builder::new(Vec::new()))
    }

    pub(crate) fn entry(
        &mut self,
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        owner: u64,
        data: &[u8],
    ) {
        let mut header = tar::Header::new_gnu();
        header.set_path(path).expect("path");
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(owner);
        header.set_gid(owner);
        header.set_mtime(1_600_000_000);
        header.set_size(data.len() as u64);
        header.set_cksum();
        self.0.append(&header, data).expect("append");
    }

    pub(crate) fn file(&mut self, path: &str, mode: u32, owner: u64, data: &[u8]) {
        self.entry(path, tar::EntryType::Regular, mode, owner, data);
    }

    pub(crate) fn dir(&mut self, path: &str, mode: u32, owner: u64) {
        self.entry(path, tar::EntryType::Directory, mode, owner, b"");
    }

    pub(crate) fn link(&mut self, path: &str, kind: tar::EntryType, target: &str) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(0o777);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_600_000_000);
        header.set_size(0);
        self.0.append_link(&mut header, path, target).expect("link");
    }

    pub(crate) fn device(&mut self, path: &str, major: u32, minor: u32) {
        let mut header = tar::Header::new_gnu();
        header.set_path(path).expect("path");
        header.set_entry_type(tar::EntryType::Char);
        header.set_mode(0o620);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1_600_000_000);
        header.set_size(0);
        header.set_device_major(major).expect("major");
        header.set_device_minor(minor).expect("minor");
        header.set_cksum();
        self.0.append(&header, &b""[..]).expect("device");
    }

    /// A pax header carrying an xattr for the member that follows.
    pub(crate) fn xattr(&mut self, name: &str, value: &str) {
        let body = format!(" SCHILY.xattr.{name}={value}\n");
        // The record's length counts its own digits.
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        let record = format!("{len}{body}");
        let mut header = tar::Header::new_ustar();
        header.set_path("PaxHeaders/x").expect("path");
        header.set_entry_type(tar::EntryType::XHeader);
        header.set_size(record.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        self.0.append(&header, record.as_bytes()).expect("pax");
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.into_inner().expect("finish the layer")
    }
}

/// The base layer: a busybox rootfs as `rlxc create -t busybox` makes it (in a world of its
/// own, so the test's lxcpath holds only what the test creates from the image).
pub(crate) fn base_layer() -> Vec<u8> {
    let world = World::new();
    let donor = world.busybox("oci-donor");
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder
        .append_dir_all(".", world.rootfs(&donor))
        .expect("tar the busybox rootfs");
    builder.into_inner().expect("finish")
}

/// The middle layer: a user, a whiteout, an opaque directory, owners, an xattr, a device
/// node, a symlink and a hard link.
pub(crate) fn middle_layer() -> Vec<u8> {
    let mut layer = Layer::new();
    layer.file(
        "etc/passwd",
        0o644,
        0,
        b"root::0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    );
    layer.file("etc/group", 0o644, 0, b"root:x:0:\napp:x:1000:\n");
    layer.file("etc/.wh.inittab", 0o600, 0, b"");
    layer.dir("etc/init.d/", 0o755, 0);
    layer.file("etc/init.d/.wh..wh..opq", 0o600, 0, b"");
    layer.file("etc/init.d/only-upper", 0o755, 0, b"#!/bin/sh\n");
    layer.dir("home/", 0o755, 0);
    layer.dir("home/app/", 0o750, 1000);
    layer.xattr("user.rlxc", "kept");
    layer.file("home/app/data", 0o640, 1000, b"app data\n");
    layer.link("home/app/data.hard", tar::EntryType::Link, "home/app/data");
    layer.link("home/app/sh", tar::EntryType::Symlink, "/bin/busybox");
    layer.file("home/app/scratch", 0o644, 1000, b"gone in the next layer\n");
    layer.dir("dev/", 0o755, 0);
    layer.device("dev/rlxc-null", 1, 3);
    layer.finish()
}

/// The top layer, uncompressed: a whiteout of a file of the layer below.
pub(crate) fn top_layer() -> Vec<u8> {
    let mut layer = Layer::new();
    layer.file("home/app/.wh.scratch", 0o600, 0, b"");
    layer.file("home/app/top", 0o600, 1000, b"top\n");
    layer.finish()
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// The image config: prints what the checks look for.
pub(crate) fn image_config(diff_ids: &[String], cmd: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": arch(),
        "os": "linux",
        "config": {
            "User": "app",
            "Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "GREETING=hello oci"],
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": cmd,
            "WorkingDir": "/home/app",
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .expect("config json")
}

pub(crate) const SAY: &str = "echo \"$GREETING from $(pwd) as $(id -u):$(id -g)\"";
pub(crate) const SAID: &str = "hello oci from /home/app as 1000:1000\n";

/// The layers of the test image: (plain tar, blob as stored, media type).
pub(crate) struct Layers(pub(crate) Vec<(Vec<u8>, Vec<u8>, &'static str)>);

impl Layers {
    pub(crate) fn new() -> Layers {
        let base = base_layer();
        let middle = middle_layer();
        let top = top_layer();
        Layers(vec![
            (
                base.clone(),
                gzip(&base),
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
            (
                middle.clone(),
                zstd::stream::encode_all(&middle[..], 1).expect("zstd"),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            (top.clone(), top, "application/vnd.oci.image.layer.v1.tar"),
        ])
    }

    pub(crate) fn diff_ids(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(plain, _, _)| format!("sha256:{}", sha256(plain)))
            .collect()
    }
}

/// Writes an OCI image layout: tag `v1` runs [`SAY`], tag `server` (through a nested
/// multi-architecture index) a long-running command.
pub(crate) fn write_layout(dir: &Path, layers: &Layers) {
    fs::create_dir_all(dir.join("blobs/sha256")).expect("blobs");
    let blob = |bytes: &[u8], media_type: &str| -> Value {
        let digest = sha256(bytes);
        fs::write(dir.join("blobs/sha256").join(&digest), bytes).expect("blob");
        json!({"mediaType": media_type, "digest": format!("sha256:{digest}"), "size": bytes.len()})
    };
    let layer_descriptors: Vec<Value> = layers
        .0
        .iter()
        .map(|(_, stored, media_type)| blob(stored, media_type))
        .collect();
    let manifest = |cmd: &[&str]| -> Value {
        let config = blob(
            &image_config(&layers.diff_ids(), cmd),
            "application/vnd.oci.image.config.v1+json",
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layer_descriptors,
        });
        blob(
            &serde_json::to_vec(&manifest).expect("manifest"),
            "application/vnd.oci.image.manifest.v1+json",
        )
    };
    let mut v1 = manifest(&[SAY]);
    v1["annotations"] = json!({"org.opencontainers.image.ref.name": "v1"});
    let mut server = manifest(&["echo up > /tmp/up; exec sleep 600"]);
    server["platform"] = json!({"architecture": arch(), "os": "linux"});
    // Another architecture's entry, whose blob is not even there: never to be read.
    let other = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{}", "0".repeat(64)),
        "size": 1,
        "platform": {"architecture": if arch() == "s390x" { "amd64" } else { "s390x" }, "os": "linux"},
    });
    let nested = json!({"schemaVersion": 2, "manifests": [other, server]});
    let mut nested = blob(
        &serde_json::to_vec(&nested).expect("index"),
        "application/vnd.oci.image.index.v1+json",
    );
    nested["annotations"] = json!({"org.opencontainers.image.ref.name": "server"});
    let index = json!({"schemaVersion": 2, "manifests": [v1, nested]});
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("index"),
    )
    .expect("index.json");
    fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).expect("oci-layout");
}

/// A `docker save` archive of the same image: uncompressed layers in `lN/layer.tar`, the
/// config named by its digest.
pub(crate) fn write_docker_archive(file: &Path, layers: &Layers) {
    write_docker_archive_with_config_of(file, layers, layers);
}

/// A docker archive with `layers`' content but `described`'s config (its diff_ids).
pub(crate) fn write_docker_archive_with_config_of(
    file: &Path,
    layers: &Layers,
    described: &Layers,
) {
    let mut archive = tar::Builder::new(fs::File::create(file).expect("archive"));
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(bytes.len() as u64);
        archive
            .append_data(&mut header, name, bytes)
            .expect("member");
    };
    let config = image_config(&described.diff_ids(), &[SAY]);
    let config_name = format!("{}.json", sha256(&config));
    add(&config_name, &config);
    let names: Vec<String> = (0..layers.0.len())
        .map(|i| format!("l{i}/layer.tar"))
        .collect();
    for ((plain, _, _), name) in layers.0.iter().zip(&names) {
        add(name, plain);
    }
    let manifest = json!([{"Config": config_name, "RepoTags": ["rlxc/test:v1"], "Layers": names}]);
    add(
        "manifest.json",
        &serde_json::to_vec(&manifest).expect("manifest"),
    );
    archive.finish().expect("finish");
}

/// An OCI layout of `layers` (plain tars), with a config that runs [`SAY`].
pub(crate) fn plain_layout(dir: &Path, layers: Vec<Vec<u8>>) {
    let layers = Layers(
        layers
            .into_iter()
            .map(|tar| (tar.clone(), tar, "application/vnd.oci.image.layer.v1.tar"))
            .collect(),
    );
    write_layout(dir, &layers);
}

/// Starts a container of the `server` image and checks from the host that its init is the
/// image's command (`sleep 600`, as uid 1000), which has written `/tmp/up`.
pub(crate) fn start_and_check_the_server_command(world: &World, name: &str) {
    world.rlxc(&["start", "-n", name]).assert().success();
    assert_eq!(world.state(name), "RUNNING");
    let pid = world.init_pid(name);
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).expect("cmdline");
    assert_eq!(cmdline, b"sleep\x00600\x00", "the image's command is init");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    assert!(
        status.lines().any(|l| l.starts_with("Uid:\t1000\t")),
        "{status}"
    );
    let up = world.rootfs(name).join("tmp/up");
    assert_eq!(fs::read_to_string(&up).expect("written by Cmd"), "up\n");
}
