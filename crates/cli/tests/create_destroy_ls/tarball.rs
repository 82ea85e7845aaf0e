//! `rlxc create -t tarball --from FILE`: every compression, what is kept, what is refused, and
//! that a failed or interrupted create leaves nothing.

use std::io::Read;

use super::*;

/// A small rootfs with each kind of member the unpacker has to get right.
fn rootfs_tar(top: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut add = |path: &str, kind: tar::EntryType, mode: u32, link: Option<&str>, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_path(format!("{top}{path}")).expect("path");
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(1000);
        header.set_gid(1001);
        header.set_mtime(1_600_000_000);
        header.set_size(data.len() as u64);
        if let Some(link) = link {
            header.set_link_name(link).expect("link");
        }
        if kind == tar::EntryType::Char {
            header.set_device_major(1).expect("major");
            header.set_device_minor(3).expect("minor");
        }
        header.set_cksum();
        builder.append(&header, data).expect("append");
    };
    add("etc/", tar::EntryType::Directory, 0o755, None, b"");
    add(
        "etc/hostname",
        tar::EntryType::Regular,
        0o640,
        None,
        b"from-tarball\n",
    );
    add(
        "etc/hostname.hard",
        tar::EntryType::Link,
        0o640,
        Some(&format!("{top}etc/hostname")),
        b"",
    );
    add("bin/", tar::EntryType::Directory, 0o755, None, b"");
    add(
        "bin/sh",
        tar::EntryType::Symlink,
        0o777,
        Some("busybox"),
        b"",
    );
    add("usr/", tar::EntryType::Directory, 0o755, None, b"");
    add(
        "usr/bin/passwd",
        tar::EntryType::Regular,
        0o4755,
        None,
        b"#!/bin/sh\n",
    );
    add("dev/", tar::EntryType::Directory, 0o755, None, b"");
    add("dev/null", tar::EntryType::Char, 0o666, None, b"");
    add("run/", tar::EntryType::Directory, 0o755, None, b"");
    add("run/initctl", tar::EntryType::Fifo, 0o600, None, b"");
    // A name given twice: the second member wins, as with tar.
    add("etc/motd", tar::EntryType::Regular, 0o644, None, b"first\n");
    add(
        "etc/motd",
        tar::EntryType::Regular,
        0o644,
        None,
        b"second\n",
    );
    // A member below a symlink that stays inside lands where it points.
    add("usr/lib/", tar::EntryType::Directory, 0o755, None, b"");
    add("lib", tar::EntryType::Symlink, 0o777, Some("usr/lib"), b"");
    add(
        "lib/os-release",
        tar::EntryType::Regular,
        0o644,
        None,
        b"ID=t\n",
    );
    // An xattr in a PAX record (as `tar --xattrs` writes them).
    builder
        .append_pax_extensions([("SCHILY.xattr.user.rlxc", &b"kept"[..])])
        .expect("pax");
    let mut header = tar::Header::new_gnu();
    header.set_path(format!("{top}usr/bin/ping")).expect("path");
    header.set_mode(0o755);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1_600_000_000);
    header.set_size(5);
    header.set_cksum();
    builder.append(&header, &b"ping\n"[..]).expect("append");
    builder.into_inner().expect("finish the tarball")
}

fn compress(tar: &[u8], extension: &str) -> Vec<u8> {
    match extension {
        "tar" => tar.to_vec(),
        "tar.gz" => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(tar).expect("gzip");
            encoder.finish().expect("gzip")
        }
        "tar.xz" => {
            let mut encoder = liblzma::write::XzEncoder::new(Vec::new(), 1);
            encoder.write_all(tar).expect("xz");
            encoder.finish().expect("xz")
        }
        "tar.zst" => zstd::stream::encode_all(tar, 1).expect("zstd"),
        other => panic!("no compression {other}"),
    }
}

fn check_unpacked(rootfs: &Path) {
    let hostname = rootfs.join("etc/hostname");
    assert_eq!(
        fs::read_to_string(&hostname).expect("hostname"),
        "from-tarball\n"
    );
    let meta = fs::metadata(&hostname).expect("stat");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (1000, 1001, 0o640)
    );
    assert_eq!(meta.mtime(), 1_600_000_000);
    let hard = fs::metadata(rootfs.join("etc/hostname.hard")).expect("hard link");
    assert_eq!(hard.ino(), meta.ino(), "a hard link, not a copy");
    assert_eq!(
        fs::read_link(rootfs.join("bin/sh")).expect("symlink"),
        Path::new("busybox")
    );
    let setuid = fs::metadata(rootfs.join("usr/bin/passwd")).expect("passwd");
    assert_eq!(setuid.mode() & 0o7777, 0o4755, "set-uid survives the chown");
    let null = fs::symlink_metadata(rootfs.join("dev/null")).expect("dev/null");
    use std::os::unix::fs::FileTypeExt;
    assert!(
        null.file_type().is_char_device(),
        "a device node, not a file"
    );
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    let fifo = fs::symlink_metadata(rootfs.join("run/initctl")).expect("fifo");
    assert!(fifo.file_type().is_fifo());
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/motd")).expect("motd"),
        "second\n"
    );
    assert_eq!(
        fs::read_to_string(rootfs.join("usr/lib/os-release")).expect("through lib"),
        "ID=t\n"
    );
    let mut value = [0u8; 16];
    let len = rustix::fs::getxattr(rootfs.join("usr/bin/ping"), "user.rlxc", &mut value)
        .expect("the xattr");
    assert_eq!(&value[..len], b"kept");
}

#[test]
fn tarballs_unpack_in_every_compression_with_owners_modes_links_and_nodes() {
    let place = Place::new();
    let tar = rootfs_tar("./");
    for (index, extension) in ["tar", "tar.gz", "tar.xz", "tar.zst"].iter().enumerate() {
        let file = place.root.path().join(format!("rootfs.{extension}"));
        fs::write(&file, compress(&tar, extension)).expect("write the tarball");
        let name = format!("c{index}");
        place
            .rlxc(&["create", "-n", &name, "-t", "tarball", "--from"])
            .arg(&file)
            .assert()
            .success();
        let dir = place.container(&name);
        check_unpacked(&dir.join("rootfs"));
        let spec = loads(&dir.join("config"));
        assert_eq!(
            spec.rootfs.path,
            Some(dir.join("rootfs").display().to_string())
        );
    }
}

#[test]
fn a_tarball_wrapped_in_one_top_directory_is_unpacked_one_level_up() {
    let place = Place::new();
    let file = place.root.path().join("stage3.tar.gz");
    fs::write(&file, compress(&rootfs_tar("stage3-amd64/"), "tar.gz")).expect("tarball");
    place
        .rlxc(&["create", "-n", "web", "-t", "tarball", "--from"])
        .arg(&file)
        .assert()
        .success();
    check_unpacked(&place.container("web").join("rootfs"));
}

/// A tar whose second member is named `name`, written into the header by hand (the tar
/// crate's own setters refuse such names).
fn tar_with_member_named(name: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut good = tar::Header::new_gnu();
    good.set_path("etc/ok").expect("path");
    good.set_size(3);
    good.set_mode(0o644);
    good.set_uid(0);
    good.set_gid(0);
    good.set_mtime(1);
    good.set_cksum();
    builder.append(&good, &b"ok\n"[..]).expect("append");
    let mut evil = tar::Header::new_gnu();
    evil.as_old_mut().name[..name.len()].copy_from_slice(name);
    evil.set_size(5);
    evil.set_mode(0o644);
    evil.set_uid(0);
    evil.set_gid(0);
    evil.set_mtime(1);
    evil.set_entry_type(tar::EntryType::Regular);
    evil.set_cksum();
    builder.append(&evil, &b"evil\n"[..]).expect("append");
    builder.into_inner().expect("finish")
}

#[test]
fn members_that_leave_the_rootfs_refuse_the_tarball_and_leave_nothing() {
    let place = Place::new();
    for (index, name) in [&b"../evil"[..], b"etc/../../evil", b"/etc/evil"]
        .iter()
        .enumerate()
    {
        let file = place.root.path().join(format!("evil{index}.tar"));
        fs::write(&file, tar_with_member_named(name)).expect("tarball");
        place
            .rlxc(&["create", "-n", "web", "-t", "tarball", "--from"])
            .arg(&file)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("refusing member"));
        assert!(place.entries().is_empty(), "left: {:?}", place.entries());
    }
    assert!(!place.lxcpath().join("evil").exists());
    assert!(!place.root.path().join("evil").exists());
}

/// A symlink member leading out of the rootfs, then a file below it: the write through it is
/// refused (the file is small: one of the worker threads writes it), nothing lands outside.
#[test]
fn a_file_below_a_symlink_that_leads_out_is_refused() {
    let place = Place::new();
    let outside = place.root.path().join("outside");
    fs::create_dir(&outside).expect("outside");
    let mut builder = tar::Builder::new(Vec::new());
    for (path, kind, link, data) in [
        ("etc/", tar::EntryType::Directory, None, &b""[..]),
        (
            "etc/out",
            tar::EntryType::Symlink,
            Some(outside.to_str().expect("utf-8")),
            b"",
        ),
        ("etc/out/evil", tar::EntryType::Regular, None, b"evil\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_path(path).expect("path");
        header.set_entry_type(kind);
        header.set_mode(0o755);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1);
        header.set_size(data.len() as u64);
        if let Some(link) = link {
            header.set_link_name(link).expect("link");
        }
        header.set_cksum();
        builder.append(&header, data).expect("append");
    }
    let file = place.root.path().join("out.tar");
    fs::write(&file, builder.into_inner().expect("tar")).expect("tarball");
    place
        .rlxc(&["create", "-n", "web", "-t", "tarball", "--from"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("etc/out/evil"));
    assert!(!outside.join("evil").exists());
    assert!(place.entries().is_empty(), "left: {:?}", place.entries());
}

#[test]
fn a_truncated_tarball_fails_and_leaves_no_temporary_directory() {
    let place = Place::new();
    let mut tar = rootfs_tar("./");
    // A big file, so the cut lands inside its data.
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_path("var/big").expect("path");
    header.set_size(1 << 20);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1);
    header.set_cksum();
    builder
        .append(&header, std::io::repeat(7).take(1 << 20))
        .expect("append");
    tar.truncate(tar.len() - 1024); // drop the end-of-archive blocks
    tar.extend(builder.into_inner().expect("finish"));
    let whole = compress(&tar, "tar.gz");
    let file = place.root.path().join("cut.tar.gz");
    fs::write(&file, &whole[..whole.len() / 2]).expect("tarball");
    place
        .rlxc(&["create", "-n", "web", "-t", "tarball", "--from"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unpacking"));
    assert!(place.entries().is_empty(), "left: {:?}", place.entries());
}

#[test]
fn sigint_during_a_create_removes_the_partial_container() {
    let place = Place::new();
    // A FIFO as the tarball: the create blocks in read() halfway through a 1 GiB member for
    // as long as the test likes, so the signal surely lands in the middle of the unpacking.
    let fifo = place.root.path().join("slow.tar");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let mut create = std::process::Command::new(RLXC)
        .args(["create", "-n", "web", "-t", "tarball", "--from"])
        .arg(&fifo)
        .arg("-P")
        .arg(place.lxcpath())
        .env("RLXC_RUN_DIR", place.run_dir())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rlxc create");
    let mut writer = File::create(&fifo).expect("open the FIFO for writing");
    let mut header = tar::Header::new_gnu();
    header.set_path("var/huge").expect("path");
    header.set_size(1 << 30);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(1);
    header.set_cksum();
    writer.write_all(header.as_bytes()).expect("header");
    writer.write_all(&vec![0u8; 1 << 20]).expect("some data");

    let deadline = Instant::now() + Duration::from_secs(20);
    let partial = loop {
        let staged = place
            .entries()
            .into_iter()
            .find(|n| n.starts_with(".web.create-"));
        if let Some(staged) = staged {
            let huge = place.lxcpath().join(&staged).join("unpacked/var/huge");
            if fs::metadata(&huge).is_ok_and(|m| m.len() > 0) {
                break huge;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the create never started unpacking"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(create.id() as i32).expect("pid"),
        rustix::process::Signal::INT,
    )
    .expect("SIGINT");
    let output = wait_with_deadline(&mut create, Duration::from_secs(20));
    drop(writer);
    assert_eq!(output.0.code(), Some(1), "{}", output.1);
    assert!(output.1.contains("interrupted by SIGINT"), "{}", output.1);
    assert!(!partial.exists());
    assert!(place.entries().is_empty(), "left: {:?}", place.entries());
}

fn wait_with_deadline(child: &mut Child, within: Duration) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                pipe.read_to_string(&mut stderr).expect("stderr");
            }
            return (status, stderr);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the create did not end within {within:?} of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
