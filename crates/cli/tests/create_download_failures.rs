//! `rlxc create -t download` when things go wrong: a tampered, truncated or hostile image, an
//! untrusted or absent server, a full disk. Each gives a clear error and leaves no container
//! and nothing in the cache. The server and images are those of create_download.rs.

mod support;

#[path = "create_download/server.rs"]
mod server;

use std::fs;
use std::process::Command;

use server::{
    busybox_image, cache_dir, create_args, rlxc, rootfs_requests, run, serving_busybox,
    ImageServer, BUILD,
};
use support::World;

/// A full disk where the cache is, or where the container goes: a clear error, no half-made
/// container, no half-cached image; an image cached before the failed unpack serves the next
/// create.
#[test]
fn a_full_disk_leaves_no_container_and_no_poisoned_cache() {
    let full = support::tmpfs::SmallTmpfs::new();
    let (world, server) = serving_busybox();
    let address = server.server();
    let no_space = |output: &std::process::Output| {
        assert!(!output.status.success());
        let error = String::from_utf8_lossy(&output.stderr);
        assert!(error.contains("No space left on device"), "{error}");
    };

    let name = world.name("full");
    let output = rlxc(&world, &server, &create_args(&name, &address, "1.36"))
        .env("RLXC_CACHE_DIR", full.path("cache"))
        .output()
        .expect("create");
    no_space(&output);
    assert!(!world.config(&name).exists());
    let image_dir = full.path("cache/download/busybox/1.36/amd64");
    let left: Vec<String> = fs::read_dir(&image_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name != ".default.lock")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left in the cache: {left:?}");

    let lxcpath = full.path("lxc");
    fs::create_dir(&lxcpath).expect("lxcpath");
    let mut args = create_args(&name, &address, "1.36");
    let lxcpath_text = lxcpath.to_string_lossy().into_owned();
    args.splice(1..1, ["-P", lxcpath_text.as_str()]);
    no_space(&rlxc(&world, &server, &args).output().expect("create"));
    let left: Vec<_> = fs::read_dir(&lxcpath).expect("lxcpath").collect();
    assert!(left.is_empty(), "left in the lxcpath: {left:?}");

    rlxc(&world, &server, &create_args(&name, &address, "1.36"))
        .assert()
        .success();
    assert_eq!(rootfs_requests(&server), 2, "{:?}", server.requests());
    assert!(world.rootfs(&name).join("bin/busybox").exists());
}

#[test]
fn a_tampered_or_truncated_rootfs_fails_and_nothing_is_left_or_cached() {
    let (world, server) = serving_busybox();
    let address = server.server();
    let image_dir = server
        .www()
        .join(format!("images/busybox/1.36/amd64/default/{BUILD}"));
    let rootfs_xz = image_dir.join("rootfs.tar.xz");
    let good = fs::read(&rootfs_xz).expect("rootfs");
    let cached = cache_dir(&world).join("download/busybox/1.36/amd64/default");

    // One byte changed: SHA256SUMS catches it.
    let mut tampered = good.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x55;
    fs::write(&rootfs_xz, &tampered).expect("tamper");
    let name = world.name("bad");
    let failed = rlxc(&world, &server, &create_args(&name, &address, "1.36"))
        .output()
        .expect("create");
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(
        error.contains("does not match the server's SHA256SUMS"),
        "{error}"
    );
    assert!(!cached.exists());
    assert_eq!(
        world.lxcpath().read_dir().map(|d| d.count()).unwrap_or(0),
        1,
        "only the image source container"
    );

    // Cut short, with no checksums to catch it: the archive check does.
    fs::write(&rootfs_xz, &good[..good.len() / 2]).expect("truncate");
    let mut args = create_args(&name, &address, "1.36");
    args.push("--no-validate");
    let failed = rlxc(&world, &server, &args).output().expect("create");
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.contains("is not a readable image archive"), "{error}");
    assert!(!cached.exists());
    assert!(!world.config(&name).exists());
    let leftovers: Vec<_> = fs::read_dir(cached.parent().expect("parent"))
        .expect("arch dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("download"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Put right, the same create works.
    fs::write(&rootfs_xz, &good).expect("restore");
    rlxc(&world, &server, &create_args(&name, &address, "1.36"))
        .assert()
        .success();
}

#[test]
fn an_image_with_a_member_climbing_out_is_refused() {
    let world = World::new();
    let server = ImageServer::start();
    let (_, meta_xz) = busybox_image(&world, world.dir.path());
    // A tar whose member is ../escaped (GNU tar keeps it with -P).
    let src = world.dir.path().join("evil/etc");
    fs::create_dir_all(&src).expect("mkdir");
    fs::write(src.join("hostname"), "x\n").expect("write");
    let evil = world.dir.path().join("evil.tar.xz");
    run(Command::new("tar")
        .args(["-P", "-cJf"])
        .arg(&evil)
        .arg("-C")
        .arg(world.dir.path().join("evil"))
        .args(["etc", "../evil/etc/hostname"]));
    server.publish("evil", "1", &evil, &meta_xz);
    let name = world.name("evil");
    let failed = rlxc(
        &world,
        &server,
        &[
            "create",
            "-n",
            &name,
            "-t",
            "download",
            "--",
            "-d",
            "evil",
            "-r",
            "1",
            "-a",
            "amd64",
            "--server",
            &server.server(),
        ],
    )
    .output()
    .expect("create");
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.contains("'..' would leave the rootfs"), "{error}");
    assert!(!world.config(&name).exists());
}

#[test]
fn an_untrusted_certificate_or_a_server_that_is_down_is_a_clear_error() {
    let (world, server) = serving_busybox();
    let name = world.name("tls");
    // Without the test's CA: the system's store does not know it.
    let failed = world
        .rlxc(&create_args(&name, &server.server(), "1.36"))
        .env("RLXC_CACHE_DIR", cache_dir(&world))
        .output()
        .expect("create");
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    assert_eq!(server.requests().len(), 0, "no request got through");

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let failed = rlxc(
        &world,
        &server,
        &create_args(&name, &format!("127.0.0.1:{port}"), "1.36"),
    )
    .output()
    .expect("create");
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(
        error.contains("cannot connect (is the server down"),
        "{error}"
    );
    assert!(!world.config(&name).exists());
}

/// A redirect from the image server to plain http is not followed: the index (and so the
/// image) would travel unprotected.
#[test]
fn a_redirect_to_plain_http_is_refused() {
    let (world, server) = serving_busybox();
    let address = format!("{}/to-http", server.server());
    let name = world.name("redirect");
    let output = rlxc(&world, &server, &create_args(&name, &address, "1.36"))
        .output()
        .expect("create");
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("redirected to plain http, which is not followed"),
        "{error}"
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|path| path.starts_with("/to-http/")),
        "{:?}",
        server.requests()
    );
    assert!(!world.config(&name).exists());
}
