//! Where a container's files live: its directory under the lxcpath, and its runtime directory
//! (lock, control socket, state file) under `/run/rlxc`.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

/// The default container root, as `-P` / `RLXC_PATH` default to.
pub const DEFAULT_LXCPATH: &str = "/var/lib/rlxc";
/// Runtime state root; `RLXC_RUN_DIR` overrides it (tests use a private one).
pub const DEFAULT_RUN_ROOT: &str = "/run/rlxc";

/// A container's places on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPaths {
    pub lxcpath: PathBuf,
    pub name: String,
    run_root: PathBuf,
}

impl ContainerPaths {
    /// Paths for `name` under `lxcpath`; the run root comes from `RLXC_RUN_DIR` or the default.
    pub fn new(lxcpath: &Path, name: &str) -> Self {
        Self::with_run_root(lxcpath, name, &run_root())
    }

    pub fn with_run_root(lxcpath: &Path, name: &str, run_root: &Path) -> Self {
        Self {
            lxcpath: lxcpath.to_path_buf(),
            name: name.to_string(),
            run_root: run_root.to_path_buf(),
        }
    }

    /// Where every container's run directory goes (`/run/rlxc`, or `RLXC_RUN_DIR`).
    pub fn run_root(&self) -> &Path {
        &self.run_root
    }

    /// `$lxcpath/$name`.
    pub fn dir(&self) -> PathBuf {
        self.lxcpath.join(&self.name)
    }

    /// `$lxcpath/$name/config`.
    pub fn config(&self) -> PathBuf {
        self.dir().join("config")
    }

    /// `$lxcpath/$name/rootfs`, the rootfs of containers that rlxc created.
    pub fn default_rootfs(&self) -> PathBuf {
        self.dir().join("rootfs")
    }

    /// `/run/rlxc/NAME` for the default lxcpath; containers of another lxcpath get
    /// `/run/rlxc/NAME.HASH` so two lxcpaths may hold the same name without clashing.
    pub fn run_dir(&self) -> PathBuf {
        self.run_root.join(self.instance_name())
    }

    /// The name that tells this container from a same-named one of another lxcpath, for
    /// everything host-wide (run directory, cgroups): `NAME` under the default lxcpath,
    /// `NAME.HASH` (of the lxcpath) elsewhere.
    pub fn instance_name(&self) -> String {
        if self.lxcpath == Path::new(DEFAULT_LXCPATH) {
            return self.name.clone();
        }
        let mut hasher = Fnv64::default();
        self.lxcpath.hash(&mut hasher);
        format!("{}.{:016x}", self.name, hasher.finish())
    }

    /// The monitor's control socket.
    pub fn socket(&self) -> PathBuf {
        self.run_dir().join("monitor.sock")
    }

    /// Whether the control socket's path fits a socket address (`sun_path`, 108 bytes with
    /// its NUL). Every name fits under the default run root (see [`crate::name`]); a long
    /// `RLXC_RUN_DIR` may not, which a start says before it makes anything.
    pub fn check_socket(&self) -> Result<(), SocketPathTooLong> {
        let socket = self.socket();
        let length = socket.as_os_str().len();
        if length < SUN_PATH_LEN {
            return Ok(());
        }
        Err(SocketPathTooLong {
            socket,
            length,
            run_root: self.run_root.clone(),
        })
    }

    /// The state file (see [`crate::state`]).
    pub fn state_file(&self) -> PathBuf {
        self.run_dir().join("state.json")
    }

    /// The seccomp filter init was started with, as BPF: attach installs the same one.
    pub fn seccomp_file(&self) -> PathBuf {
        self.run_dir().join("seccomp.bpf")
    }

    /// The lock that serialises start/stop/destroy of this container.
    pub fn lock_file(&self) -> PathBuf {
        self.run_dir().join("lock")
    }

    /// The state changes of every container of this lxcpath (see [`crate::events`]).
    pub fn events_journal(&self) -> PathBuf {
        events_journal(&self.run_root, &self.lxcpath)
    }
}

/// Where the events journals of every lxcpath live: `RUN_ROOT/.events` (a leading '.', which
/// no container name has: see [`crate::name`]).
pub fn events_dir(run_root: &Path) -> PathBuf {
    run_root.join(".events")
}

/// `RUN_ROOT/.events/HASH`, HASH of the lxcpath: one journal per lxcpath (each line names its
/// lxcpath too, so a clash of hashes only costs a filter).
pub fn events_journal(run_root: &Path, lxcpath: &Path) -> PathBuf {
    let mut hasher = Fnv64::default();
    lxcpath.hash(&mut hasher);
    events_dir(run_root).join(format!("{:016x}", hasher.finish()))
}

/// The run root of this process: `RLXC_RUN_DIR`, else `/run/rlxc`.
pub fn run_root() -> PathBuf {
    std::env::var_os("RLXC_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_ROOT))
}

/// `sun_path`'s size on Linux, its final NUL included.
const SUN_PATH_LEN: usize = 108;

/// The run directory leaves no room for the control socket's path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the control socket {} would be a path of {length} bytes, and a socket's path may be at \
     most {}: the run directory {} (RLXC_RUN_DIR) is too long for this container (the \
     default /run/rlxc fits every name)",
    .socket.display(), SUN_PATH_LEN - 1, .run_root.display()
)]
pub struct SocketPathTooLong {
    pub socket: PathBuf,
    pub length: usize,
    pub run_root: PathBuf,
}

/// FNV-1a: a stable hash (std's `DefaultHasher` may change between Rust releases, and the
/// run directory name must not).
#[derive(Default)]
struct Fnv64(Option<u64>);

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0.unwrap_or(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.finish();
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = Some(hash);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest name fits under the default run root from any lxcpath; a run root long
    /// enough to leave no room is refused naming the run directory.
    #[test]
    fn the_socket_of_every_name_fits_the_default_run_root() {
        let longest = "容".repeat(21) + "a";
        assert_eq!(longest.len(), crate::name::MAX_NAME_LEN);
        for lxcpath in [DEFAULT_LXCPATH, "/srv/some/other/lxcpath"] {
            let paths = ContainerPaths::with_run_root(
                Path::new(lxcpath),
                &longest,
                Path::new(DEFAULT_RUN_ROOT),
            );
            assert_eq!(paths.check_socket(), Ok(()));
        }
        let deep = ContainerPaths::with_run_root(
            Path::new("/srv/a"),
            &longest,
            Path::new("/tmp/a-run-directory-deep-down"),
        );
        let message = deep.check_socket().unwrap_err().to_string();
        assert!(
            message.contains(
                "the run directory /tmp/a-run-directory-deep-down (RLXC_RUN_DIR) is too long"
            ),
            "{message}"
        );
    }

    #[test]
    fn default_lxcpath_uses_the_plain_name() {
        let paths = ContainerPaths::with_run_root(
            Path::new(DEFAULT_LXCPATH),
            "web",
            Path::new("/run/rlxc"),
        );
        assert_eq!(paths.run_dir(), Path::new("/run/rlxc/web"));
        assert_eq!(paths.config(), Path::new("/var/lib/rlxc/web/config"));
        assert_eq!(paths.socket(), Path::new("/run/rlxc/web/monitor.sock"));
    }

    #[test]
    fn the_instance_name_is_the_run_directorys() {
        let default = ContainerPaths::with_run_root(
            Path::new(DEFAULT_LXCPATH),
            "web",
            Path::new("/run/rlxc"),
        );
        assert_eq!(default.instance_name(), "web");
        let other =
            ContainerPaths::with_run_root(Path::new("/srv/a"), "web", Path::new("/run/rlxc"));
        assert!(other.instance_name().starts_with("web."));
        assert_eq!(
            other
                .run_dir()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            Some(other.instance_name())
        );
    }

    #[test]
    fn other_lxcpaths_do_not_clash() {
        let a = ContainerPaths::with_run_root(Path::new("/srv/a"), "web", Path::new("/run/rlxc"));
        let b = ContainerPaths::with_run_root(Path::new("/srv/b"), "web", Path::new("/run/rlxc"));
        assert_ne!(a.run_dir(), b.run_dir());
        assert!(a.run_dir().starts_with("/run/rlxc"));
        // Stable across runs and releases.
        assert_eq!(
            a.run_dir(),
            ContainerPaths::with_run_root(Path::new("/srv/a"), "web", Path::new("/run/rlxc"))
                .run_dir()
        );
    }
}
