//! The monitor looks the /proc view's files up while the child makes the rootfs
//! (`procview::mount::look_up_ahead`), so that the child's binds find them in the dentry
//! cache instead of each waiting for a round trip to the server. Shown on a real FUSE mount
//! by taking the server away afterwards: every name looked up ahead still resolves, a name
//! that was not does not (the connection is gone). Runs single-threaded (harness = false):
//! the server is forked.

use rlxc_procview::{self as procview, boottime_ns, ServerConfig, Sources};
use rustix::fs::{openat, Mode, OFlags};

const VIEW_FILES: [&str; 4] = ["meminfo", "cpuinfo", "stat", "uptime"];

fn resolves(view: &std::os::fd::OwnedFd, name: &str) -> Result<(), rustix::io::Errno> {
    openat(view, name, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).map(drop)
}

fn main() {
    let device = procview::open_device(Some(true))
        .expect("/dev/fuse")
        .expect("a FUSE device");
    let view = procview::mount::mount_detached(&device).expect("mount the view");
    let config = ServerConfig {
        sources: Sources::new(Vec::new(), Vec::new()),
        started_boottime_ns: boottime_ns(),
        boot_offset_ns: None,
        // No sysinfo listener here.
        sysinfo_arch: 0,
    };
    let server = procview::Server::start(device, None, config, "look-ahead").expect("server");

    procview::mount::look_up_ahead(&view);

    // Killed and its device closed: the connection ends, and a lookup that needs the server
    // fails from now on.
    drop(server);
    assert_eq!(
        resolves(&view, "loadavg-not-a-view-file"),
        Err(rustix::io::Errno::NOTCONN),
        "the server is gone"
    );
    for name in VIEW_FILES {
        assert_eq!(
            resolves(&view, name),
            Ok(()),
            "{name} was not looked up ahead"
        );
    }
    println!("view_look_ahead: ok");
}
