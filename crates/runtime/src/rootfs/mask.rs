//! Before the pivot, after every mount of the config: paths of /proc and /sys that show the
//! host's kernel, hardware or other users' secrets are masked, whatever the config mounted
//! (the seed's own proc line included). Files get the host's /dev/null bound over them,
//! directories an empty read-only tmpfs; targets are resolved inside the rootfs on fds like
//! every other mount. The list is the OCI runtime spec's default, plus `/proc/kmsg` (the
//! host's kernel log).
//!
//! Before the masks, the host-wide knobs of a procfs at `/proc` are made read-only (the OCI
//! spec's read-only paths), however /proc was mounted: a config that mounts proc itself, as
//! the seed does with `proc proc proc nosuid,nodev,noexec`, would otherwise let the
//! container write `/proc/sys/kernel/core_pattern` — a program the host kernel runs as root.
//! Only `lxc.mount.auto = proc:rw`, asked for by name, keeps them writable.

use rustix::fs as rfs;
use rustix::mount::MountFlags;

use super::fdmount;
use super::resolve::RootDir;
use super::RootfsError;

/// (path, what it would give away).
pub const MASKED_PATHS: &[(&str, &str)] = &[
    ("proc/acpi", "host firmware tables and power controls"),
    ("proc/asound", "the host's sound devices"),
    ("proc/kcore", "the host's physical memory"),
    ("proc/keys", "every key of the host's keyrings"),
    ("proc/kmsg", "the host's kernel log"),
    ("proc/latency_stats", "host scheduling latencies"),
    (
        "proc/timer_list",
        "host timers, with other processes' names and pids",
    ),
    ("proc/timer_stats", "host timer usage"),
    ("proc/sched_debug", "every task on the host"),
    ("proc/scsi", "the host's SCSI devices, and a rescan trigger"),
    ("proc/sysrq-trigger", "reboot or crash the host"),
    ("sys/firmware", "host firmware (ACPI tables, EFI variables)"),
    (
        "sys/devices/virtual/powercap",
        "power-draw counters (a side channel)",
    ),
];

/// (path, what writing it would do to the host).
pub const READ_ONLY_PATHS: &[(&str, &str)] = &[
    (
        "proc/sys",
        "host-wide sysctls: core_pattern and modprobe run programs as root on the host",
    ),
    ("proc/sysrq-trigger", "reboots or crashes the host"),
    ("proc/irq", "the host's interrupt affinities"),
    ("proc/bus", "the host's PCI and USB devices"),
    ("proc/fs", "host file system settings (nfsd, ...)"),
];

/// `statfs.f_type` of procfs.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Makes every path of [`READ_ONLY_PATHS`] read-only when /proc is a procfs: a bind of the
/// path onto itself, remounted read-only (the superblock is the host's: never flipped).
///
/// `own_network`: the container has a network namespace of its own, so /proc/sys/net is
/// its own and stays writable; sharing the host's (`lxc.net.0.type = none`), it is the
/// host's and read-only like the rest.
pub(crate) fn read_only_proc(root: &RootDir, own_network: bool) -> Result<(), RootfsError> {
    let on_procfs = root
        .resolve("proc", None)
        .ok()
        .and_then(|proc_root| rfs::fstatfs(&proc_root).ok())
        // `f_type`'s integer type differs between architectures, hence the cast.
        .is_some_and(|fs| {
            #[allow(clippy::unnecessary_cast)]
            let magic = fs.f_type as i64;
            magic == PROC_SUPER_MAGIC
        });
    if !on_procfs {
        return Ok(());
    }
    // /proc/sys/net belongs to the container's own network namespace: it stays writable
    // (as with LXC's proc:mixed), so `sysctl -w net.…` works inside. Held before /proc/sys
    // is covered by its read-only bind, bound back over it after.
    let net = own_network
        .then(|| root.resolve(NAMESPACED_SYSCTLS, None).ok())
        .flatten();
    for (path, _) in READ_ONLY_PATHS {
        // Absent on kernels built without it (sysrq, /proc/bus without PCI): nothing to guard.
        let Ok(target) = root.resolve(path, None) else {
            continue;
        };
        let flags = MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
        fdmount::bind_read_only(&target, || Ok(root.resolve(path, None)?), flags).map_err(
            |source| RootfsError::Mask {
                path: format!("/{path} (read-only)"),
                cause: source,
            },
        )?;
    }
    if let Some(net) = net {
        let failed = |source| RootfsError::Mask {
            path: format!("/{NAMESPACED_SYSCTLS} (writable)"),
            cause: source,
        };
        let target = root
            .resolve(NAMESPACED_SYSCTLS, None)
            .map_err(|e| failed(e.into()))?;
        let reopen = || Ok(root.resolve(NAMESPACED_SYSCTLS, None)?);
        fdmount::bind_own_group(&net, &target, reopen).map_err(failed)?;
    }
    Ok(())
}

/// The part of /proc/sys that is the container's own (its network namespace's).
const NAMESPACED_SYSCTLS: &str = "proc/sys/net";

/// Masks every path of [`MASKED_PATHS`] that exists in the container's tree.
pub(crate) fn mask_paths(root: &RootDir) -> Result<(), RootfsError> {
    for (path, _) in MASKED_PATHS {
        let Ok(target) = root.resolve(path, None) else {
            continue;
        };
        let error = |source: std::io::Error| RootfsError::Mask {
            path: format!("/{path}"),
            cause: source,
        };
        let stat = rfs::fstat(&target).map_err(|e| error(e.into()))?;
        if rfs::FileType::from_raw_mode(stat.st_mode) == rfs::FileType::Directory {
            fdmount::mount_new("tmpfs", &target, "tmpfs", MountFlags::RDONLY, "size=0")
        } else {
            fdmount::bind("/dev/null", &target, false)
        }
        .map_err(error)?;
    }
    Ok(())
}
