//! Finding paths inside the container's rootfs without ever leaving it.
//!
//! The rootfs is untrusted: it may hold symlinks such as `srv -> /etc` that, joined naively
//! onto the host path, would point a mount at the host. So every lookup starts from one
//! directory fd of the rootfs and is resolved by the kernel *as if that fd were `/`*
//! (`openat2(RESOLVE_IN_ROOT)`): an absolute symlink inside lands inside the rootfs. Kernels
//! without openat2 (before 5.6) get a component-by-component walk that refuses every symlink,
//! as LXC does. The strategy is probed once, when the rootfs is opened.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use rlxc_config::values::CreateKind;

/// How paths are resolved inside the rootfs; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: symlinks are followed, clamped to
    /// the rootfs.
    InRoot,
    /// One `openat(O_NOFOLLOW)` per component; any symlink is refused.
    NoSymlinks,
}

/// Why a path inside the rootfs could not be resolved.
#[derive(Debug)]
pub(crate) enum ResolveError {
    /// A `..` component: refused outright, whatever the kernel would make of it.
    DotDot,
    /// Something exists at `path` but cannot be opened or created, e.g. a dangling symlink.
    Blocked {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DotDot => f.write_str("a '..' component could leave the rootfs; refused"),
            Self::Blocked { path } => write!(
                f,
                "rootfs/{} exists but cannot be followed (a dangling symlink?)",
                path.display()
            ),
            Self::Io { path, source } => write!(f, "rootfs/{}: {source}", path.display()),
        }
    }
}

impl From<ResolveError> for io::Error {
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::Io { source, .. } => source,
            other => io::Error::other(other.to_string()),
        }
    }
}

/// The container's root directory, held open as an `O_PATH` fd.
pub(crate) struct RootDir {
    fd: OwnedFd,
    host_path: PathBuf,
    resolver: Resolver,
}

impl RootDir {
    /// Opens the rootfs (a trusted host path from the config) and probes for openat2.
    pub(crate) fn open(host_path: &Path) -> io::Result<Self> {
        let fd = rfs::open(
            host_path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Self::probe(fd, host_path))
    }

    /// The rootfs from an fd of its mount's root (`host_path` only names it in messages);
    /// probes for openat2.
    pub(crate) fn probe(fd: OwnedFd, host_path: &Path) -> Self {
        let resolver = match open_in_root(&fd, Path::new(".")) {
            Err(Errno::NOSYS) => Resolver::NoSymlinks,
            _ => Resolver::InRoot,
        };
        Self::with_resolver(fd, host_path, resolver)
    }

    pub(crate) fn with_resolver(fd: OwnedFd, host_path: &Path, resolver: Resolver) -> Self {
        Self {
            fd,
            host_path: host_path.to_path_buf(),
            resolver,
        }
    }

    pub(crate) fn resolver(&self) -> Resolver {
        self.resolver
    }

    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Opens `target` (as written in the config) inside the rootfs as an `O_PATH` fd, making
    /// missing components first when `create` is set.
    pub(crate) fn resolve(
        &self,
        target: &str,
        create: Option<CreateKind>,
    ) -> Result<OwnedFd, ResolveError> {
        let relative = self.container_relative(target)?;
        match self.open_relative(&relative) {
            Ok(fd) => Ok(fd),
            Err(Errno::NOENT) if create.is_some() => {
                self.create_missing(&relative, create.unwrap_or(CreateKind::Dir))
            }
            Err(errno) => Err(io_error(&relative, errno)),
        }
    }

    /// The target as a path relative to the rootfs. Absolute targets under the rootfs's host
    /// path (LXC style, `/var/lib/lxc/NAME/rootfs/srv`) lose that prefix; any other absolute
    /// target is taken as relative to the rootfs (LXC would ignore it with a warning).
    pub(crate) fn container_relative(&self, target: &str) -> Result<PathBuf, ResolveError> {
        let path = Path::new(target);
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(ResolveError::DotDot);
        }
        let inside = path.strip_prefix(&self.host_path).unwrap_or(path);
        let relative: PathBuf = inside
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        Ok(if relative.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            relative
        })
    }

    fn open_relative(&self, relative: &Path) -> Result<OwnedFd, Errno> {
        match self.resolver {
            Resolver::InRoot => open_in_root(&self.fd, relative),
            Resolver::NoSymlinks => open_without_symlinks(&self.fd, relative),
        }
    }

    /// Makes each missing component with mkdirat (or, for the last one of `create=file`,
    /// an empty file) relative to its already-resolved parent, so nothing is ever made
    /// outside the rootfs.
    fn create_missing(&self, relative: &Path, kind: CreateKind) -> Result<OwnedFd, ResolveError> {
        // Mostly only the last component is missing (a mount point in a directory the
        // rootfs has): its parent, opened at once, spares the walk from the root (a start
        // makes a dozen such mount points, each walk ~5 opens).
        if let (Some(parent), Some(name)) = (relative.parent(), relative.file_name()) {
            if !parent.as_os_str().is_empty() {
                if let Ok(parent) = self.open_relative(parent) {
                    return self.make_component(&parent, name, relative, kind);
                }
            }
        }
        let names: Vec<&OsStr> = relative.iter().collect();
        let mut parent = self
            .open_relative(Path::new("."))
            .map_err(|e| io_error(Path::new("."), e))?;
        let mut prefix = PathBuf::new();
        for (i, name) in names.iter().enumerate() {
            prefix.push(name);
            match self.open_relative(&prefix) {
                Ok(fd) => {
                    parent = fd;
                    continue;
                }
                Err(Errno::NOENT) => {}
                Err(errno) => return Err(io_error(&prefix, errno)),
            }
            let kind = match i + 1 == names.len() {
                true => kind,
                false => CreateKind::Dir,
            };
            parent = self.make_component(&parent, name, &prefix, kind)?;
        }
        Ok(parent)
    }

    /// Makes `name` in `parent` (which is `path`'s parent, resolved) and opens it.
    fn make_component(
        &self,
        parent: &OwnedFd,
        name: &OsStr,
        path: &Path,
        kind: CreateKind,
    ) -> Result<OwnedFd, ResolveError> {
        let made = match kind {
            CreateKind::File => create_empty_file(parent, name),
            CreateKind::Dir => rfs::mkdirat(parent, name, Mode::from_raw_mode(0o755)),
        };
        match made {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                return Err(ResolveError::Blocked {
                    path: path.to_path_buf(),
                })
            }
            Err(errno) => return Err(io_error(path, errno)),
        }
        self.open_relative(path).map_err(|e| io_error(path, e))
    }
}

/// Makes an empty regular file `name` in `dir` (a mount target for a file bind mount).
pub(crate) fn create_empty_file(dir: &OwnedFd, name: &OsStr) -> Result<(), Errno> {
    rfs::openat(
        dir,
        name,
        OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .map(drop)
}

fn open_in_root(root: &OwnedFd, relative: &Path) -> Result<OwnedFd, Errno> {
    let mut attempts = 0;
    loop {
        let opened = rfs::openat2(
            root,
            relative,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        );
        // EAGAIN: a rename raced with the `..` check of a symlink target; try again.
        match opened {
            Err(Errno::AGAIN) if attempts < 8 => attempts += 1,
            other => return other,
        }
    }
}

fn open_without_symlinks(root: &OwnedFd, relative: &Path) -> Result<OwnedFd, Errno> {
    let mut current = rfs::openat(root, ".", OFlags::PATH | OFlags::CLOEXEC, Mode::empty())?;
    for name in relative.iter().filter(|n| *n != ".") {
        let next = rfs::openat(
            &current,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        if FileType::from_raw_mode(rfs::fstat(&next)?.st_mode) == FileType::Symlink {
            return Err(Errno::LOOP);
        }
        current = next;
    }
    Ok(current)
}

fn io_error(path: &Path, errno: Errno) -> ResolveError {
    ResolveError::Io {
        path: path.to_path_buf(),
        source: errno.into(),
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
