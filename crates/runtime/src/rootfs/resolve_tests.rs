//! Resolution inside a rootfs needs no privileges: these run on plain tempdirs.

use std::fs;
use std::os::unix::fs::symlink;

use super::*;

struct Fixture {
    _base: tempfile::TempDir,
    host_dir: PathBuf,
    rootfs: PathBuf,
}

/// `base/rootfs` with `link -> <base>/host` (an absolute path that also exists inside the
/// rootfs), and `base/host` on the "host" side.
fn fixture() -> Fixture {
    let base = tempfile::tempdir().unwrap();
    let rootfs = base.path().join("rootfs");
    let host_dir = base.path().join("host");
    fs::create_dir_all(&host_dir).unwrap();
    let inside = rootfs.join(host_dir.strip_prefix("/").unwrap());
    fs::create_dir_all(&inside).unwrap();
    symlink(&host_dir, rootfs.join("link")).unwrap();
    symlink("/nowhere", rootfs.join("dangling")).unwrap();
    Fixture {
        _base: base,
        host_dir,
        rootfs,
    }
}

fn root(f: &Fixture, resolver: Resolver) -> RootDir {
    let fd = rfs::open(&f.rootfs, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap();
    RootDir::with_resolver(fd, &f.rootfs, resolver)
}

#[test]
fn the_probe_finds_openat2_on_this_kernel() {
    let f = fixture();
    assert_eq!(RootDir::open(&f.rootfs).unwrap().resolver, Resolver::InRoot);
}

#[test]
fn absolute_symlinks_stay_inside_the_rootfs() {
    let f = fixture();
    let r = root(&f, Resolver::InRoot);
    r.resolve("link/made", Some(CreateKind::Dir)).unwrap();
    let inside = f.rootfs.join(f.host_dir.strip_prefix("/").unwrap());
    assert!(inside.join("made").is_dir());
    assert_eq!(fs::read_dir(&f.host_dir).unwrap().count(), 0);
}

#[test]
fn dot_dot_is_refused_before_anything_is_made() {
    let f = fixture();
    let r = root(&f, Resolver::InRoot);
    for target in ["../escape", "a/../../escape", "/x/.."] {
        let e = r.resolve(target, Some(CreateKind::Dir)).unwrap_err();
        assert!(matches!(e, ResolveError::DotDot), "{target}: {e}");
    }
    assert!(!f.rootfs.parent().unwrap().join("escape").exists());
    assert!(!f.rootfs.join("a").exists());
}

#[test]
fn absolute_targets_lose_the_rootfs_prefix_or_the_slash() {
    let f = fixture();
    let r = root(&f, Resolver::InRoot);
    let lxc_style = format!("{}/srv/data", f.rootfs.display());
    assert_eq!(
        r.container_relative(&lxc_style).unwrap(),
        Path::new("srv/data")
    );
    assert_eq!(
        r.container_relative("/srv/data").unwrap(),
        Path::new("srv/data")
    );
    assert_eq!(
        r.container_relative("./srv//data/").unwrap(),
        Path::new("srv/data")
    );
    assert_eq!(r.container_relative("/").unwrap(), Path::new("."));
}

#[test]
fn create_file_makes_parents_and_an_empty_file() {
    let f = fixture();
    let r = root(&f, Resolver::InRoot);
    r.resolve("etc/deep/hosts", Some(CreateKind::File)).unwrap();
    let made = f.rootfs.join("etc/deep/hosts");
    assert!(made.is_file());
    assert_eq!(fs::metadata(made).unwrap().len(), 0);
}

#[test]
fn missing_targets_without_create_are_errors() {
    let f = fixture();
    let r = root(&f, Resolver::InRoot);
    let e = r.resolve("srv/missing", None).unwrap_err();
    assert!(e.to_string().contains("rootfs/srv/missing"), "{e}");
}

#[test]
fn a_dangling_symlink_is_not_replaced() {
    let f = fixture();
    let r = root(&f, Resolver::InRoot);
    let e = r.resolve("dangling/x", Some(CreateKind::Dir)).unwrap_err();
    assert!(matches!(e, ResolveError::Blocked { .. }), "{e}");
    assert!(!Path::new("/nowhere").exists());
}

#[test]
fn the_fallback_refuses_every_symlink() {
    let f = fixture();
    let r = root(&f, Resolver::NoSymlinks);
    let e = r.resolve("link/made", Some(CreateKind::Dir)).unwrap_err();
    assert!(e.to_string().contains("rootfs/link"), "{e}");
    r.resolve("plain/dir", Some(CreateKind::Dir)).unwrap();
    assert!(f.rootfs.join("plain/dir").is_dir());
}

#[test]
fn a_missing_last_component_is_made_in_its_parent_by_either_resolver() {
    for resolver in [Resolver::InRoot, Resolver::NoSymlinks] {
        let f = fixture();
        fs::create_dir(f.rootfs.join("srv")).unwrap();
        symlink("/nowhere", f.rootfs.join("srv/dangling")).unwrap();
        let r = root(&f, resolver);
        r.resolve("srv/dir", Some(CreateKind::Dir)).unwrap();
        r.resolve("srv/file", Some(CreateKind::File)).unwrap();
        assert!(f.rootfs.join("srv/dir").is_dir(), "{resolver:?}");
        assert!(f.rootfs.join("srv/file").is_file(), "{resolver:?}");
        // A dangling symlink in an existing directory is not replaced either (the fallback
        // refuses it as a symlink before that).
        let e = r
            .resolve("srv/dangling", Some(CreateKind::Dir))
            .unwrap_err();
        if resolver == Resolver::InRoot {
            assert!(matches!(e, ResolveError::Blocked { .. }), "{e}");
        }
        assert!(!Path::new("/nowhere").exists());
    }
}
