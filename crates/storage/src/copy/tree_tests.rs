use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};

use super::*;

fn never() -> bool {
    false
}

#[test]
fn files_links_nodes_owners_xattrs_and_holes_are_copied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("etc/sub")).expect("mkdir");
    fs::write(src.join("etc/passwd"), "root::0:0\n").expect("write");
    fs::set_permissions(src.join("etc/passwd"), fs::Permissions::from_mode(0o4750)).expect("chmod");
    rustix::fs::setxattr(
        src.join("etc/passwd").as_path(),
        "user.rlxc",
        b"yes",
        XattrFlags::empty(),
    )
    .expect("xattr");
    fs::hard_link(src.join("etc/passwd"), src.join("etc/sub/again")).expect("link");
    std::os::unix::fs::symlink("/etc/shadow", src.join("etc/out")).expect("symlink");
    rustix::fs::mknodat(
        CWD,
        src.join("fifo").as_path(),
        FileType::Fifo,
        Mode::from_raw_mode(0o640),
        0,
    )
    .expect("fifo");
    // 8 MiB with one block of data in the middle.
    let sparse = File::create(src.join("sparse")).expect("create");
    sparse.set_len(8 << 20).expect("len");
    sparse.write_all_at(b"data", 4 << 20).expect("write");
    fs::set_permissions(src.join("etc/sub"), fs::Permissions::from_mode(0o500)).expect("chmod");

    let dst = dir.path().join("dst");
    let report = copy_tree(&src, &dst, &never).expect("copy");
    assert!(report.mount_points.is_empty());

    let meta = |path: &str| fs::symlink_metadata(dst.join(path)).expect(path);
    assert_eq!(
        fs::read(dst.join("etc/passwd")).expect("read"),
        b"root::0:0\n"
    );
    assert_eq!(meta("etc/passwd").mode() & 0o7777, 0o4750);
    assert_eq!(meta("etc/passwd").ino(), meta("etc/sub/again").ino());
    assert_eq!(meta("etc/sub").mode() & 0o7777, 0o500);
    assert_eq!(
        fs::read_link(dst.join("etc/out")).expect("readlink"),
        Path::new("/etc/shadow")
    );
    assert!(meta("fifo").file_type().is_fifo());
    assert_eq!(meta("fifo").mode() & 0o7777, 0o640);
    let value = rustix::fs::getxattr(
        dst.join("etc/passwd").as_path(),
        "user.rlxc",
        &mut [0u8; 16][..],
    );
    assert_eq!(value.ok(), Some(3));
    let sparse = meta("sparse");
    assert_eq!(sparse.len(), 8 << 20);
    assert!(
        sparse.blocks() * 512 < 1 << 20,
        "{} blocks",
        sparse.blocks()
    );
    let mut word = [0; 4];
    File::open(dst.join("sparse"))
        .expect("open")
        .read_exact_at(&mut word, 4 << 20)
        .expect("read");
    assert_eq!(&word, b"data");
    assert_eq!(
        meta("sparse").mtime(),
        fs::metadata(src.join("sparse")).expect("src").mtime()
    );
}

#[test]
fn an_interrupted_copy_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    fs::create_dir_all(src.join("a")).expect("mkdir");
    fs::write(src.join("a/b"), "x").expect("write");
    let error = copy_tree(&src, &dir.path().join("dst"), &|| true).expect_err("interrupted");
    assert!(matches!(error, TreeError::Interrupted), "{error}");
}
