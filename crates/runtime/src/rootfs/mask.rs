//! Before the pivot, after every mount of the config: paths of /proc and /sys that show the
//! host's kernel, hardware or other users' secrets are masked, whatever the config mounted
//! (the seed's own proc line included). Files get the host's /dev/null bound over them,
//! directories an empty read-only tmpfs; targets are resolved inside the rootfs on fds like
//! every other mount. The list is the OCI runtime spec's default, plus `/proc/kmsg` (the
//! host's kernel log).

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

/// Masks every path of [`MASKED_PATHS`] that exists in the container's tree.
pub(crate) fn mask_paths(root: &RootDir) -> Result<(), RootfsError> {
    for (path, _) in MASKED_PATHS {
        let Ok(target) = root.resolve(path, None) else {
            continue;
        };
        let error = |source: std::io::Error| RootfsError::Mask {
            path: format!("/{path}"),
            source,
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
