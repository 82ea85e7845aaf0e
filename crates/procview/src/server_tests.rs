//! The server's loop against a SEQPACKET socket standing in for /dev/fuse (one message per
//! read, as the device gives one request per read), with /proc from fixtures.

use std::os::fd::OwnedFd;

use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};

use super::*;

fn request(opcode: u32, unique: u64, node: u64, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&((fuse::IN_HEADER_LEN + body.len()) as u32).to_ne_bytes());
    bytes.extend_from_slice(&opcode.to_ne_bytes());
    bytes.extend_from_slice(&unique.to_ne_bytes());
    bytes.extend_from_slice(&node.to_ne_bytes());
    bytes.extend_from_slice(&[0u8; 16]);
    bytes.extend_from_slice(body);
    bytes
}

fn read_in(size: u32) -> Vec<u8> {
    let mut body = vec![0u8; 40];
    body[16..20].copy_from_slice(&size.to_ne_bytes());
    body
}

/// (unique, error, payload) of the next reply.
fn reply(socket: &OwnedFd) -> (u64, i32, Vec<u8>) {
    let mut buffer = vec![0u8; 65536];
    let n = rustix::io::read(socket, &mut buffer).expect("reply");
    let error = i32::from_ne_bytes(buffer[4..8].try_into().expect("4"));
    let unique = u64::from_ne_bytes(buffer[8..16].try_into().expect("8"));
    (unique, error, buffer[16..n].to_vec())
}

/// A config with no cgroups, the host's /proc.
fn hostless_config() -> ServerConfig {
    ServerConfig {
        sources: Sources::new(Vec::new(), Vec::new()),
        started_boottime_ns: boottime_ns(),
        boot_offset_ns: None,
        // No sysinfo listener here.
        sysinfo_arch: 0,
    }
}

/// A server on a socket (our end returned), with shared pages as `left` leaves them (what a
/// killed server left behind). The thread returns the length of the request left in them
/// when the server ended (0: none to replay).
fn serve_on_a_socket(
    config: ServerConfig,
    left: impl FnOnce(&mut SharedPages) + Send + 'static,
) -> (OwnedFd, std::thread::JoinHandle<usize>) {
    let (ours, servers) = socketpair(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )
    .expect("pair");
    let server = std::thread::spawn(move || {
        let mut shared = SharedPages::new(SHARED_LEN).expect("shared pages");
        left(&mut shared);
        serve(servers, Vec::new(), None, &mut shared, &config);
        fuse::request_len(&shared.bytes()[STATE_LEN..])
    });
    (ours, server)
}

#[test]
fn a_request_read_by_a_dead_server_is_answered_by_the_next_and_files_come_from_proc() {
    let proc_root = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        proc_root.path().join("meminfo"),
        "MemTotal:       16000000 kB\nMemFree:         8000000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
    )
    .expect("meminfo");
    let config = ServerConfig {
        sources: Sources {
            cgroup_paths: Vec::new(),
            cgroup_leaves: Vec::new(),
            proc_root: proc_root.path().to_path_buf(),
            sys_root: proc_root.path().to_path_buf(),
        },
        started_boottime_ns: boottime_ns(),
        boot_offset_ns: None,
        // No sysinfo listener here.
        sysinfo_arch: 0,
    };
    let (ours, server) = serve_on_a_socket(config, |shared| {
        // What a killed server leaves: a LOOKUP read into the shared buffer, not answered.
        let pending = request(1, 42, fuse::ROOT_ID, b"meminfo\0");
        shared.bytes()[STATE_LEN..STATE_LEN + pending.len()].copy_from_slice(&pending);
    });
    let (unique, error, entry) = reply(&ours);
    assert_eq!(
        (unique, error),
        (42, 0),
        "the replayed lookup is answered first"
    );
    let node = u64::from_ne_bytes(entry[0..8].try_into().expect("8"));
    let looked_up = u64::from_ne_bytes(entry[48..56].try_into().expect("8"));
    assert_eq!(
        looked_up, 0,
        "a lookup renders nothing: size 0, as /proc says"
    );
    // GETATTR (what a stat, and a read past the known size, ask): the content's size.
    rustix::io::write(&ours, &request(3, 43, node, &[0u8; 16])).expect("send getattr");
    let (unique, error, attr) = reply(&ours);
    assert_eq!((unique, error), (43, 0));
    let size = u64::from_ne_bytes(attr[24..32].try_into().expect("8"));
    assert!(size > 0, "the size is the content's");

    rustix::io::write(&ours, &request(15, 44, node, &read_in(65536))).expect("send read");
    let (unique, error, content) = reply(&ours);
    assert_eq!((unique, error), (44, 0));
    let content = String::from_utf8(content).expect("utf-8");
    assert!(
        content.starts_with("MemTotal:       16000000 kB\n"),
        "{content}"
    );
    assert_eq!(
        content.len() as u64,
        size,
        "a read from 0 continues the size's content"
    );

    rustix::io::write(&ours, &request(1, 46, fuse::ROOT_ID, b"nonesuch\0")).expect("send");
    assert_eq!(reply(&ours).1, -libc::ENOENT);
    drop(ours);
    // Left cleared: nothing to replay once everything was answered.
    assert_eq!(server.join().expect("server"), 0);
}

#[test]
fn a_request_that_killed_the_last_replay_gets_eio_instead_of_a_third_try() {
    let (ours, server) = serve_on_a_socket(hostless_config(), |shared| {
        // The previous server was replaying request 42 when it died.
        shared.bytes()[32..40].copy_from_slice(&42u64.to_ne_bytes());
        let pending = request(1, 42, fuse::ROOT_ID, b"meminfo\0");
        shared.bytes()[STATE_LEN..STATE_LEN + pending.len()].copy_from_slice(&pending);
    });
    assert_eq!(reply(&ours).1, -libc::EIO);
    drop(ours);
    server.join().expect("server");
}

#[test]
fn the_roots_attributes_last_and_a_files_are_asked_for_again() {
    let (ours, server) = serve_on_a_socket(hostless_config(), |_| {});
    let attr_valid = |reply: &[u8]| u64::from_ne_bytes(reply[0..8].try_into().expect("8"));
    // With `default_permissions` each path walk through the root checks its attributes: a
    // bind of each view file at start would ask for them again if they did not last.
    rustix::io::write(&ours, &request(3, 50, fuse::ROOT_ID, &[0u8; 16])).expect("getattr");
    let (unique, error, root) = reply(&ours);
    assert_eq!((unique, error), (50, 0));
    assert_eq!(attr_valid(&root), 3600);
    // A file's size is its content's, which changes: never cached.
    rustix::io::write(&ours, &request(1, 51, fuse::ROOT_ID, b"loadavg\0")).expect("lookup");
    let (_, error, entry) = reply(&ours);
    assert_eq!(error, 0);
    let node = u64::from_ne_bytes(entry[0..8].try_into().expect("8"));
    assert_eq!(u64::from_ne_bytes(entry[24..32].try_into().expect("8")), 0);
    rustix::io::write(&ours, &request(3, 52, node, &[0u8; 16])).expect("getattr");
    let (unique, error, file) = reply(&ours);
    assert_eq!((unique, error), (52, 0));
    assert_eq!(attr_valid(&file), 0);
    drop(ours);
    server.join().expect("server");
}
