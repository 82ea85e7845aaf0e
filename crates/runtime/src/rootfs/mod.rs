//! The container's filesystem, built from inside its new mount namespace.
//!
//! [`setup`] runs in the container's first process, after `clone3(CLONE_NEWNS|...)` and
//! before init is exec'd. It is single-threaded and depends only on its argument. Inside the
//! rootfs nothing is looked up by joined path strings: every target is resolved on the
//! rootfs fd with `openat2(RESOLVE_IN_ROOT)` and mounted onto through its fd (see
//! `resolve` and `fdmount`), so the rootfs's own symlinks cannot aim a mount at the host.

mod auto;
mod auto_cgroup;
mod boot_id;
mod dev;
mod entries;
mod error;
mod fdmount;
mod flags;
mod mask;
mod plan;
mod pty;
mod resolve;
mod root;

use std::os::fd::OwnedFd;

use rlxc_cgroup::CgroupLayout;
use rlxc_config::spec::HookPoint;

pub use entries::{read_fstab, FstabLine, SkippedMount};
pub use error::RootfsError;
pub use mask::{MASKED_PATHS, READ_ONLY_PATHS};
pub use plan::{RootfsHooks, RootfsPlan};
pub use pty::Ptys;
pub use resolve::Resolver;

/// What [`setup`] leaves for the caller.
#[derive(Debug)]
pub struct RootfsOutcome {
    /// Masters of the console and ttys, to be sent to the monitor.
    pub ptys: Ptys,
    /// `optional` mount entries that failed and were skipped (the caller reports them).
    pub skipped: Vec<SkippedMount>,
    /// How paths inside the rootfs were resolved (probed once), for the caller to log.
    pub resolver: Resolver,
}

/// Mounts everything and pivots into the rootfs. After this returns, `/` is the container's
/// root and no mount of the host's tree is reachable.
pub fn setup(plan: &RootfsPlan) -> Result<RootfsOutcome, RootfsError> {
    set_up(plan, None, None)
}

/// [`setup`] for a caller that has read the host's cgroup layout already (a start has, for
/// the container's cgroups): a cgroup automount then does not read the mount table again.
/// `store_mount`: the detached mount of an overlay or loop store, made by the caller
/// ([`mount_store`]) where it has the privileges for it; without it this process mounts.
pub fn setup_knowing(
    plan: &RootfsPlan,
    layout: &CgroupLayout,
    store_mount: Option<&OwnedFd>,
) -> Result<RootfsOutcome, RootfsError> {
    set_up(plan, Some(layout), store_mount)
}

/// An overlay or loop store's rootfs as a detached mount (see `rlxc_storage`), for
/// [`setup_knowing`].
pub fn mount_store(plan: &RootfsPlan) -> Result<OwnedFd, RootfsError> {
    root::mount_store(plan)
}

fn set_up(
    plan: &RootfsPlan,
    layout: Option<&CgroupLayout>,
    store_mount: Option<&OwnedFd>,
) -> Result<RootfsOutcome, RootfsError> {
    // 1. Nothing we mount from here on may propagate to the host.
    root::make_mounts_slave()?;
    // 2. The rootfs is opened (a directory: dir, btrfs) or mounted, detached (overlay, loop);
    //    in a user namespace the child then becomes its root, so all it makes from here on
    //    belongs to the container.
    let source = match (plan.backend.needs_mount(), store_mount) {
        (false, _) => Source::Dir(root::open_rootfs(&plan.rootfs)?),
        (true, Some(mount)) => {
            Source::Mounted(
                mount
                    .try_clone()
                    .map_err(|cause| RootfsError::AttachRootfs {
                        value: plan.backend.to_string(),
                        target: plan.rootfs_mount.clone().unwrap_or_default(),
                        cause,
                    })?,
            )
        }
        (true, None) => Source::Mounted(root::mount_store(plan)?),
    };
    if let (true, Some(path)) = (plan.make_mount_point, &plan.rootfs_mount) {
        root::make_mount_point(path)?;
    }
    let mount_point = match &plan.rootfs_mount {
        Some(path) => Some(root::open_mount_point(path)?),
        None => None,
    };
    if plan.user_namespace {
        crate::userns::become_root().map_err(|cause| RootfsError::UserNamespace { cause })?;
    }
    plan.hooks.run(HookPoint::PreMount)?;
    //    It becomes a mount of its own (with lxc.rootfs.options), held as an fd, on itself or
    //    at lxc.rootfs.mount (where the mount hooks find it as $LXC_ROOTFS_MOUNT).
    let options = plan.rootfs_options.as_deref();
    let root = match source {
        Source::Dir(dir) => root::bind_rootfs(&dir, &plan.rootfs, mount_point.as_ref(), options)?,
        Source::Mounted(tree) => {
            let value = plan.backend.to_string();
            root::attach_mounted(tree, &value, mount_point.as_ref(), options)?
        }
    };
    drop(mount_point);
    // 3. proc and sysfs, with their read-only parts.
    auto::mount_auto(&root, &plan.mount_auto, layout)?;
    // 4. A tmpfs /dev with a minimal set of nodes, then the container's own devpts.
    if plan.autodev {
        dev::mount_autodev(&root, plan.autodev_tmpfs_size)?;
    }
    let ptys = match devpts_max(plan) {
        Some(max) => {
            let devpts = dev::mount_devpts(&root, max)?;
            dev::bind_ptmx(&root, &devpts)?;
            // 5. Console and ttys from that devpts, slaves bound over /dev/console, /dev/ttyN.
            pty::allocate(
                &root,
                &devpts,
                plan.console,
                plan.ttys,
                plan.tty_dir.as_deref(),
            )?
        }
        None => Ptys::default(),
    };
    // 6. The user's mounts, in order, confined to the rootfs.
    let mounted = entries::mount_entries(&root, &plan.entries)?;
    // The user's mount hooks, then (with autodev) the hooks that add /dev nodes.
    plan.hooks.run(HookPoint::Mount)?;
    if plan.autodev {
        plan.hooks.run(HookPoint::Autodev)?;
    }
    // What the container must never read of the host, whatever it mounted. (What it must
    // never write, /proc/sys and co., becomes read-only after init's sysctls are written:
    // `make_proc_read_only`.)
    mask::mask_paths(&root)?;
    let resolver = root.resolver();
    // 7. Into the rootfs; the host's tree is detached and unreachable from here on.
    //    Its mounts become shared among its own namespaces, except where an entry asked for
    //    another propagation.
    root::pivot_into(root)?;
    entries::reapply_propagation(mounted.propagation)?;
    Ok(RootfsOutcome {
        ptys,
        skipped: mounted.skipped,
        resolver,
    })
}

/// What becomes the container's root: an open directory to bind, or a store's detached mount.
enum Source {
    Dir(OwnedFd),
    Mounted(OwnedFd),
}

/// The mount point of a store that is mounted rather than bound (`overlay`, `loop`) when
/// `lxc.rootfs.mount` does not name one: `RUN_DIR/rootfs`, in the container's namespace only
/// (as LXC mounts every rootfs at its own `lxc.rootfs.mount` default). `None` for the others.
pub fn store_mount_point(
    spec: &rlxc_config::ContainerSpec,
    paths: &crate::paths::ContainerPaths,
) -> Option<std::path::PathBuf> {
    if spec.rootfs.mount.is_some() {
        return None;
    }
    let backend = rlxc_storage::backend::Backend::parse(spec.rootfs.path.as_deref()?).ok()?;
    backend
        .needs_mount()
        .then(|| paths.run_dir().join("rootfs"))
}

/// After the pivot, once init has written its `lxc.sysctl.*`: /proc/sys, sysrq-trigger and
/// the other host-wide knobs of the container's procfs become read-only (`mask`), however
/// /proc was mounted; /proc/sys/net stays writable when `own_network` (see `mask`).
pub fn make_proc_read_only(own_network: bool) -> Result<(), RootfsError> {
    let root =
        resolve::RootDir::open(std::path::Path::new("/")).map_err(|cause| RootfsError::Mask {
            path: "/".into(),
            cause,
        })?;
    mask::read_only_proc(&root, own_network)
}

/// After the pivot and [`make_proc_read_only`]: the container's own boot id (see `boot_id`),
/// where it has a /proc and an autodev /dev.
pub fn bind_own_boot_id() -> Result<(), RootfsError> {
    let root = resolve::RootDir::open(std::path::Path::new("/"))
        .map_err(|cause| RootfsError::BootId { cause })?;
    boot_id::bind_own_boot_id(&root)
}

/// The `max=` of the container's devpts, or `None` when it gets none (LXC: when
/// `pty.max + tty.max == 0`). The console and the ttys are allocated from the same
/// instance, so they are added to `lxc.pty.max` rather than eating into it.
fn devpts_max(plan: &RootfsPlan) -> Option<u32> {
    let reserved = plan.ttys.saturating_add(u32::from(plan.console));
    if plan.pty_max == 0 && reserved == 0 {
        return None;
    }
    Some(plan.pty_max.saturating_add(reserved))
}
