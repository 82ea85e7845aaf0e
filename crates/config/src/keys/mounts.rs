//! Root filesystem, mount entries, automatic mounts and /dev.

use super::macros::{list, scalar};
use super::{KeyDef, Support};
use crate::values::MountAuto;

pub(super) static KEYS: &[KeyDef] = &[
    scalar!(Rootfs, "lxc.rootfs.path", ["lxc.rootfs"], "lxc.rootfs.path = /var/lib/rlxc/web/rootfs",
        "Root filesystem: a directory, or `TYPE:SOURCE`: `dir:PATH`, `overlay:LOWER:UPPER` (work directory `UPPER/../work`), `btrfs:PATH` (a subvolume), `loop:IMAGE` (an image file's filesystem).", rootfs.path)
        .partly("dir, overlay (`overlayfs:` too), btrfs, loop; `lvm:`, `zfs:`, `rbd:`, `nbd:` are refused with what the host lacks; overlay and loop with `lxc.idmap` are refused at start"),
    scalar!(Rootfs, "lxc.rootfs.mount", "lxc.rootfs.mount = /run/rlxc/rootfs",
        "Host directory (it must exist) the rootfs is mounted on, in the container's mount \
         namespace only, before it pivots; unset: the rootfs is bound onto itself.", rootfs.mount),
    scalar!(Rootfs, "lxc.rootfs.options", "lxc.rootfs.options = ro,nodev",
        "Extra mount options for the rootfs (`ro` makes it read-only).", rootfs.options)
        .partly("mount flags (ro, nodev, nosuid, ...); filesystem data and `idmap=` are refused at start"),
    scalar!(Rootfs, "lxc.rootfs.managed", "lxc.rootfs.managed = 0",
        "0: rlxc never modifies or deletes this storage (destroy keeps it).", rootfs.managed),
    scalar!(Rootfs, "lxc.mount.fstab", ["lxc.mount"], "lxc.mount.fstab = /var/lib/rlxc/web/fstab",
        "An fstab file of extra mounts; targets are relative to the container's root.", mounts.fstab)
        .partly("an entry with `idmap=` is refused at start"),
    list!(Rootfs, "lxc.mount.entry",
        "lxc.mount.entry = tmpfs tmp tmpfs nosuid,nodev,noexec,mode=1777,size=128m 0 0",
        "One fstab line; extra options `create=dir|file`, `optional`, `relative`.", mounts.entries)
        .partly("`idmap=` (an idmapped mount) is refused at start"),
    KeyDef {
        name: "lxc.mount.auto",
        prefix: false,
        list: true,
        section: super::Section::Rootfs,
        legacy: &[],
        doc: "Kernel filesystems to mount: `proc[:mixed|:rw]`, `sys[:mixed|:ro|:rw]`, `cgroup[:mixed|:ro|:rw]`, `cgroup2[:ro]`.",
        example: "lxc.mount.auto = proc:mixed sys:ro cgroup:mixed",
        support: Support::Partly("`shmounts:` is refused at start"),
        // A later line replaces only the categories it names (proc, sys, cgroup), as in LXC.
        set: |spec, _, value| {
            let later: MountAuto = value.parse()?;
            match &mut spec.mounts.auto {
                Some(current) => current.merge(&later),
                None => spec.mounts.auto = Some(later),
            }
            Ok(())
        },
        clear: |spec, _| {
            spec.mounts.auto = None;
            Ok(())
        },
        render: |spec, out| {
            if let Some(auto) = &spec.mounts.auto {
                out.push(("lxc.mount.auto".into(), auto.to_string()));
            }
        },
    },
    scalar!(Rootfs, "lxc.autodev", "lxc.autodev = 1",
        "1 (default): a fresh tmpfs `/dev` with only the basic nodes; 0: keep the rootfs's `/dev`.", autodev.enabled),
    scalar!(Rootfs, "lxc.autodev.tmpfs.size", "lxc.autodev.tmpfs.size = 500000",
        "Size of the `/dev` tmpfs (default 500000 bytes).", autodev.tmpfs_size),
    scalar!(Rootfs, "lxc.procview", "lxc.procview = 0",
        "The container's own /proc/meminfo, cpuinfo, stat, loadavg, diskstats, swaps, uptime (its own idle time too: the kernel's file in a time namespace shows the host's) and /sys/devices/system/cpu/online, served from its cgroups. Unset (default): on where the host has FUSE, else a warning and the kernel's files; 1: required (no FUSE fails the start); 0: off.", procview),
];
