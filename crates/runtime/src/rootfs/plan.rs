//! What the rootfs setup needs, with LXC's defaults applied.

use std::path::{Path, PathBuf};

use rlxc_config::spec::HookPoint;
use rlxc_config::values::{MountAuto, MountEntry, ProcMode, SysMode};
use rlxc_config::ContainerSpec;

use rlxc_storage::backend::Backend;

use crate::hooks::{Hook, HookContext};

use super::entries::read_fstab;
use super::RootfsError;

/// Everything the rootfs setup needs; build it with [`RootfsPlan::from_spec`] or by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct RootfsPlan {
    /// Host path of the container's root: the directory of a `dir` or `btrfs` store (prefix
    /// stripped); for `overlay` and `loop`, which are mounted, the upper or the image.
    pub rootfs: PathBuf,
    /// `lxc.rootfs.path` read as a backing store (see `rlxc_storage::backend`).
    pub backend: Backend,
    /// `lxc.rootfs.options`: per-mount flags (ro, nodev, ...) for the rootfs bind.
    pub rootfs_options: Option<String>,
    /// `lxc.rootfs.mount`: the host directory the rootfs is bound on before the pivot, in
    /// the container's mount namespace (unset: onto itself).
    pub rootfs_mount: Option<PathBuf>,
    /// `rootfs_mount` is a directory of the start's own (in its run directory, for a store
    /// that is mounted rather than bound), made by the container's first process.
    pub make_mount_point: bool,
    /// The effective `lxc.mount.auto`.
    pub mount_auto: MountAuto,
    /// `lxc.mount.entry` in order, then the lines of `lxc.mount.fstab`.
    pub entries: Vec<MountEntry>,
    pub autodev: bool,
    pub autodev_tmpfs_size: u64,
    /// `lxc.pty.max`; the console and ttys are added on top for devpts's `max=`.
    pub pty_max: u32,
    /// `lxc.tty.max`.
    pub ttys: u32,
    /// `lxc.tty.dir`: the console and ttys are made in `/dev/DIR/` (see `pty::allocate`).
    pub tty_dir: Option<String>,
    /// False when `lxc.console.path = none`.
    pub console: bool,
    /// `lxc.hook.pre-mount`, `.mount` and `.autodev`: run during the setup.
    pub hooks: RootfsHooks,
    /// `lxc.idmap`: the setup runs in a new user namespace and takes its root's ids once the
    /// rootfs is open.
    pub user_namespace: bool,
}

/// The hooks that run inside the container's mount namespace, before pivot_root, with the
/// host's programs still in reach (as LXC runs them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RootfsHooks {
    pub pre_mount: Vec<String>,
    pub mount: Vec<String>,
    pub autodev: Vec<String>,
    pub context: Option<HookContext>,
}

impl RootfsHooks {
    fn from_spec(spec: &ContainerSpec) -> RootfsHooks {
        let commands = |point| spec.hooks.commands.get(&point).cloned().unwrap_or_default();
        RootfsHooks {
            pre_mount: commands(HookPoint::PreMount),
            mount: commands(HookPoint::Mount),
            autodev: commands(HookPoint::Autodev),
            context: None,
        }
    }

    /// Runs the hooks of `point`; the first failure stops the start.
    pub(crate) fn run(&self, point: HookPoint) -> Result<(), RootfsError> {
        let commands = match point {
            HookPoint::PreMount => &self.pre_mount,
            HookPoint::Mount => &self.mount,
            HookPoint::Autodev => &self.autodev,
            _ => return Ok(()),
        };
        let Some(context) = &self.context else {
            return Ok(());
        };
        crate::hooks::run(commands, Hook::Lxc(point), context).map_err(|e| RootfsError::Hook {
            message: e.to_string(),
        })
    }
}

impl RootfsPlan {
    pub const DEFAULT_AUTODEV_TMPFS_SIZE: u64 = 500_000;
    pub const DEFAULT_PTY_MAX: u32 = 1024;

    /// The default automounts, less what the config's own entries mount: a pre-LXC-3 config
    /// such as the seed's mounts proc and sysfs itself, and a second sysfs of the same
    /// network namespace cannot be mounted (EBUSY).
    pub fn default_mount_auto_around(entries: &[MountEntry]) -> MountAuto {
        let mut auto = Self::default_mount_auto();
        if entries.iter().any(|e| e.fstype == "proc") {
            auto.proc = None;
        }
        if entries.iter().any(|e| e.fstype == "sysfs") {
            auto.sys = None;
        }
        auto
    }

    /// `proc:mixed sys:ro`, used when the config has no `lxc.mount.auto`.
    pub fn default_mount_auto() -> MountAuto {
        MountAuto {
            proc: Some(ProcMode::Mixed),
            sys: Some(SysMode::Ro),
            ..MountAuto::default()
        }
    }

    /// A plan for `rootfs` with every default: autodev, `proc:mixed sys:ro`, a console, no
    /// ttys, no entries.
    pub fn new(rootfs: impl Into<PathBuf>) -> Self {
        let rootfs = rootfs.into();
        Self {
            backend: Backend::Dir(rootfs.clone()),
            rootfs,
            rootfs_options: None,
            rootfs_mount: None,
            make_mount_point: false,
            mount_auto: Self::default_mount_auto(),
            entries: Vec::new(),
            autodev: true,
            autodev_tmpfs_size: Self::DEFAULT_AUTODEV_TMPFS_SIZE,
            pty_max: Self::DEFAULT_PTY_MAX,
            ttys: 0,
            tty_dir: None,
            console: true,
            hooks: RootfsHooks::default(),
            user_namespace: false,
        }
    }

    /// Builds the plan from a spec, reading `lxc.mount.fstab`. Run this in the parent, before
    /// the clone: it reads files and can fail with messages worth showing the user.
    /// Rootfs kinds other than a directory are refused as unsupported rather than ignored.
    pub fn from_spec(spec: &ContainerSpec) -> Result<Self, RootfsError> {
        let unsupported = |key: &'static str, value: &str| {
            Err(RootfsError::Unsupported {
                key,
                value: value.to_string(),
            })
        };
        let Some(value) = spec.rootfs.path.as_deref() else {
            return unsupported("lxc.rootfs.path", "(unset: a container without a rootfs)");
        };
        let backend = Backend::parse(value).map_err(|e| RootfsError::Backend {
            value: value.to_string(),
            reason: e.to_string(),
        })?;
        check_backend(&backend, value)?;
        let rootfs = backend
            .directory()
            .unwrap_or(backend.own_data())
            .to_path_buf();
        let tty_dir = spec.tty.dir.as_deref().map(check_tty_dir).transpose()?;
        let console = match spec.console.path.as_deref() {
            None => true,
            Some("none") => false,
            // A host device is the console's peer: the container still gets a pty of its
            // own as /dev/console, which the monitor relays to the device.
            Some(_device) => true,
        };
        if let Some(shmounts) = spec.mounts.auto.as_ref().and_then(|a| a.shmounts.as_ref()) {
            return unsupported("lxc.mount.auto", &format!("shmounts:{}", shmounts.host));
        }
        if let Some(options) = &spec.rootfs.options {
            super::flags::rootfs_option_flags(options).map_err(|reason| {
                RootfsError::RootfsOptions {
                    options: options.clone(),
                    reason,
                }
            })?;
        }
        if let Some(entry) = spec.mounts.entries.iter().find(|e| e.idmap().is_some()) {
            return Err(RootfsError::MountEntry {
                entry: entry.to_string(),
                reason: "idmapped mounts (idmap=) are not supported yet".into(),
            });
        }
        let rootfs_mount = spec
            .rootfs
            .mount
            .as_deref()
            .map(check_rootfs_mount)
            .transpose()?;
        let mut entries = spec.mounts.entries.clone();
        if let Some(fstab) = &spec.mounts.fstab {
            entries.extend(read_fstab(Path::new(fstab))?.into_iter().map(|l| l.entry));
        }
        Ok(Self {
            rootfs,
            backend,
            rootfs_options: spec.rootfs.options.clone(),
            rootfs_mount,
            make_mount_point: false,
            mount_auto: spec
                .mounts
                .auto
                .clone()
                .unwrap_or_else(|| Self::default_mount_auto_around(&entries)),
            entries,
            autodev: spec.autodev.enabled.unwrap_or(true),
            autodev_tmpfs_size: spec
                .autodev
                .tmpfs_size
                .map_or(Self::DEFAULT_AUTODEV_TMPFS_SIZE, |s| s.0),
            pty_max: spec.tty.pty_max.unwrap_or(Self::DEFAULT_PTY_MAX),
            ttys: spec.tty.max.unwrap_or(0),
            tty_dir,
            console,
            hooks: RootfsHooks::from_spec(spec),
            user_namespace: !spec.idmaps.is_empty(),
        })
    }
}

/// The host's side of a store, checked before anything is made: a directory to become the
/// container's root, an overlay's lower directory, a loop image. A store that is mounted is
/// mounted by the container's first process, which in a user namespace has no privilege
/// over the host's loop devices or the lower's owners: refused there for now.
fn check_backend(backend: &Backend, value: &str) -> Result<(), RootfsError> {
    let refused = |reason: String| RootfsError::Backend {
        value: value.to_string(),
        reason,
    };
    let (path, what) = match backend {
        Backend::Dir(dir) | Backend::Btrfs(dir) => (dir, "directory"),
        Backend::Overlay(overlay) => (&overlay.lower, "directory (the overlay's lower)"),
        Backend::Loop(image) => (image, "file (the loop image)"),
    };
    let found = match backend {
        Backend::Loop(_) => path.is_file(),
        _ => path.is_dir(),
    };
    if !found {
        if let Backend::Dir(_) = backend {
            return Err(RootfsError::OpenRootfs {
                path: path.clone(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such directory on this host",
                ),
            });
        }
        return Err(refused(format!(
            "{}: no such {what} on this host",
            path.display()
        )));
    }
    Ok(())
}

/// `lxc.tty.dir` names one directory under /dev, as in every LXC config (`lxc`).
fn check_tty_dir(dir: &str) -> Result<String, RootfsError> {
    let single = !dir.is_empty() && dir != "." && dir != ".." && !dir.contains('/');
    if !single {
        return Err(RootfsError::TtyDir {
            dir: dir.to_string(),
        });
    }
    Ok(dir.to_string())
}

/// `lxc.rootfs.mount` must name an existing host directory (by absolute path: the child
/// opens it after no cwd of ours can be meant); checked here, before anything is made.
fn check_rootfs_mount(path: &str) -> Result<PathBuf, RootfsError> {
    let refused = |reason: String| RootfsError::RootfsMount {
        path: PathBuf::from(path),
        reason,
    };
    if !path.starts_with('/') {
        return Err(refused("not an absolute path".into()));
    }
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(PathBuf::from(path)),
        Ok(_) => Err(refused("not a directory".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(refused(
            "no such directory on the host (it must exist)".into(),
        )),
        Err(e) => Err(refused(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> ContainerSpec {
        rlxc_config::load_str(text, Path::new("test.conf"))
            .unwrap()
            .spec
    }

    #[test]
    fn defaults_and_the_dir_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("lxc.rootfs.path = dir:{}\n", dir.path().display());
        let plan = RootfsPlan::from_spec(&spec(&text)).unwrap();
        assert_eq!(plan, RootfsPlan::new(dir.path()));
        assert_eq!(plan.mount_auto.to_string(), "proc:mixed sys:ro");
    }

    #[test]
    fn a_rootfs_the_host_lacks_is_refused_naming_it() {
        let e =
            RootfsPlan::from_spec(&spec("lxc.rootfs.path = /nonexistent/rootfs\n")).unwrap_err();
        assert_eq!(e.config_key(), Some("lxc.rootfs.path"));
        assert!(e.to_string().contains("/nonexistent/rootfs"), "{e}");
    }

    #[test]
    fn entries_then_fstab_lines() {
        let dir = tempfile::tempdir().unwrap();
        let fstab = dir.path().join("fstab");
        std::fs::write(&fstab, "# c\ntmpfs run tmpfs size=1m 0 0\n").unwrap();
        let text = format!(
            "lxc.rootfs.path = {}\nlxc.mount.fstab = {}\nlxc.mount.entry = /a b none bind 0 0\nlxc.tty.max = 2\nlxc.console.path = none\nlxc.autodev = 0\n",
            dir.path().display(),
            fstab.display()
        );
        let plan = RootfsPlan::from_spec(&spec(&text)).unwrap();
        let targets: Vec<_> = plan.entries.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(targets, ["b", "run"]);
        assert_eq!((plan.ttys, plan.console, plan.autodev), (2, false, false));
    }

    #[test]
    fn tty_dir_is_one_directory_name() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path().display();
        let plan = RootfsPlan::from_spec(&spec(&format!(
            "lxc.rootfs.path = {root}\nlxc.tty.dir = lxc\n"
        )));
        assert_eq!(plan.unwrap().tty_dir.as_deref(), Some("lxc"));
        for bad in ["../etc", "a/b", ".."] {
            let text = format!("lxc.rootfs.path = {root}\nlxc.tty.dir = {bad}\n");
            let e = RootfsPlan::from_spec(&spec(&text)).unwrap_err();
            assert!(e.to_string().starts_with("lxc.tty.dir = "), "{e}");
        }
    }

    #[test]
    fn rootfs_mount_must_be_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let text = |mount: &str| {
            format!(
                "lxc.rootfs.path = {}\nlxc.rootfs.mount = {mount}\n",
                root.path().display()
            )
        };
        let at = dir.path().display().to_string();
        let plan = RootfsPlan::from_spec(&spec(&text(&at))).unwrap();
        assert_eq!(plan.rootfs_mount.as_deref(), Some(dir.path()));
        let missing = format!("{at}/missing");
        let e = RootfsPlan::from_spec(&spec(&text(&missing))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("lxc.rootfs.mount = {missing}: no such directory")),
            "{e}"
        );
        let e = RootfsPlan::from_spec(&spec(&text("relative/dir"))).unwrap_err();
        assert!(e.to_string().contains("not an absolute path"), "{e}");
    }

    #[test]
    fn stores_are_read_from_the_rootfs_path() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().display();
        let image = dir.path().join("rootdev");
        std::fs::write(&image, "").unwrap();
        let plan = RootfsPlan::from_spec(&spec(&format!("lxc.rootfs.path = btrfs:{at}\n")));
        assert_eq!(plan.unwrap().rootfs, dir.path());
        let plan = RootfsPlan::from_spec(&spec(&format!("lxc.rootfs.path = loop:{at}/rootdev\n")))
            .unwrap();
        assert!(plan.backend.needs_mount());
        assert_eq!(plan.rootfs, image);
        // Mounted by the monitor, as host root, for an unprivileged container too.
        let text = format!("lxc.rootfs.path = overlay:{at}:{at}/upper\nlxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n");
        assert!(RootfsPlan::from_spec(&spec(&text)).is_ok());
        let e = RootfsPlan::from_spec(&spec("lxc.rootfs.path = loop:/nonexistent/rootdev\n"))
            .unwrap_err();
        assert_eq!(e.config_key(), Some("lxc.rootfs.path"));
        assert!(
            e.to_string().contains("no such file (the loop image)"),
            "{e}"
        );
    }

    #[test]
    fn lvm_and_zfs_are_refused_with_the_reason() {
        let e = RootfsPlan::from_spec(&spec("lxc.rootfs.path = lvm:/dev/vg/web\n")).unwrap_err();
        assert_eq!(e.config_key(), Some("lxc.rootfs.path"));
        assert!(
            e.to_string()
                .starts_with("lxc.rootfs.path = lvm:/dev/vg/web: the lvm backing store"),
            "{e}"
        );
        let e = RootfsPlan::from_spec(&spec("lxc.rootfs.path = zfs:tank/web\n")).unwrap_err();
        assert!(e.to_string().contains("ZFS"), "{e}");
    }
}
