//! The host kernel's own state: modules, the clock, the kernel log, sysrq, kcore, kernel
//! sysctls, keyrings, file handles. None of it is namespaced, so none of it may be reached.

use crate::{Container, Setup};

escape_tests!(
    module_load,
    clock_set,
    kernel_log_read,
    sysrq_and_kcore,
    proc_sys_writes,
    keyring_read,
    open_by_handle_at,
);

fn module_load(setup: Setup) {
    let c = Container::start(setup, "esc-mod", &[]);
    for syscall in ["init_module", "finit_module", "delete_module"] {
        c.assert_refused(syscall, "EPERM");
    }
    // busybox's modprobe and insmod go through the same calls.
    let out = c.sh("insmod /bin/busybox; echo insmod=$?; modprobe loop; echo modprobe=$?");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("insmod=0"), "{text}");
    assert!(!text.contains("modprobe=0"), "{text}");
    c.stop();
}

fn clock_set(setup: Setup) {
    let c = Container::start(setup, "esc-clock", &[]);
    // The probe sets the clock to the time it already is: harmless even if it worked.
    c.assert_refused("settimeofday", "EPERM");
    c.assert_refused("clock_settime", "EPERM");
    // busybox's date reports the failure but exits 0: look at the clock instead.
    c.sh("date -s '2001-01-01 00:00:00'");
    let year = |output: std::process::Output| -> u32 {
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("year")
    };
    assert!(year(c.sh("date +%Y")) > 2001, "the clock was set");
    let year = year(
        std::process::Command::new("date")
            .arg("+%Y")
            .output()
            .expect("date"),
    );
    assert!(year > 2001, "the host's clock was set");
    c.stop();
}

fn kernel_log_read(setup: Setup) {
    let c = Container::start(setup, "esc-klog", &[]);
    // The default policy answers syslog with 0 (nothing read), as LXC's profile does.
    let out = c.sh_ok("probe syslog");
    assert!(out == "EPERM\n" || out == "empty\n", "{out}");
    // /proc/kmsg is masked (/dev/null over it); /dev/kmsg (1:11) is not in the container's
    // /dev and its device is not allowed.
    let out = c.sh_ok(
        "dmesg 2>/dev/null | head -c 1 | grep -q . && echo dmesg-read; \
         [ -s /proc/kmsg ] && echo kmsg-read; \
         head -c 1 /dev/kmsg 2>/dev/null | grep -q . && echo devkmsg-read; echo checked",
    );
    assert_eq!(out, "checked\n");
    c.assert_refused("device c 1 11", "EPERM");
    c.stop();
}

fn sysrq_and_kcore(setup: Setup) {
    let c = Container::start(setup, "esc-sysrq", &[]);
    // Absent on kernels built without them (this test host has neither): then there is
    // nothing to reach, and the probe's ENOENT is the safe outcome as well.
    for path in ["/proc/sysrq-trigger", "/proc/kcore"] {
        let out = c.sh(&format!("probe write {path}"));
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            answer == "ENOENT" || std::path::Path::new(path).exists(),
            "{path}: {answer}"
        );
        if answer != "ENOENT" {
            // Present: masked by /dev/null, so a write lands nowhere and a read is empty.
            let read = c.sh_ok(&format!("head -c 16 {path} | wc -c"));
            assert_eq!(read.trim(), "0", "{path} readable");
        }
    }
    c.stop();
}

/// core_pattern runs a program as root on the host when a process dumps core: the classic
/// way out through a writable /proc/sys. Every host-wide sysctl must stay read-only.
fn proc_sys_writes(setup: Setup) {
    // The container's own sysctls are written before /proc/sys becomes read-only.
    let c = Container::start(setup, "esc-sysctl", &["lxc.sysctl.net.ipv4.ip_forward=1"]);
    assert_eq!(c.sh_ok("cat /proc/sys/net/ipv4/ip_forward"), "1\n");
    // Its network namespace's sysctls stay writable inside, and are its own.
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read");
    assert_eq!(
        c.sh_ok("echo 0 > /proc/sys/net/ipv4/ip_forward && cat /proc/sys/net/ipv4/ip_forward"),
        "0\n"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read"),
        host_forward
    );
    c.stop();
    // Sharing the host's network namespace (type none), they are the host's: read-only.
    let none = match setup {
        Setup::SeedPrivileged => vec!["lxc.net.0.type=none"],
        // A user namespace may mount sysfs only for a network namespace it owns: rlxc
        // refuses the start up front, and without sysfs the container starts.
        Setup::Unprivileged => {
            let c = Container::prepare(setup, "esc-sysctl-nosys");
            let out = c.try_start(&["lxc.net.0.type=none"]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "started");
            assert!(stderr.contains("lxc.mount.auto mounts sysfs"), "{stderr}");
            c.world.assert_nothing_left(&c.name);
            vec![
                "lxc.net.0.type=none",
                "lxc.mount.auto=",
                "lxc.mount.auto=proc:mixed cgroup:mixed",
            ]
        }
    };
    let c = Container::start(setup, "esc-sysctl-none", &none);
    // In (b) the host's sysctls belong to host root, whom the container's map lacks: the
    // open is refused on ownership before the read-only mount is even looked at.
    let refusal = match setup {
        Setup::SeedPrivileged => "EROFS\n",
        Setup::Unprivileged => "EACCES\n",
    };
    assert_eq!(
        c.sh_ok("probe write /proc/sys/net/ipv4/ip_forward"),
        refusal
    );
    c.stop();
    let c = Container::start(setup, "esc-sysctl-ro", &[]);
    let core_pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("read");
    for path in [
        "/proc/sys/kernel/core_pattern",
        "/proc/sys/kernel/modprobe",
        "/proc/sys/vm/drop_caches",
        "/proc/sys/kernel/panic",
        "/proc/sys/fs/file-max",
    ] {
        if !std::path::Path::new(path).exists() {
            continue; // not in this host's kernel (modprobe without module support)
        }
        let out = c.sh(&format!("probe write {path}"));
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            answer == "EROFS" || answer == "EACCES" || answer == "EPERM",
            "{path} is writable in the container ({setup:?}): {answer}"
        );
    }
    let out = c.sh("echo '|/bin/sh -c id' > /proc/sys/kernel/core_pattern");
    assert!(!out.status.success());
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("read"),
        core_pattern
    );
    c.stop();
}

fn keyring_read(setup: Setup) {
    let c = Container::start(setup, "esc-keys", &[]);
    c.assert_refused("keyctl", "EPERM");
    c.assert_refused("add_key", "EPERM");
    // /proc/keys lists every key the reader may view, host root's included: masked.
    let out = c.sh_ok("wc -c < /proc/keys");
    assert_eq!(out.trim(), "0");
    c.stop();
}

/// The "shocker" escape: a handle to inode 2 (the root of the ext4 file system the rootfs
/// lives on) opened with CAP_DAC_READ_SEARCH, which the seed keeps.
fn open_by_handle_at(setup: Setup) {
    let c = Container::start(setup, "esc-shock", &[]);
    c.assert_refused("open_by_handle_at", "EPERM");
    c.stop();
}

/// The same calls through the other ABIs an x86_64 process can use: i386 (`int 0x80`, as a
/// 32-bit program makes them, with i386's numbers) and x32 (x86_64's numbers with bit 30 set).
/// A filter knowing x86_64's numbers alone lets the first through; x32 is refused whole
/// (without the filter this kernel answers it ENOSYS, x32 being off). aarch64 has no such
/// test: its 32-bit calls come from AArch32 code only, which a 64-bit probe cannot run.
#[cfg(target_arch = "x86_64")]
mod other_abis {
    use crate::{Container, Setup};

    escape_tests!(keyring_through_i386_and_x32);

    fn keyring_through_i386_and_x32(setup: Setup) {
        let c = Container::start(setup, "esc-abis", &[]);
        c.assert_refused("keyctl_i386", "EPERM");
        c.assert_refused("keyctl_x32", "EPERM");
        // i386's other calls go on working: `lxc.arch = i686` containers run.
        let out = c.sh("probe getpid_i386");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n", "{out:?}");
        c.stop();
    }
}
