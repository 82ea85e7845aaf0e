//! `rlxc create -t download` against an HTTPS image server the test runs on 127.0.0.1 (python3's
//! http.server behind TLS, with a certificate from a CA the test makes): the index, the
//! rootfs and metadata archives, the cache, `rlxc images`, and what a broken server or image
//! does. The test's CA is trusted through SSL_CERT_FILE, which rlxc reads as OpenSSL does;
//! the host's trust store is never touched.

mod support;

#[path = "create_download/server.rs"]
mod server;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use server::{
    cache_dir, create_args, rlxc, rootfs_requests, run, serving_busybox, ImageServer, BUILD,
};
use support::World;

#[test]
fn a_downloaded_image_is_created_started_and_cached() {
    let (world, server) = serving_busybox();
    let address = server.server();
    let name = world.name("dl");
    let output = rlxc(&world, &server, &create_args(&name, &address, "1.36"))
        .output()
        .expect("create");
    support::assert_ok(&output, "create -t download");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("---\nWelcome to the test image."),
        "{stdout}"
    );

    let config = fs::read_to_string(world.config(&name)).expect("config");
    assert!(
        config.contains("lxc.include = /usr/share/lxc/config/common.conf\n"),
        "{config}"
    );
    assert!(config.contains(&format!("lxc.arch = {}\n", std::env::consts::ARCH)));
    assert!(
        config.contains(&format!("lxc.uts.name = {name}\n")),
        "{config}"
    );
    let rootfs = world.rootfs(&name);
    assert!(
        config.contains(&format!("lxc.rootfs.path = {}\n", rootfs.display())),
        "{config}"
    );
    // common.conf sets these: the template does not set them a second time.
    assert!(!config.contains("lxc.tty.max = 4\nlxc.pty.max"), "{config}");
    assert_eq!(config.matches("lxc.mount.auto").count(), 0, "{config}");
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/hostname")).expect("hostname"),
        format!("{name}\n")
    );
    assert!(fs::read_to_string(rootfs.join("etc/hosts"))
        .expect("hosts")
        .contains(&format!("127.0.1.1 {name}\n")));
    assert!(rootfs.join("dev/pts").is_dir());
    // Privileged: the user excludes do not apply.
    assert!(rootfs.join("etc/left-out").exists());

    // The image's fstab, its variables replaced, is the container's and is mounted.
    let fstab = world.lxcpath().join(&name).join("fstab");
    assert!(
        config.contains(&format!("lxc.mount.fstab = {}\n", fstab.display())),
        "{config}"
    );
    assert_eq!(
        fs::read_to_string(&fstab).expect("fstab"),
        format!("# the extra mounts of {name}\nnone tmp tmpfs size=1m,create=dir 0 0\n")
    );

    world.start_with_init_script(
        &name,
        "hostname > /seen-hostname; grep -c ' /tmp tmpfs ' /proc/mounts > /seen-tmp",
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("seen-hostname")).expect("seen"),
        format!("{name}\n")
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("seen-tmp")).expect("seen tmp"),
        "1\n"
    );
    world.rlxc(&["stop", "-n", &name, "-k"]).assert().success();

    // The second create uses the cache: the server sees no second rootfs request. The cache
    // keeps the rootfs recompressed as zstd (decoded ~10x faster than xz), not the xz as well.
    assert_eq!(rootfs_requests(&server), 1, "{:?}", server.requests());
    let cached = cache_dir(&world).join("download/busybox/1.36/amd64/default");
    assert!(cached.join("rootfs.tar.zst").is_file(), "{cached:?}");
    assert!(!cached.join("rootfs.tar.xz").exists(), "{cached:?}");
    let second = world.name("dl");
    rlxc(&world, &server, &create_args(&second, &address, "1.36"))
        .assert()
        .success();
    assert_eq!(rootfs_requests(&server), 1, "{:?}", server.requests());
    assert_eq!(
        fs::read_to_string(world.rootfs(&second).join("etc/hostname")).expect("hostname"),
        format!("{second}\n")
    );

    // `rlxc images` shows it; --flush-cache downloads it again.
    let listed = rlxc(&world, &server, &["images", "--json"])
        .output()
        .expect("images");
    support::assert_ok(&listed, "images --json");
    let images: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(images[0]["dist"], "busybox");
    assert_eq!(images[0]["release"], "1.36");
    assert_eq!(images[0]["build"], BUILD);
    assert!(images[0]["size"].as_u64().expect("size") > 100_000);
    let third = world.name("dl");
    let mut args = create_args(&third, &address, "1.36");
    args.push("--flush-cache");
    rlxc(&world, &server, &args).assert().success();
    assert_eq!(rootfs_requests(&server), 2, "{:?}", server.requests());

    rlxc(
        &world,
        &server,
        &["images", "rm", "busybox", "1.36", "amd64"],
    )
    .assert()
    .success();
    let listed = rlxc(&world, &server, &["images", "--json"])
        .output()
        .expect("images");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "[]");
}

/// An expired image (its `expiry` passed) makes the next create ask the server's index again
/// (the same build is then taken from the cache); `--force-cache` uses it without asking.
#[test]
fn an_expired_image_is_checked_with_the_server_unless_the_cache_is_forced() {
    let (world, server) = serving_busybox();
    let address = server.server();
    let index_requests = || {
        server
            .requests()
            .iter()
            .filter(|path| path.contains("/meta/1.0/index-"))
            .count()
    };
    rlxc(
        &world,
        &server,
        &create_args(&world.name("exp"), &address, "1.36"),
    )
    .assert()
    .success();
    let asked = index_requests();
    assert!(asked > 0, "{:?}", server.requests());
    let cached = cache_dir(&world).join("download/busybox/1.36/amd64/default");
    fs::write(cached.join("expiry"), "1\n").expect("expiry");

    let name = world.name("exp");
    let mut forced = create_args(&name, &address, "1.36");
    forced.push("--force-cache");
    rlxc(&world, &server, &forced).assert().success();
    assert_eq!(index_requests(), asked, "{:?}", server.requests());

    rlxc(
        &world,
        &server,
        &create_args(&world.name("exp"), &address, "1.36"),
    )
    .assert()
    .success();
    assert!(index_requests() > asked, "{:?}", server.requests());
    assert_eq!(rootfs_requests(&server), 1, "{:?}", server.requests());
}

/// On a terminal the download shows its bytes and rate, and the unpacking its share and the
/// files written so far; to a pipe (every other test) nothing of that is printed.
#[test]
fn a_terminal_sees_download_and_unpack_progress() {
    let (world, server) = serving_busybox();
    let name = world.name("tty");
    let address = server.server();
    let command: Vec<&str> = std::iter::once(support::RLXC)
        .chain(create_args(&name, &address, "1.36"))
        .collect();
    let output = Command::new("script")
        .args(["-qec", &command.join(" "), "/dev/null"])
        .env("RLXC_PATH", world.lxcpath())
        .env("RLXC_RUN_DIR", world.run_root())
        .env("SSL_CERT_FILE", server.ca())
        .env("RLXC_CACHE_DIR", cache_dir(&world))
        .stdin(Stdio::null())
        .output()
        .expect("script");
    let seen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{seen}");
    assert!(
        seen.contains("Downloading rootfs.tar.xz:") && seen.contains("/s"),
        "{seen:?}"
    );
    let unpacked = seen
        .split('\r')
        .rfind(|line| line.starts_with("Unpacking busybox 1.36 amd64"))
        .unwrap_or_default();
    assert!(unpacked.contains("100%, "), "{seen:?}");
    let files: u64 = unpacked
        .split(", ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no file count in {unpacked:?}"));
    assert!(files > 10, "{unpacked:?}");

    let piped = rlxc(
        &world,
        &server,
        &create_args(&world.name("tty"), &address, "1.36"),
    )
    .output()
    .expect("create");
    support::assert_ok(&piped, "create to a pipe");
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("Unpacking") && !stderr.contains('\r'),
        "{stderr:?}"
    );
}

/// Without -d, -r or -a, on a terminal, the create lists the images and asks for each missing
/// field, as LXC's interactive mode does; without a terminal it says what is missing.
#[test]
fn a_terminal_is_asked_for_what_is_missing() {
    let (world, server) = serving_busybox();
    let name = world.name("ask");
    let address = server.server();
    let command = format!(
        "{} create -n {name} -t download -- --server {address} -r 1.36",
        support::RLXC
    );
    let mut script = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("RLXC_PATH", world.lxcpath())
        .env("RLXC_RUN_DIR", world.run_root())
        .env("SSL_CERT_FILE", server.ca())
        .env("RLXC_CACHE_DIR", cache_dir(&world))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script");
    {
        use std::io::Write;
        let mut answers = script.stdin.take().expect("stdin");
        answers.write_all(b"busybox\namd64\n").expect("answers");
    }
    let output = script.wait_with_output().expect("script");
    let seen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{seen}");
    assert!(
        seen.contains(&format!("busybox\t1.36\tamd64\tdefault\t{BUILD}")),
        "{seen}"
    );
    assert!(
        seen.contains("Distribution: ") && seen.contains("Architecture: "),
        "{seen}"
    );
    assert!(!seen.contains("Release: "), "{seen}");
    assert!(world.rootfs(&name).join("bin/busybox").exists(), "{seen}");

    let other = world.name("ask");
    let piped = rlxc(
        &world,
        &server,
        &["create", "-n", &other, "-t", "download", "--", "-r", "1.36"],
    )
    .output()
    .expect("create");
    assert!(!piped.status.success());
    let error = String::from_utf8_lossy(&piped.stderr);
    assert!(
        error.contains("needs -d DIST, -r RELEASE and -a ARCH"),
        "{error}"
    );
    assert!(!world.config(&other).exists());
}

#[test]
fn concurrent_creates_of_one_image_download_it_once() {
    let (world, server) = serving_busybox();
    let address = server.server();
    let names: Vec<String> = (0..3).map(|_| world.name("conc")).collect();
    let children: Vec<_> = names
        .iter()
        .map(|name| {
            let mut command = world.process(
                Path::new(support::RLXC),
                &create_args(name, &address, "1.36"),
            );
            command
                .env("SSL_CERT_FILE", server.ca())
                .env("RLXC_CACHE_DIR", cache_dir(&world))
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn create")
        })
        .collect();
    for mut child in children {
        assert!(child.wait().expect("wait").success());
    }
    assert_eq!(rootfs_requests(&server), 1, "{:?}", server.requests());
    for name in &names {
        assert!(world.rootfs(name).join("bin/busybox").exists());
    }

    let table = rlxc(&world, &server, &["images"]).output().expect("images");
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.starts_with("DIST"), "{table}");
    assert!(
        table.contains(&format!("busybox 1.36    amd64 default {BUILD}")),
        "{table}"
    );
    rlxc(&world, &server, &["images", "--prune"])
        .assert()
        .success();
    assert!(!cache_dir(&world)
        .join("download/busybox/1.36/amd64/default")
        .exists());
}

/// An id map, from `--idmap` or (as LXC takes it) from the initial config of `-f`, makes the
/// create use the image's user files: `config-user`, `excludes-user`.
#[test]
fn an_unprivileged_create_uses_the_user_config_and_excludes() {
    let (world, server) = serving_busybox();
    let address = server.server();
    let seed = world.dir.path().join("seed.conf");
    fs::write(
        &seed,
        "lxc.idmap = u 0 300000 65536\nlxc.idmap = g 0 300000 65536\n",
    )
    .expect("seed");
    let seed = seed.to_string_lossy().into_owned();
    for how in [
        ["--idmap", "u:0:300000:65536,g:0:300000:65536"],
        ["-f", seed.as_str()],
    ] {
        let name = world.name("dlu");
        let mut args = create_args(&name, &address, "1.36");
        args.splice(1..1, how);
        rlxc(&world, &server, &args).assert().success();
        let config = fs::read_to_string(world.config(&name)).expect("config");
        assert!(
            config.contains("/usr/share/lxc/config/userns.conf"),
            "{how:?}: {config}"
        );
        let rootfs = world.rootfs(&name);
        assert!(!rootfs.join("etc/left-out").exists(), "{how:?}");
        assert!(rootfs.join("etc/hostname").exists());
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            fs::metadata(rootfs.join("etc/hostname"))
                .expect("meta")
                .uid(),
            300000,
            "{how:?}"
        );
    }
}

#[test]
fn list_prints_the_index_and_an_unknown_release_names_what_there_is() {
    let (world, server) = serving_busybox();
    let address = server.server();
    let listed = rlxc(
        &world,
        &server,
        &[
            "create", "-t", "download", "--", "--list", "--server", &address,
        ],
    )
    .output()
    .expect("list");
    support::assert_ok(&listed, "--list");
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("DIST\tRELEASE\tARCH\tVARIANT\tBUILD\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("busybox\t1.36\tamd64\tdefault\t{BUILD}\n")),
        "{text}"
    );

    let name = world.name("dl");
    let failed = rlxc(&world, &server, &create_args(&name, &address, "9.99"))
        .output()
        .expect("create");
    assert!(!failed.status.success());
    let error = String::from_utf8_lossy(&failed.stderr);
    assert!(
        error.contains("no release \"9.99\" for busybox on the server; it has: 1.36"),
        "{error}"
    );
    assert!(!world.config(&name).exists());
    assert!(!cache_dir(&world)
        .join("download/busybox/9.99/amd64/default")
        .exists());
}

/// LXC's own `lxc-create -t download` accepts the same server (its wget trusting the test's
/// CA through WGETRC) and makes the container rlxc makes: the protocol is LXC's.
#[test]
fn lxcs_download_template_accepts_the_same_server() {
    let (world, server) = serving_busybox();
    let address = server.server();
    let wgetrc = world.dir.path().join("wgetrc");
    fs::write(
        &wgetrc,
        format!("ca_certificate = {}\n", server.ca().display()),
    )
    .expect("wgetrc");
    let lxc_path = world.dir.path().join("lxc-own");
    fs::create_dir_all(&lxc_path).expect("lxcpath");
    let name = world.name("lxc");
    let output = Command::new("lxc-create")
        .arg("-P")
        .arg(&lxc_path)
        .args([
            "-n", &name, "-t", "download", "--", "-d", "busybox", "-r", "1.36", "-a",
        ])
        .args(["amd64", "--server", &address])
        .env("WGETRC", &wgetrc)
        .env("LXC_CACHE_PATH", world.dir.path().join("lxc-cache"))
        .output()
        .expect("lxc-create");
    assert!(
        output.status.success(),
        "lxc-create: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let ours = world.name("lxc");
    rlxc(&world, &server, &create_args(&ours, &address, "1.36"))
        .assert()
        .success();

    // The image's lines and the container's own, in both configs (with each one's name).
    let theirs = fs::read_to_string(lxc_path.join(&name).join("config")).expect("config");
    let mine = fs::read_to_string(world.config(&ours)).expect("config");
    for (config, who) in [(&theirs, &name), (&mine, &ours)] {
        for line in [
            "lxc.include = /usr/share/lxc/config/common.conf".to_string(),
            format!("lxc.arch = {}", std::env::consts::ARCH),
            format!("lxc.uts.name = {who}"),
        ] {
            assert!(
                config.lines().any(|l| l == line),
                "{line:?} missing in:\n{config}"
            );
        }
    }
    // Both name the image's fstab, copied next to the config.
    for (config, dir) in [
        (&theirs, lxc_path.join(&name)),
        (&mine, world.lxcpath().join(&ours)),
    ] {
        let line = format!("lxc.mount.fstab = {}/fstab", dir.display());
        assert!(
            config.lines().any(|l| l == line),
            "{line:?} missing in:\n{config}"
        );
        assert!(dir.join("fstab").is_file(), "{dir:?}");
    }
    for file in ["etc/hostname", "etc/hosts"] {
        let theirs =
            fs::read_to_string(lxc_path.join(&name).join("rootfs").join(file)).expect("lxc's file");
        let mine = fs::read_to_string(world.rootfs(&ours).join(file)).expect("our file");
        assert_eq!(
            theirs.replace(&name, "NAME"),
            mine.replace(&ours, "NAME"),
            "{file}"
        );
    }
    run(Command::new("lxc-destroy")
        .arg("-P")
        .arg(&lxc_path)
        .args(["-n", &name]));
}

/// The Debian 12 guest (debootstrapped once per machine for the guest tests) as an image
/// archive, made once per machine next to it; `/etc/hostname` holds `LXC_NAME`, as in LXC's
/// images.
fn debian_image_archive() -> PathBuf {
    let guest = support::guest::Guest::Systemd.cached_rootfs();
    let dir = Path::new("/var/cache/rlxc-test/images");
    let archive = dir.join("bookworm-systemd.rootfs.tar.xz");
    if archive.exists() {
        return archive;
    }
    fs::create_dir_all(dir).expect("image cache");
    let lock = fs::File::create(dir.join("bookworm-systemd.lock")).expect("lock");
    lock.lock().expect("locking the image cache");
    if archive.exists() {
        return archive;
    }
    run(Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/guest_image.sh"
        ))
        .arg(&guest)
        .arg(&archive));
    archive
}

/// A Debian image from the download server boots (systemd reaches running or degraded) with
/// the name the create gave it.
#[test]
fn a_downloaded_debian_image_boots() {
    let world = World::new();
    let server = ImageServer::start();
    let rootfs_xz = debian_image_archive();
    let meta = world.dir.path().join("meta");
    fs::create_dir_all(&meta).expect("meta");
    fs::write(
        meta.join("config"),
        format!(
            "lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\nlxc.arch = {}\n",
            std::env::consts::ARCH
        ),
    )
    .expect("config");
    fs::write(meta.join("templates"), "/etc/hostname\n").expect("templates");
    let meta_xz = world.dir.path().join("meta.tar.xz");
    run(Command::new("tar")
        .arg("-cJf")
        .arg(&meta_xz)
        .arg("-C")
        .arg(&meta)
        .arg("."));
    server.publish("debian", "bookworm", &rootfs_xz, &meta_xz);
    let name = world.name("deb");
    let address = server.server();
    let output = rlxc(
        &world,
        &server,
        &[
            "create", "-n", &name, "-t", "download", "--", "-d", "debian", "-r", "bookworm",
        ],
    )
    .args(["-a", "amd64", "--server", &address])
    .timeout(std::time::Duration::from_secs(300))
    .output()
    .expect("create");
    support::assert_ok(&output, "create -t download debian");
    let status = support::guest::start_until_booted(&world, &name);
    assert!(
        matches!(status.as_str(), "running" | "degraded"),
        "{status}"
    );
    let hostname = support::guest::attach_ok(&world, &name, "hostname; cat /etc/hostname");
    assert_eq!(hostname, format!("{name}\n{name}\n"));
}
