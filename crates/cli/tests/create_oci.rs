//! `rlxc create -t oci -- --url oci:DIR[:TAG] | oci-archive:FILE | docker-archive:FILE`:
//! images are built here, with no network: a base layer from a busybox rootfs and two upper
//! layers with whiteouts, an opaque directory, owners, modes, an xattr, a device node and
//! links, in gzip, zstd and plain tar. The created rootfs is checked on disk, the config keys
//! as written, and `rlxc execute` / `rlxc start` run the image's command as its config says.

#[path = "create_oci/image.rs"]
mod image;
mod support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use image::*;
use predicates::prelude::*;
use support::World;

fn create(world: &World, name: &str, url: &str) -> assert_cmd::assert::Assert {
    world
        .rlxc(&["create", "-n", name, "-t", "oci", "--", "--url", url])
        .assert()
}

fn check_rootfs(rootfs: &Path) {
    assert!(rootfs.join("bin/busybox").is_file(), "the base layer");
    assert!(
        !rootfs.join("etc/inittab").exists(),
        "the whiteout removed the lower file"
    );
    let init_d: Vec<String> = fs::read_dir(rootfs.join("etc/init.d"))
        .expect("init.d")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(init_d, ["only-upper"], "the opaque directory hides rcS/rcK");
    assert!(
        !rootfs.join("home/app/scratch").exists(),
        "top layer whiteout"
    );
    let data = fs::metadata(rootfs.join("home/app/data")).expect("data");
    assert_eq!(
        (data.uid(), data.gid(), data.mode() & 0o7777),
        (1000, 1000, 0o640)
    );
    let home = fs::metadata(rootfs.join("home/app")).expect("home");
    assert_eq!((home.uid(), home.mode() & 0o7777), (1000, 0o750));
    let mut value = [0u8; 64];
    let len = rustix::fs::getxattr(rootfs.join("home/app/data"), "user.rlxc", &mut value[..])
        .expect("the xattr is kept");
    assert_eq!(&value[..len], b"kept");
    let hard = fs::metadata(rootfs.join("home/app/data.hard")).expect("hard link");
    assert_eq!(hard.ino(), data.ino(), "a hard link, not a copy");
    assert_eq!(
        fs::read_link(rootfs.join("home/app/sh")).expect("symlink"),
        Path::new("/bin/busybox")
    );
    let node = fs::symlink_metadata(rootfs.join("dev/rlxc-null")).expect("device");
    assert!(node.file_type().is_char_device());
    assert_eq!(node.rdev(), rustix::fs::makedev(1, 3));
    for dir in ["proc", "sys", "dev"] {
        assert!(rootfs.join(dir).is_dir(), "mount point /{dir}");
    }
}

fn lxcpath_is_empty(world: &World) {
    let left: Vec<_> = fs::read_dir(world.lxcpath())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn an_oci_layout_makes_the_rootfs_the_config_and_an_app_that_executes() {
    let world = World::new();
    let layers = Layers::new();
    let layout = world.dir.path().join("layout");
    write_layout(&layout, &layers);
    let name = world.name("oci-layout");
    create(&world, &name, &format!("oci:{}:v1", layout.display())).success();
    check_rootfs(&world.rootfs(&name));

    let config = world.config(&name);
    let text = fs::read_to_string(&config).expect("config");
    assert!(text.starts_with("# Template used to create this container: rlxc oci"));
    let spec = rlxc_config::load_file(&config, &[]).expect("loads").spec;
    let command = format!("/bin/sh -c '{SAY}'");
    assert_eq!(spec.init.execute_cmd.as_deref(), Some(command.as_str()));
    assert_eq!(spec.init.cmd.as_deref(), Some(command.as_str()));
    assert_eq!(
        spec.environment,
        ["PATH=/bin:/usr/bin:/sbin:/usr/sbin", "GREETING=hello oci"]
    );
    assert_eq!(spec.init.cwd.as_deref(), Some("/home/app"));
    assert_eq!((spec.init.uid, spec.init.gid), (Some(1000), Some(1000)));
    assert_eq!(
        spec.rootfs.path,
        Some(world.rootfs(&name).display().to_string())
    );
    assert_eq!(spec.uts_name.as_deref(), Some(name.as_str()));
    let rootfs = world.rootfs(&name);
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/hostname")).expect("hostname"),
        format!("{name}\n")
    );
    let hosts = fs::read_to_string(rootfs.join("etc/hosts")).expect("hosts");
    assert!(hosts.contains(&format!("127.0.1.1   {name}\n")), "{hosts}");

    let out = world.output(&["execute", "-n", &name]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), SAID);
}

#[test]
fn start_runs_a_long_running_cmd_chosen_through_a_multi_arch_index() {
    let world = World::new();
    let layers = Layers::new();
    let layout = world.dir.path().join("layout");
    write_layout(&layout, &layers);
    let name = world.name("oci-server");
    create(&world, &name, &format!("oci:{}:server", layout.display())).success();
    start_and_check_the_server_command(&world, &name);
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();
}

#[test]
fn a_docker_archive_and_an_oci_archive_make_the_same_container() {
    let world = World::new();
    let layers = Layers::new();
    let docker = world.dir.path().join("image.docker.tar");
    write_docker_archive(&docker, &layers);
    let layout = world.dir.path().join("layout");
    write_layout(&layout, &layers);
    let oci_archive = world.dir.path().join("image.oci.tar");
    let mut builder = tar::Builder::new(fs::File::create(&oci_archive).expect("archive"));
    builder
        .append_dir_all(".", &layout)
        .expect("tar the layout");
    builder.finish().expect("finish");

    for (base, url) in [
        ("oci-docker", format!("docker-archive:{}", docker.display())),
        (
            "oci-docker-tag",
            format!("docker-archive:{}:rlxc/test:v1", docker.display()),
        ),
        (
            "oci-archive",
            format!("oci-archive:{}:v1", oci_archive.display()),
        ),
    ] {
        let name = world.name(base);
        create(&world, &name, &url).success();
        check_rootfs(&world.rootfs(&name));
        let out = world.output(&["execute", "-n", &name]);
        assert!(out.status.success(), "{url}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), SAID, "{url}");
    }
}

/// Changes the layout's blob of `stored`, keeping its name.
fn tamper(layout: &Path, stored: &[u8], change: impl FnOnce(&mut Vec<u8>)) {
    let path = layout.join("blobs/sha256").join(sha256(stored));
    let mut bytes = stored.to_vec();
    change(&mut bytes);
    fs::write(path, bytes).expect("tamper");
}

#[test]
fn a_tampered_or_missing_blob_and_an_unknown_tag_leave_nothing() {
    let world = World::new();
    let layers = Layers::new();
    let layout = world.dir.path().join("layout");
    write_layout(&layout, &layers);
    let url = format!("oci:{}:v1", layout.display());
    let top = &layers.0[2].1;
    let top_digest = format!("sha256:{}", sha256(top));

    // Same size, one byte changed.
    tamper(&layout, top, |bytes| bytes[600] ^= 1);
    create(&world, "tampered", &url)
        .code(1)
        .stderr(predicate::str::contains(format!(
            "blob {top_digest} has sha256:"
        )))
        .stderr(predicate::str::contains("tampered with"));
    lxcpath_is_empty(&world);

    fs::remove_file(layout.join("blobs/sha256").join(sha256(top))).expect("rm");
    create(&world, "missing", &url)
        .code(1)
        .stderr(predicate::str::contains(format!(
            "blob {top_digest} is missing"
        )));
    lxcpath_is_empty(&world);

    create(&world, "untagged", &format!("oci:{}:v2", layout.display()))
        .code(1)
        .stderr(predicate::str::contains(
            "no image tagged \"v2\" (tags: v1, server)",
        ));
    create(&world, "registry", "docker://docker.io/Library/busybox")
        .code(1)
        .stderr(predicate::str::contains(
            "a repository is lower-case letters",
        ));
    lxcpath_is_empty(&world);
}

#[test]
fn a_layer_that_climbs_out_or_does_not_match_its_diff_id_leaves_nothing() {
    let world = World::new();
    let mut layers = Layers::new();
    // A `../` member in the top layer, with a consistent digest and diff_id: refused on
    // unpacking, not for a checksum.
    let mut evil = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_size(4);
    header.set_entry_type(tar::EntryType::Regular);
    // set_path refuses `..`; the raw name field does not.
    header.as_old_mut().name[..13].copy_from_slice(b"../escaped-by");
    header.set_cksum();
    evil.append(&header, &b"evil"[..]).expect("append");
    let evil = evil.into_inner().expect("finish");
    layers.0[2] = (evil.clone(), evil, "application/vnd.oci.image.layer.v1.tar");
    let layout = world.dir.path().join("layout");
    write_layout(&layout, &layers);
    create(&world, "escape", &format!("oci:{}:v1", layout.display()))
        .code(1)
        .stderr(predicate::str::contains(
            "refusing member \"../escaped-by\"",
        ));
    lxcpath_is_empty(&world);
    assert!(!world.dir.path().join("escaped-by").exists());
    assert!(!world.lxcpath().join("escaped-by").exists());

    // A docker archive whose layer content does not match the config's diff_id.
    let good = Layers::new();
    let docker = world.dir.path().join("bad.docker.tar");
    let mut changed = Layers(good.0.clone());
    changed.0[1].0 = middle_layer_with_extra();
    write_docker_archive_with_config_of(&docker, &changed, &good);
    create(
        &world,
        "corrupt",
        &format!("docker-archive:{}", docker.display()),
    )
    .code(1)
    .stderr(predicate::str::contains("unpacks to content with sha256:"))
    .stderr(predicate::str::contains("corrupt or was tampered with"));
    lxcpath_is_empty(&world);
}

fn middle_layer_with_extra() -> Vec<u8> {
    let mut layer = Layer::new();
    layer.file(
        "etc/extra",
        0o644,
        0,
        b"not in the image the config describes\n",
    );
    layer.finish()
}

/// Images made by a real producer: `podman build` from a scratch Containerfile (no registry),
/// then `podman push oci:DIR`, `podman save --format oci-archive` and `--format
/// docker-archive`. Podman keeps its store in the test's directory (vfs: no mounts to leave).
#[test]
fn images_built_and_saved_by_podman_create_containers_that_run_their_command() {
    let world = World::new();
    let work = world.dir.path().join("podman");
    fs::create_dir_all(&work).expect("work dir");
    fs::write(work.join("rootfs.tar"), base_layer()).expect("rootfs.tar");
    fs::write(
        work.join("Containerfile"),
        "FROM scratch\nADD rootfs.tar /\nENV GREETING=podman\nWORKDIR /srv/app\n\
         USER 1000:1000\nENTRYPOINT [\"/bin/sh\", \"-c\"]\n\
         CMD [\"echo $GREETING in $(pwd) as $(id -u):$(id -g)\"]\n",
    )
    .expect("Containerfile");
    let podman = |args: &[&str]| {
        let out = std::process::Command::new("podman")
            .arg("--root")
            .arg(work.join("storage"))
            .arg("--runroot")
            .arg(work.join("run"))
            .arg("--tmpdir")
            .arg(work.join("tmp"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .current_dir(&work)
            .output()
            .expect("podman (Debian's podman package, installed by scripts/lib.sh)");
        assert!(out.status.success(), "podman {args:?}: {out:?}");
    };
    podman(&["build", "-q", "-t", "rlxc-oci-test:v1", "."]);
    let layout = work.join("layout");
    podman(&[
        "push",
        "-q",
        "rlxc-oci-test:v1",
        &format!("oci:{}:v1", layout.display()),
    ]);
    let oci_archive = work.join("image.oci.tar");
    let docker = work.join("image.docker.tar");
    for (format, file) in [("oci-archive", &oci_archive), ("docker-archive", &docker)] {
        podman(
            &["save", "-q", "--format", format, "-o"]
                .into_iter()
                .chain([file.to_str().expect("utf-8"), "rlxc-oci-test:v1"])
                .collect::<Vec<_>>(),
        );
    }
    for url in [
        format!("oci:{}:v1", layout.display()),
        format!("oci-archive:{}", oci_archive.display()),
        format!(
            "docker-archive:{}:localhost/rlxc-oci-test:v1",
            docker.display()
        ),
    ] {
        let name = world.name("oci-podman");
        create(&world, &name, &url).success();
        let out = world.output(&["execute", "-n", &name]);
        assert!(out.status.success(), "{url}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "podman in /srv/app as 1000:1000\n",
            "{url}"
        );
        assert!(world.rootfs(&name).join("bin/busybox").is_file());
    }
}

#[test]
fn upper_layers_replace_lower_kinds_and_link_to_lower_files() {
    let world = World::new();
    let mut lower = Layer::new();
    lower.dir("was-dir/", 0o755, 0);
    lower.file("was-dir/inside", 0o644, 0, b"lower\n");
    lower.file("was-file", 0o644, 0, b"lower\n");
    lower.link("was-link", tar::EntryType::Symlink, "was-file");
    lower.file("shared", 0o644, 0, b"lower file, linked from above\n");
    let mut upper = Layer::new();
    upper.file("was-dir", 0o600, 0, b"now a file\n");
    upper.dir("was-file/", 0o700, 0);
    upper.file("was-link", 0o600, 0, b"no longer a link\n");
    upper.link("shared.hard", tar::EntryType::Link, "shared");
    let layout = world.dir.path().join("layout");
    plain_layout(
        &layout,
        vec![base_layer(), middle_layer(), lower.finish(), upper.finish()],
    );
    let name = world.name("oci-kinds");
    create(&world, &name, &format!("oci:{}:v1", layout.display())).success();
    let rootfs = world.rootfs(&name);
    assert_eq!(
        fs::read_to_string(rootfs.join("was-dir")).expect("file"),
        "now a file\n"
    );
    assert!(fs::symlink_metadata(rootfs.join("was-file"))
        .expect("dir")
        .is_dir());
    let link = fs::symlink_metadata(rootfs.join("was-link")).expect("file");
    assert!(
        link.is_file(),
        "the symlink was replaced, not written through"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("was-file")).ok(),
        None,
        "a directory now"
    );
    let shared = fs::metadata(rootfs.join("shared")).expect("shared");
    let hard = fs::metadata(rootfs.join("shared.hard")).expect("hard link");
    assert_eq!(shared.ino(), hard.ino());
}

type AddMember = Box<dyn Fn(&mut Layer)>;

/// A lower layer plants a symlink to the host; an upper layer's whiteout, file and device
/// node below it must not touch the host.
#[test]
fn nothing_is_removed_or_written_through_a_symlink_that_leads_out() {
    let world = World::new();
    let host = world.dir.path().join("host");
    fs::create_dir(&host).expect("host dir");
    fs::write(host.join("victim"), "keep me\n").expect("victim");
    let planted = || {
        let mut layer = Layer::new();
        layer.link(
            "out",
            tar::EntryType::Symlink,
            host.to_str().expect("utf-8"),
        );
        layer.finish()
    };
    let uppers: [(&str, AddMember); 3] = [
        (
            "whiteout",
            Box::new(|l| l.file("out/.wh.victim", 0o600, 0, b"")),
        ),
        (
            "file",
            Box::new(|l| l.file("out/victim", 0o644, 0, b"owned\n")),
        ),
        ("device", Box::new(|l| l.device("out/victim", 1, 3))),
    ];
    for (kind, add) in uppers {
        let mut upper = Layer::new();
        add(&mut upper);
        let layout = world.dir.path().join(format!("layout-{kind}"));
        plain_layout(&layout, vec![planted(), upper.finish()]);
        create(&world, "escape", &format!("oci:{}:v1", layout.display()))
            .code(1)
            .stderr(predicate::str::contains("outside"));
        assert_eq!(
            fs::read_to_string(host.join("victim")).expect("victim is still there"),
            "keep me\n",
            "{kind}"
        );
        lxcpath_is_empty(&world);
    }
}

/// `--idmap`: the image's owners are shifted into the map (the file of uid 1000 belongs to
/// host uid BASE+1000), and the command runs as the image's User inside the user namespace.
#[test]
fn an_unprivileged_container_from_an_image_keeps_the_images_owners_shifted() {
    let world = World::new();
    let layout = world.dir.path().join("layout");
    write_layout(&layout, &Layers::new());
    let name = world.name("oci-userns");
    world
        .rlxc(&[
            "create",
            "-n",
            &name,
            "-t",
            "oci",
            "--idmap",
            "u:0:300000:65536,g:0:300000:65536",
            "--",
            "--url",
            &format!("oci:{}:v1", layout.display()),
        ])
        .assert()
        .success();
    let data = fs::metadata(world.rootfs(&name).join("home/app/data")).expect("data");
    assert_eq!((data.uid(), data.gid()), (301_000, 301_000));
    let out = world.output(&["execute", "-n", &name]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), SAID);
}

/// A Debian image (the cached systemd guest as one uncompressed layer, `Cmd: /sbin/init`, as
/// `podman import --change CMD=/sbin/init` makes it) becomes a container that boots systemd
/// to `running`.
#[test]
fn a_debian_image_boots_its_systemd() {
    let world = World::new();
    let guest = support::guest::Guest::Systemd.cached_rootfs();
    let layout = world.dir.path().join("debian-layout");
    let blobs = layout.join("blobs/sha256");
    fs::create_dir_all(&blobs).expect("blobs");
    let layer = layout.join("layer.tar");
    let tar = std::process::Command::new("tar")
        .args([
            "--numeric-owner",
            "--xattrs",
            "--exclude=./.rlxc-guest-complete",
        ])
        .arg("-C")
        .arg(&guest)
        .arg("-cf")
        .arg(&layer)
        .arg(".")
        .status()
        .expect("tar");
    assert!(tar.success(), "tar: {tar}");
    let digest = {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        std::io::copy(&mut fs::File::open(&layer).expect("layer"), &mut hasher).expect("hash");
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let size = fs::metadata(&layer).expect("layer").len();
    fs::rename(&layer, blobs.join(&digest)).expect("layer blob");
    let blob = |bytes: Vec<u8>, media_type: &str| {
        let digest = sha256(&bytes);
        fs::write(blobs.join(&digest), &bytes).expect("blob");
        serde_json::json!({"mediaType": media_type, "digest": format!("sha256:{digest}"), "size": bytes.len()})
    };
    let config = blob(
        serde_json::to_vec(&serde_json::json!({
            "architecture": arch(), "os": "linux",
            "config": {"Cmd": ["/sbin/init"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{digest}")]},
        }))
        .expect("config"),
        "application/vnd.oci.image.config.v1+json",
    );
    let mut manifest = blob(
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": format!("sha256:{digest}"), "size": size}],
        }))
        .expect("manifest"),
        "application/vnd.oci.image.manifest.v1+json",
    );
    manifest["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "12"});
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [manifest]}))
            .expect("index"),
    )
    .expect("index.json");
    fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");

    let name = world.name("oci-deb");
    world
        .rlxc(&["create", "-n", &name, "-t", "oci", "--", "--url"])
        .arg(format!("oci:{}:12", layout.display()))
        .timeout(std::time::Duration::from_secs(300))
        .assert()
        .success();
    fs::remove_dir_all(&layout).expect("the layout's 250 MB");
    assert_eq!(support::guest::start_until_booted(&world, &name), "running");
    world.rlxc(&["stop", "-n", &name]).assert().success();
}
