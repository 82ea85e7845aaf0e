//! Which cgroup hierarchies are mounted where: pure v1 ("legacy"), pure v2 ("unified"), or
//! both at once ("hybrid", as systemd and many older distributions set it up).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::mountinfo::{self, MountEntry};
use crate::Error;

/// Where production reads the mount table.
pub const PROC_SELF_MOUNTINFO: &str = "/proc/self/mountinfo";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// Only cgroup v1 hierarchies.
    Legacy,
    /// Only the cgroup2 hierarchy.
    Unified,
    /// v1 hierarchies and a cgroup2 mount side by side.
    Hybrid,
}

impl fmt::Display for LayoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Legacy => "legacy (cgroup v1 only)",
            Self::Unified => "unified (cgroup v2 only)",
            Self::Hybrid => "hybrid (cgroup v1 and v2)",
        })
    }
}

/// One mounted v1 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    pub mount_point: PathBuf,
    /// The cgroup of this hierarchy that is mounted there (`/` unless inside a cgroup ns).
    pub mount_root: PathBuf,
    /// Controllers bound to the hierarchy, plus `name=X` for named hierarchies such as
    /// `name=systemd`.
    pub controllers: Vec<String>,
}

impl V1Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|bound| bound == controller)
    }

    /// `systemd` for a `name=systemd` hierarchy.
    pub fn name(&self) -> Option<&str> {
        self.controllers
            .iter()
            .find_map(|controller| controller.strip_prefix("name="))
    }
}

/// The cgroup2 mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V2Mount {
    pub mount_point: PathBuf,
    pub mount_root: PathBuf,
    /// From `cgroup.controllers` at the mount point: only the controllers not bound to a v1
    /// hierarchy appear here.
    pub controllers: Vec<String>,
}

impl V2Mount {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers
            .iter()
            .any(|available| available == controller)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupLayout {
    pub v1: Vec<V1Hierarchy>,
    pub v2: Option<V2Mount>,
}

impl CgroupLayout {
    /// The layout this process sees: `/proc/self/mountinfo`, controllers read from the real
    /// filesystem.
    pub fn detect() -> Result<Self, Error> {
        Self::from_mountinfo_file(Path::new(PROC_SELF_MOUNTINFO), Path::new("/"))
    }

    /// Reads the mount table at `mountinfo_path`; see [`CgroupLayout::from_mountinfo`].
    pub fn from_mountinfo_file(mountinfo_path: &Path, fs_root: &Path) -> Result<Self, Error> {
        let text = fs::read_to_string(mountinfo_path).map_err(|cause| Error::ReadMountinfo {
            path: mountinfo_path.to_owned(),
            cause,
        })?;
        Self::from_mountinfo(&text, fs_root)
    }

    /// Builds the layout from mountinfo text. The cgroup2 controllers are read from
    /// `cgroup.controllers` below `fs_root` + the cgroup2 mount point, so tests can point
    /// `fs_root` at a fixture directory.
    pub fn from_mountinfo(mountinfo: &str, fs_root: &Path) -> Result<Self, Error> {
        let mut layout = Self::default();
        for entry in mountinfo::parse(mountinfo)? {
            match entry.fs_type.as_str() {
                "cgroup" => layout.add_v1(entry),
                // The first cgroup2 mount wins; later ones are bind mounts of the same tree.
                "cgroup2" if layout.v2.is_none() => {
                    layout.v2 = Some(read_v2_mount(entry, fs_root)?);
                }
                _ => {}
            }
        }
        Ok(layout)
    }

    /// `None` when no cgroup filesystem is mounted at all.
    pub fn kind(&self) -> Option<LayoutKind> {
        match (self.v1.is_empty(), self.v2.is_some()) {
            (false, true) => Some(LayoutKind::Hybrid),
            (false, false) => Some(LayoutKind::Legacy),
            (true, true) => Some(LayoutKind::Unified),
            (true, false) => None,
        }
    }

    /// The v1 hierarchy the controller is bound to, if any.
    pub fn v1_hierarchy_of(&self, controller: &str) -> Option<&V1Hierarchy> {
        self.v1.iter().find(|hierarchy| hierarchy.has(controller))
    }

    fn add_v1(&mut self, entry: MountEntry) {
        let controllers = v1_controllers(&entry.super_options);
        // A hierarchy mounted twice shows up twice; keep the first mount point.
        if self.v1.iter().any(|known| known.controllers == controllers) {
            return;
        }
        self.v1.push(V1Hierarchy {
            mount_point: entry.mount_point,
            mount_root: entry.root,
            controllers,
        });
    }
}

/// v1 super options mix controllers with mount flags; everything that is not a known flag is
/// a controller (or a `name=` for a named hierarchy).
fn v1_controllers(super_options: &str) -> Vec<String> {
    const NOT_CONTROLLERS: [&str; 8] = [
        "rw",
        "ro",
        "noprefix",
        "clone_children",
        "xattr",
        "cpuset_v2_mode",
        "favordynmods",
        "none",
    ];
    super_options
        .split(',')
        .filter(|option| !option.is_empty())
        .filter(|option| !NOT_CONTROLLERS.contains(option))
        .filter(|option| !option.starts_with("release_agent="))
        .map(str::to_owned)
        .collect()
}

fn read_v2_mount(entry: MountEntry, fs_root: &Path) -> Result<V2Mount, Error> {
    let relative = entry
        .mount_point
        .strip_prefix("/")
        .unwrap_or(&entry.mount_point);
    let path = fs_root.join(relative).join("cgroup.controllers");
    let text = fs::read_to_string(&path).map_err(|cause| Error::ReadControllers { path, cause })?;
    Ok(V2Mount {
        mount_point: entry.mount_point,
        mount_root: entry.root,
        controllers: text.split_whitespace().map(str::to_owned).collect(),
    })
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
