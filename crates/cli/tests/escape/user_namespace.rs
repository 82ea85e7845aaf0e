//! Attacks that only mean something in a user namespace, so only set-up (b) meets them: root
//! of the container is an ordinary host uid, and every way of becoming more than that (a
//! host-owned file, an id outside the map, a rewritten or nested map) must be refused.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::{Container, Setup};

fn unprivileged(base: &str, defines: &[&str]) -> Container {
    Container::start(Setup::Unprivileged, base, defines)
}

/// A host-owned file in a host-owned directory, bind-mounted read-write: root inside is not
/// its owner and has no capability over it, so it can neither write, replace, chown nor chmod it.
#[test]
fn root_cannot_write_a_host_owned_file_bind_mounted_read_write() {
    let prepared = Container::prepare(Setup::Unprivileged, "esc-uhost");
    let shared = prepared.world.dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let file = shared.join("host-file");
    std::fs::write(&file, "host\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // The world's own directory is 0700: the container's root must be able to reach into it.
    std::fs::set_permissions(
        prepared.world.dir.path(),
        std::fs::Permissions::from_mode(0o755),
    )
    .expect("chmod");
    let entry = format!(
        "lxc.mount.entry={} mnt/host none bind,create=dir 0 0",
        shared.display()
    );
    let out = prepared.try_start(&[&entry]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = prepared;
    assert_eq!(c.sh_ok("cat /mnt/host/host-file"), "host\n");
    c.assert_refused("write_text /mnt/host/host-file escaped", "EACCES");
    c.assert_refused("write_text /mnt/host/new escaped", "EACCES");
    c.assert_refused("chown /mnt/host/host-file 0", "EPERM");
    let out =
        c.sh("chmod 666 /mnt/host/host-file || rm -f /mnt/host/host-file || exit 0; echo changed");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let meta = std::fs::metadata(&file).expect("stat");
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o644)
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "host\n");
    assert!(!shared.join("new").exists());
    c.stop();
}

/// Ids 0..65536 are mapped; 65536 is not: chown and setuid to it fail with EINVAL, and
/// the file keeps its owner (seen from the host: the range's first id).
#[test]
fn chown_and_setuid_to_an_unmapped_id_fail() {
    let c = unprivileged("esc-uids", &[]);
    c.sh_ok("touch /root/owned");
    c.assert_refused("chown /root/owned 65536", "EINVAL");
    c.assert_refused("setuid 65536", "EINVAL");
    let meta = std::fs::metadata(c.rootfs.join("root/owned")).expect("stat");
    assert_eq!(meta.uid(), c.host_root);
    // An id inside the map works: the refusals above are the map's, not a broken chown.
    assert_eq!(c.sh_ok("probe chown /root/owned 1000 || true"), "ok\n");
    assert_eq!(
        meta.uid() + 1000,
        std::fs::metadata(c.rootfs.join("root/owned"))
            .expect("stat")
            .uid()
    );
    c.stop();
}

/// A user namespace's maps are written once: root inside cannot rewrite its own (to map
/// host root, say), nor init's.
#[test]
fn the_id_maps_cannot_be_rewritten() {
    let c = unprivileged("esc-umap", &[]);
    let pid = c.init_pid();
    let before = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("uid_map");
    for map in [
        "/proc/self/uid_map",
        "/proc/self/gid_map",
        "/proc/1/uid_map",
    ] {
        c.assert_refused(&format!("write_text {map} '0 0 4294967295'"), "EPERM");
    }
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("uid_map"),
        before
    );
    c.stop();
}

/// A user namespace made inside may map only ids the container's map has: never host root
/// (which has no id in there), nor more than the container's 65536.
#[test]
fn a_nested_user_namespace_cannot_map_host_root() {
    let c = unprivileged("esc-unest", &[]);
    c.assert_refused("nested_map '0 65536 1'", "EPERM");
    c.assert_refused("nested_map '0 0 65537'", "EPERM");
    c.assert_refused("nested_map '0 4294967294 1'", "EPERM");
    c.stop();
}
