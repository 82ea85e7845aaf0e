//! `shift_tree` on a real filesystem: ids move into the map relative to the top directory's
//! owner, each inode once, symlinks and FIFOs never followed or opened, setuid bits and file
//! capabilities kept, and a tree with an id the map cannot hold is refused untouched.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rlxc_config::values::IdMap;
use rlxc_runtime::userns::{shift_tree, ShiftError};
use rustix::fs::{self as rfs, Gid, Uid, XattrFlags};

const BASE: u32 = 500_000;

fn maps() -> Vec<IdMap> {
    ["u 0 500000 65536", "g 0 500000 65536"]
        .iter()
        .map(|m| m.parse().expect("map"))
        .collect()
}

fn owner(path: &Path) -> (u32, u32) {
    let meta = std::fs::symlink_metadata(path).expect("stat");
    (meta.uid(), meta.gid())
}

fn chown(path: &Path, uid: u32, gid: u32) {
    rfs::chownat(
        rfs::CWD,
        path,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        rfs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .expect("chown");
}

/// A small rootfs with the awkward cases in it.
fn tree() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    std::fs::create_dir_all(r.join("home/user")).expect("mkdir");
    std::fs::write(r.join("home/user/file"), "x").expect("write");
    chown(&r.join("home/user"), 1000, 1000);
    chown(&r.join("home/user/file"), 1000, 100);
    std::fs::write(r.join("su"), "").expect("write");
    std::fs::set_permissions(r.join("su"), std::fs::Permissions::from_mode(0o6755)).expect("chmod");
    std::fs::hard_link(r.join("su"), r.join("su-link")).expect("link");
    std::fs::write(outside.path().join("target"), "").expect("write");
    std::os::unix::fs::symlink(outside.path().join("target"), r.join("escape")).expect("ln");
    rustix::fs::mknodat(
        rfs::CWD,
        r.join("fifo"),
        rfs::FileType::Fifo,
        rfs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
    // cap_net_raw+ep as setcap writes it (version 2).
    let mut caps = (0x0200_0000u32 | 1).to_le_bytes().to_vec();
    caps.extend_from_slice(&(1u32 << 13).to_le_bytes());
    caps.extend_from_slice(&[0; 12]);
    std::fs::write(r.join("ping"), "").expect("write");
    rfs::setxattr(
        r.join("ping"),
        "security.capability",
        &caps,
        XattrFlags::empty(),
    )
    .expect("setcap");
    (root, outside)
}

#[test]
fn a_tree_moves_into_the_map_keeping_what_chown_would_lose() {
    let (root, outside) = tree();
    let r = root.path();
    let report = shift_tree(r, &maps()).expect("shift");
    assert!(!report.already_shifted);
    assert_eq!(owner(r), (BASE, BASE));
    assert_eq!(owner(&r.join("home/user")), (BASE + 1000, BASE + 1000));
    assert_eq!(owner(&r.join("home/user/file")), (BASE + 1000, BASE + 100));
    // One inode, two names: shifted once, not twice.
    assert_eq!(owner(&r.join("su-link")), (BASE, BASE));
    let mode = std::fs::metadata(r.join("su")).expect("stat").mode();
    assert_eq!(mode & 0o7777, 0o6755, "setuid/setgid lost: {mode:o}");
    assert_eq!(owner(&r.join("escape")), (BASE, BASE));
    assert_eq!(owner(&outside.path().join("target")), (0, 0));
    assert_eq!(owner(&r.join("fifo")), (BASE, BASE));
    let mut caps = [0u8; 64];
    let len = rfs::getxattr(r.join("ping"), "security.capability", &mut caps).expect("caps");
    // Read from the host: version 3, its rootid the mapped root (the kernel shows it as
    // version 2 only inside the namespace whose root that is).
    assert_eq!(len, 24, "{:?}", &caps[..len]);
    assert_eq!(caps[3], 3);
    assert_eq!(&caps[20..24], &BASE.to_le_bytes());

    let again = shift_tree(r, &maps()).expect("again");
    assert!(again.already_shifted);
    assert_eq!(owner(&r.join("home/user/file")), (BASE + 1000, BASE + 100));
}

#[test]
fn an_interrupted_shift_can_be_run_again() {
    let (root, _outside) = tree();
    let r = root.path();
    // As if a first run had got as far as this file.
    chown(&r.join("home/user/file"), BASE + 1000, BASE + 100);
    shift_tree(r, &maps()).expect("shift");
    assert_eq!(owner(&r.join("home/user/file")), (BASE + 1000, BASE + 100));
    assert_eq!(owner(&r.join("home/user")), (BASE + 1000, BASE + 1000));
}

#[test]
fn an_id_the_map_cannot_hold_is_refused_before_anything_changes() {
    let (root, _outside) = tree();
    let r = root.path();
    std::fs::write(r.join("odd"), "").expect("write");
    chown(&r.join("odd"), 70_000, 0);
    let error = shift_tree(r, &maps()).expect_err("unmapped");
    assert!(
        matches!(&error, ShiftError::Unmapped { id: 70_000, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("odd"), "{error}");
    assert_eq!(owner(r), (0, 0));
    assert_eq!(owner(&r.join("home/user/file")), (1000, 100));
    assert_eq!(owner(&r.join("su")), (0, 0));
}

#[test]
fn a_tree_shifted_for_one_map_moves_to_another() {
    let (root, _outside) = tree();
    let r = root.path();
    shift_tree(r, &maps()).expect("first shift");
    let other: Vec<IdMap> = ["u 0 700000 65536", "g 0 700000 65536"]
        .iter()
        .map(|m| m.parse().expect("map"))
        .collect();
    shift_tree(r, &other).expect("second shift");
    assert_eq!(owner(r), (700_000, 700_000));
    assert_eq!(owner(&r.join("home/user/file")), (701_000, 700_100));
    assert_eq!(owner(&r.join("su-link")), (700_000, 700_000));
}

#[test]
fn a_top_directory_chowned_by_hand_does_not_stop_the_rest() {
    let (root, _outside) = tree();
    let r = root.path();
    chown(r, BASE, BASE);
    let report = shift_tree(r, &maps()).expect("shift");
    assert!(!report.already_shifted);
    assert_eq!(owner(&r.join("home/user/file")), (BASE + 1000, BASE + 100));
    assert_eq!(owner(&r.join("su")), (BASE, BASE));
}
