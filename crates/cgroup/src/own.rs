//! The cgroup the calling process runs in, per hierarchy (`/proc/self/cgroup`, cgroups(7)),
//! and the directory that is on disk: container cgroups go below it, never elsewhere.

use std::path::{Component, Path, PathBuf};

use crate::layout::{CgroupLayout, V1Hierarchy, V2Mount};
use crate::Error;

/// Where production reads the caller's cgroups.
pub const PROC_SELF_CGROUP: &str = "/proc/self/cgroup";

/// The caller's cgroup path in each hierarchy, as the kernel names it (relative to the root
/// of the hierarchy, or of the cgroup namespace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnCgroups {
    /// `(controllers, path)` for each v1 line; controllers include `name=X` entries.
    pub v1: Vec<(Vec<String>, PathBuf)>,
    /// The `0::PATH` line.
    pub v2: Option<PathBuf>,
}

/// Parses `/proc/self/cgroup` text (`ID:CONTROLLERS:PATH` lines). Lines that do not have
/// that shape are skipped: the kernel writes none, and a missing hierarchy is reported when
/// it is needed ([`Error::NotInHierarchy`]).
pub fn own_cgroups(proc_self_cgroup: &str) -> OwnCgroups {
    let mut own = OwnCgroups::default();
    for line in proc_self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            own.v2 = Some(PathBuf::from(path));
        } else {
            let controllers = controllers.split(',').map(str::to_owned).collect();
            own.v1.push((controllers, PathBuf::from(path)));
        }
    }
    own
}

impl OwnCgroups {
    /// Reads [`PROC_SELF_CGROUP`].
    pub fn of_this_process() -> Result<Self, Error> {
        let text =
            std::fs::read_to_string(PROC_SELF_CGROUP).map_err(|cause| Error::ReadOwnCgroup {
                path: PROC_SELF_CGROUP.into(),
                cause,
            })?;
        Ok(own_cgroups(&text))
    }

    /// The caller's cgroup in a v1 hierarchy: the line whose controller set is the
    /// hierarchy's (order does not matter).
    pub fn v1_path(&self, hierarchy: &V1Hierarchy) -> Option<&Path> {
        self.v1
            .iter()
            .find(|(controllers, _)| {
                controllers.len() == hierarchy.controllers.len()
                    && controllers.iter().all(|c| hierarchy.has(c))
            })
            .map(|(_, path)| path.as_path())
    }

    /// The directory of the caller's cgroup in a v1 hierarchy.
    pub fn v1_dir(&self, hierarchy: &V1Hierarchy) -> Result<PathBuf, Error> {
        let own = self
            .v1_path(hierarchy)
            .ok_or_else(|| Error::NotInHierarchy {
                mount_point: hierarchy.mount_point.clone(),
            })?;
        dir_on_disk(own, &hierarchy.mount_root, &hierarchy.mount_point)
    }

    /// The directory of the caller's cgroup in the cgroup2 hierarchy.
    pub fn v2_dir(&self, mount: &V2Mount) -> Result<PathBuf, Error> {
        let own = self.v2.as_deref().ok_or_else(|| Error::NotInHierarchy {
            mount_point: mount.mount_point.clone(),
        })?;
        dir_on_disk(own, &mount.mount_root, &mount.mount_point)
    }
}

/// A mount shows the part of the hierarchy below `mount_root` at `mount_point`, so the
/// caller's cgroup is at `mount_point` + (`own` less `mount_root`). When the caller's cgroup
/// is not below the mounted part (a bind mount of some other subtree) there is no directory
/// for it, and guessing one could write into someone else's cgroup: refuse.
fn dir_on_disk(own: &Path, mount_root: &Path, mount_point: &Path) -> Result<PathBuf, Error> {
    let below = own
        .strip_prefix(mount_root)
        .map_err(|_| Error::OutsideMount {
            own: own.to_owned(),
            mount_root: mount_root.to_owned(),
            mount_point: mount_point.to_owned(),
        })?;
    if below.components().any(|c| c == Component::ParentDir) {
        return Err(Error::OutsideMount {
            own: own.to_owned(),
            mount_root: mount_root.to_owned(),
            mount_point: mount_point.to_owned(),
        });
    }
    Ok(mount_point.join(below))
}

/// One directory per hierarchy below which the container's cgroup goes: the caller's own
/// cgroup in each v1 hierarchy that has a controller (or is systemd's named one) and in the
/// cgroup2 hierarchy. Other named v1 hierarchies are not ours to touch.
pub(crate) fn parent_dirs(
    layout: &CgroupLayout,
    own: &OwnCgroups,
) -> Result<Vec<(ParentDir, PathBuf)>, Error> {
    let mut parents = Vec::new();
    for hierarchy in &layout.v1 {
        let wanted = hierarchy.name().is_none()
            || hierarchy.name() == Some("systemd")
            || hierarchy
                .controllers
                .iter()
                .any(|c| !c.starts_with("name="));
        if wanted {
            let kind = ParentDir::V1 {
                has_cpuset: hierarchy.has("cpuset"),
                controllers: hierarchy.controllers.clone(),
            };
            parents.push((kind, own.v1_dir(hierarchy)?));
        }
    }
    if let Some(mount) = &layout.v2 {
        parents.push((ParentDir::V2, own.v2_dir(mount)?));
    }
    if parents.is_empty() {
        return Err(Error::NoHierarchies);
    }
    Ok(parents)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParentDir {
    V1 {
        has_cpuset: bool,
        /// The hierarchy's controllers (`name=X` entries included).
        controllers: Vec<String>,
    },
    V2,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
9:name=systemd:/user.slice/session-1.scope
4:memory:/process_api/7f0c
2:cpu,cpuacct:/
0::/user.slice/session-1.scope
";

    fn hierarchy(controllers: &[&str], mount_root: &str) -> V1Hierarchy {
        V1Hierarchy {
            mount_point: PathBuf::from("/sys/fs/cgroup/x"),
            mount_root: PathBuf::from(mount_root),
            controllers: controllers.iter().map(|c| (*c).to_owned()).collect(),
        }
    }

    #[test]
    fn parses_each_hierarchy_and_the_unified_line() {
        let own = own_cgroups(HYBRID);
        let memory = hierarchy(&["memory"], "/");
        assert_eq!(own.v1_path(&memory), Some(Path::new("/process_api/7f0c")));
        let cpu = hierarchy(&["cpuacct", "cpu"], "/");
        assert_eq!(own.v1_path(&cpu), Some(Path::new("/")));
        assert_eq!(
            own.v1_path(&hierarchy(&["cpu"], "/")),
            None,
            "co-mounted: both"
        );
        let systemd = hierarchy(&["name=systemd"], "/");
        assert_eq!(
            own.v1_dir(&systemd).expect("dir"),
            Path::new("/sys/fs/cgroup/x/user.slice/session-1.scope")
        );
        assert_eq!(
            own.v2.as_deref(),
            Some(Path::new("/user.slice/session-1.scope"))
        );
    }

    #[test]
    fn a_mount_of_a_subtree_is_stripped_from_the_path() {
        let own = own_cgroups(HYBRID);
        let mount = V2Mount {
            mount_point: PathBuf::from("/sys/fs/cgroup"),
            mount_root: PathBuf::from("/user.slice"),
            controllers: Vec::new(),
        };
        let dir = own.v2_dir(&mount).expect("dir");
        assert_eq!(dir, Path::new("/sys/fs/cgroup/session-1.scope"));
    }

    #[test]
    fn a_cgroup_outside_the_mounted_subtree_is_refused() {
        let own = own_cgroups("0::/system.slice/other\n");
        let mount = V2Mount {
            mount_point: PathBuf::from("/sys/fs/cgroup"),
            mount_root: PathBuf::from("/user.slice"),
            controllers: Vec::new(),
        };
        assert!(matches!(
            own.v2_dir(&mount),
            Err(Error::OutsideMount { .. })
        ));
        let escaping = own_cgroups("0::/../host\n");
        let root_mount = V2Mount {
            mount_root: PathBuf::from("/"),
            ..mount
        };
        assert!(matches!(
            escaping.v2_dir(&root_mount),
            Err(Error::OutsideMount { .. })
        ));
    }

    #[test]
    fn a_hierarchy_without_a_line_is_named() {
        let own = own_cgroups("0::/\n");
        let error = own.v1_dir(&hierarchy(&["pids"], "/")).expect_err("no line");
        assert!(error.to_string().contains("/sys/fs/cgroup/x"), "{error}");
    }
}
