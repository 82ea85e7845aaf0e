//! The host kernel's own state: modules, the clock, the kernel log, sysrq, kcore, kernel
//! sysctls, keyrings, file handles. None of it is namespaced, so none of it may be reached.

use crate::{Container, Setup};

escape_tests!(
    module_load,
    clock_set,
    kernel_log_read,
    masked_paths,
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

/// Every path of the runtime's mask list that this kernel has is masked in the container: a
/// file is the host's /dev/null (reads nothing, writes land nowhere), a directory an empty
/// read-only tmpfs. sysrq-trigger and kcore are on the list; the CI host's kernel has neither,
/// the UML lane's has both and sets `RLXC_EXPECT_SYSRQ_KCORE=1`: missing there, they fail.
/// Paths this kernel lacks must be absent in the container too (its /proc is the kernel's).
fn masked_paths(setup: Setup) {
    let (present, absent): (Vec<String>, Vec<String>) = rlxc_runtime::rootfs::MASKED_PATHS
        .iter()
        .map(|(path, _)| format!("/{path}"))
        .partition(|path| std::path::Path::new(path).exists());
    if std::env::var_os("RLXC_EXPECT_SYSRQ_KCORE").is_some() {
        for path in ["/proc/sysrq-trigger", "/proc/kcore"] {
            assert!(present.iter().any(|p| p == path), "{path} is missing");
        }
    }
    let is_dir = |path: &String| std::path::Path::new(path).is_dir();
    let (dirs, files): (Vec<&String>, Vec<&String>) = present.iter().partition(|p| is_dir(p));
    // Never a check over nothing: every kernel has /proc/keys or /proc/timer_list, and this
    // suite's hosts have /sys/firmware or /proc/acpi.
    assert!(
        !files.is_empty() && !dirs.is_empty(),
        "masked paths here: {present:?}"
    );

    let c = Container::start(setup, "esc-mask", &[]);
    for path in files {
        // busybox stat: %t:%T is the device's major:minor in hex; the bytes a read returns
        // (none: /dev/null reads empty, or refuses the open where the node's mount is nodev
        // for the container, as in an unprivileged one on a pure cgroup2 host).
        let out = c.sh_ok(&format!(
            "stat -c %F:%t:%T {path}; head -c 16 {path} 2>/dev/null | wc -c"
        ));
        assert_eq!(out, "character special file:1:3\n0\n", "{path} ({setup:?})");
    }
    for path in dirs {
        let out = c.sh_ok(&format!(
            "ls -A {path} | wc -l; touch {path}/x 2>/dev/null && echo writable; echo checked"
        ));
        assert_eq!(out, "0\nchecked\n", "{path} ({setup:?})");
    }
    for path in &absent {
        assert_eq!(
            c.sh_ok(&format!("probe write {path}")),
            "ENOENT\n",
            "{path}"
        );
    }
    if present.iter().any(|p| p == "/proc/sysrq-trigger") {
        // 'h' only prints sysrq's help to the kernel log: harmless if the mask failed, and
        // then seen from outside.
        let before = sysrq_help_lines();
        c.sh("echo h > /proc/sysrq-trigger");
        assert_eq!(
            sysrq_help_lines(),
            before,
            "sysrq reached the kernel ({setup:?})"
        );
    }
    c.stop();
}

/// How many times the kernel log has sysrq's help, which writing 'h' to sysrq-trigger adds.
fn sysrq_help_lines() -> usize {
    let out = std::process::Command::new("dmesg")
        .output()
        .expect("run dmesg");
    assert!(out.status.success(), "dmesg failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| line.contains("sysrq: HELP"))
        .count()
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
