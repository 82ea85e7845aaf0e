//! A hostile config: garbage, NUL bytes, numbers out of range and `../` targets are refused
//! by `start` with file, line and key, and nothing is created — on the host or in the rootfs.

use crate::{Container, Setup};

escape_tests!(
    hostile_lines_are_refused_before_anything_runs,
    an_include_loop_is_refused,
);

/// The set-up's config including a file that includes it back.
fn an_include_loop_is_refused(setup: Setup) {
    let c = Container::prepare(setup, "esc-loop");
    let dir = c.world.dir.path();
    let mut text = std::fs::read(&c.config).expect("config");
    text.extend_from_slice(format!("lxc.include = {}\n", dir.join("b.conf").display()).as_bytes());
    std::fs::write(dir.join("a.conf"), text).expect("a.conf");
    std::fs::write(
        dir.join("b.conf"),
        format!("lxc.include = {}\n", dir.join("a.conf").display()),
    )
    .expect("b.conf");
    let out = c.try_start_with(&dir.join("a.conf"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("b.conf:1") && stderr.contains("a.conf"),
        "{stderr}"
    );
    c.world.assert_nothing_left(&c.name);
}

fn hostile_lines_are_refused_before_anything_runs(setup: Setup) {
    let c = Container::prepare(setup, "esc-conf");
    let base = std::fs::read(&c.config).expect("config");
    let line_number = base.iter().filter(|b| **b == b'\n').count() + 1;
    let escaped = c.world.dir.path().join("escaped");
    let cases: [(&[u8], &str); 9] = [
        (b"lxc.tty.max = -1", "lxc.tty.max"),
        (b"lxc.pty.max = 99999999999", "lxc.pty.max"),
        (b"lxc.net.99999999999.type = veth", "lxc.net.99999999999"),
        (
            b"lxc.prlimit.nofile = 99999999999999999999999",
            "lxc.prlimit.nofile",
        ),
        (b"lxc.cgroup.pids.max = -5", "lxc.cgroup.pids.max"),
        // Both climb out of the rootfs to `escaped`, next to it on the host.
        (
            b"lxc.mount.entry = tmpfs ../../escaped tmpfs create=dir 0 0",
            "lxc.mount.entry",
        ),
        (
            b"lxc.mount.entry = tmpfs mnt/../../../escaped tmpfs create=file 0 0",
            "lxc.mount.entry",
        ),
        (b"lxc.uts.name = a\0b", "NUL"),
        (b"\x01\x02\x7fgarbage\xff\xfe = \x80", ""),
    ];
    let config = c.world.dir.path().join("hostile.conf");
    for (line, named) in cases {
        let mut text = base.clone();
        text.extend_from_slice(line);
        text.push(b'\n');
        std::fs::write(&config, &text).expect("config");
        let out = c.try_start_with(&config, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown = String::from_utf8_lossy(line);
        assert!(!out.status.success(), "{shown:?} started");
        assert!(
            stderr.contains(&format!("hostile.conf:{line_number}")) && stderr.contains(named),
            "{shown:?}: {stderr}"
        );
        c.world.assert_nothing_left(&c.name);
        assert!(!escaped.exists(), "{shown:?} created {}", escaped.display());
    }
}
