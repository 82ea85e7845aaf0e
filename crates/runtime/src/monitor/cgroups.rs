//! The container's cgroups at start: where they go (`lxc.cgroup.dir*`), the limits of
//! `lxc.cgroup.*` / `lxc.cgroup2.*` planned on this host's layout (detected once per start)
//! and written, and the monitor's own cgroup apart from the payload's.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{Mode, OFlags};

use rlxc_cgroup::{
    CgroupLayout, CgroupRequest, ContainerCgroups, LimitPlan, OwnCgroups, Placement,
};
use rlxc_config::values::{CgroupAuto, CgroupMode};
use rlxc_config::ContainerSpec;

use super::launch::LaunchError;
use super::start_error::StartError;

/// Where the payload and the monitor cgroups go, below the cgroup rlxc runs in (rlxc never
/// escapes to the root, so `lxc.cgroup.relative` is always in force).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupPaths {
    pub payload: PathBuf,
    pub monitor: PathBuf,
    /// `lxc.cgroup.dir.monitor.pivot`: where the monitor goes at the container's end, so
    /// that its own cgroup can go before it exits (relative to the cgroup rlxc runs in).
    pub pivot: Option<PathBuf>,
    /// The inner cgroup below the payload's where the processes go: see [`inner_cgroup`].
    pub inner: Option<PathBuf>,
}

/// The inner cgroup's name where the config gives none.
const DEFAULT_INNER: &str = "ns";

/// `lxc.cgroup.dir.container.inner`, or `ns` for a container that gets its cgroups writable
/// (every `lxc.mount.auto` cgroup word but `:ro`): the root of its cgroup namespace is then a
/// cgroup below the one with the host's limits, so that the container (systemd making its
/// slices and `init.scope`) can own all it sees and still raise no limit. LXC leaves a
/// privileged container its limit files writable unless the key is set; rlxc makes that the
/// default.
fn inner_cgroup(spec: &ContainerSpec) -> Option<PathBuf> {
    if let Some(inner) = &spec.cgroup.dir_container_inner {
        return Some(PathBuf::from(inner));
    }
    let writable = match spec.mounts.auto.as_ref().and_then(|auto| auto.cgroup) {
        Some(CgroupAuto::V1 { mode, .. }) => mode != CgroupMode::Ro,
        Some(CgroupAuto::V2 { ro, .. }) => !ro,
        None => false,
    };
    writable.then(|| PathBuf::from(DEFAULT_INNER))
}

impl CgroupPaths {
    /// LXC's rules: `dir` holds both (`DIR/rlxc.payload.NAME`, `DIR/rlxc.monitor.NAME`);
    /// `dir.container` and `dir.monitor` name each exactly, together and without `dir`.
    pub fn of(spec: &ContainerSpec, name: &str) -> Result<Self, CgroupDirError> {
        let cgroup = &spec.cgroup;
        let inner = inner_cgroup(spec);
        if let Some(inner) = inner.as_ref().filter(|inner| !is_one_name(inner)) {
            return Err(CgroupDirError::InnerNotAName {
                inner: inner.clone(),
            });
        }
        let (payload, monitor) = match (&cgroup.dir, &cgroup.dir_container, &cgroup.dir_monitor) {
            (None, None, None) => (
                rlxc_cgroup::payload_path(name),
                rlxc_cgroup::monitor_path(name),
            ),
            (Some(dir), None, None) => (
                Path::new(dir).join(rlxc_cgroup::payload_path(name)),
                Path::new(dir).join(rlxc_cgroup::monitor_path(name)),
            ),
            (None, Some(container), Some(monitor)) => {
                (PathBuf::from(container), PathBuf::from(monitor))
            }
            (Some(_), _, _) => return Err(CgroupDirError::DirCombined),
            _ => return Err(CgroupDirError::NotPaired),
        };
        let pivot = match cgroup.dir_monitor_pivot.as_deref().map(PathBuf::from) {
            Some(pivot) if pivot == payload || pivot == monitor => {
                return Err(CgroupDirError::PivotOwn { pivot })
            }
            Some(pivot)
                if pivot.as_os_str().is_empty()
                    || pivot
                        .components()
                        .any(|c| !matches!(c, std::path::Component::Normal(_))) =>
            {
                return Err(CgroupDirError::PivotNotRelative { pivot })
            }
            pivot => pivot,
        };
        Ok(Self {
            payload,
            monitor,
            pivot,
            inner,
        })
    }
}

fn is_one_name(path: &Path) -> bool {
    let mut components = path.components();
    matches!(
        (components.next(), components.next()),
        (Some(std::path::Component::Normal(_)), None)
    )
}

/// Why `lxc.cgroup.dir*` name no cgroups this runtime can make.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CgroupDirError {
    #[error(
        "lxc.cgroup.dir.container.inner = {}: one cgroup name, without `/`, `.` or `..`",
        inner.display()
    )]
    InnerNotAName { inner: PathBuf },
    #[error(
        "lxc.cgroup.dir cannot be combined with lxc.cgroup.dir.container or lxc.cgroup.dir.monitor"
    )]
    DirCombined,
    #[error("lxc.cgroup.dir.container and lxc.cgroup.dir.monitor go together")]
    NotPaired,
    #[error(
        "lxc.cgroup.dir.monitor.pivot = {}: the monitor's pivot cannot be its own or the \
         container's cgroup",
        pivot.display()
    )]
    PivotOwn { pivot: PathBuf },
    #[error(
        "lxc.cgroup.dir.monitor.pivot = {}: a relative cgroup path without '..' (below the \
         cgroup rlxc runs in)",
        pivot.display()
    )]
    PivotNotRelative { pivot: PathBuf },
}

impl CgroupDirError {
    pub fn config_key(&self) -> &'static str {
        match self {
            CgroupDirError::InnerNotAName { .. } => "lxc.cgroup.dir.container.inner",
            CgroupDirError::DirCombined => "lxc.cgroup.dir",
            CgroupDirError::NotPaired => "lxc.cgroup.dir.container",
            CgroupDirError::PivotOwn { .. } | CgroupDirError::PivotNotRelative { .. } => {
                "lxc.cgroup.dir.monitor.pivot"
            }
        }
    }
}

/// Where one start's cgroups go, worked out once, in the CLI, before the monitor exists: the
/// monitor is born inside its own cgroup2 cgroup, so its `/proc/self/cgroup` no longer names
/// the cgroup rlxc was started in, below which everything goes.
pub(crate) struct CgroupPlan {
    layout: CgroupLayout,
    own: OwnCgroups,
    paths: CgroupPaths,
}

impl CgroupPlan {
    /// This host's layout and the caller's cgroups; `name` is the container's instance name
    /// (cgroups are host-wide: it keeps two lxcpaths' same-named containers apart).
    pub fn of(spec: &ContainerSpec, name: &str) -> Result<Self, LaunchError> {
        let paths = CgroupPaths::of(spec, name)?;
        let layout = CgroupLayout::detect().map_err(LaunchError::Cgroups)?;
        check_device_program(&layout)?;
        let own = OwnCgroups::of_this_process().map_err(LaunchError::Cgroups)?;
        Ok(Self { layout, own, paths })
    }

    /// The host's cgroup layout, read once per start (the cgroup automount uses it too).
    pub fn layout(&self) -> &CgroupLayout {
        &self.layout
    }

    /// Every cgroup directory of the monitor and the container this start may make (the
    /// inner one is below the container's), for [`crate::leftovers`] to find after a crash.
    pub fn leaves(&self) -> Result<Vec<PathBuf>, rlxc_cgroup::Error> {
        let mut leaves = rlxc_cgroup::leaf_dirs(
            &monitor_layout(&self.layout),
            &self.own,
            &self.paths.monitor,
        )?;
        leaves.extend(rlxc_cgroup::leaf_dirs(
            &self.layout,
            &self.own,
            &self.paths.payload,
        )?);
        Ok(leaves)
    }
}

/// Where device rules go to cgroup2 (no v1 devices hierarchy), every container gets a
/// device program, which rlxc cannot load when bpf(2) is denied to it: refused here, before
/// anything is made, rather than at the cgroups' step. The container would otherwise run
/// under the programs of the cgroups above it alone, without its own rules.
fn check_device_program(layout: &CgroupLayout) -> Result<(), LaunchError> {
    if layout.v2.is_none() || layout.v1_hierarchy_of("devices").is_some() {
        return Ok(());
    }
    match rlxc_cgroup::bpf_denied() {
        Some(source) => Err(LaunchError::DevicesNeedBpf { source }),
        None => Ok(()),
    }
}

/// The hierarchies where the monitor gets a cgroup of its own: cgroup2's alone, where the
/// host has it. There it is born in that cgroup (never moved: see [`MonitorCgroup`]), as
/// LXC's `lxc.monitor.NAME`, for one mkdir and one rmdir per start. In v1 hierarchies limits,
/// freezing and accounting are hierarchical, so a cgroup of its own below the caller's
/// would change nothing for the monitor, and it cost a start and its end 40 cgroup
/// operations on a hybrid host (a mkdir, the monitor's move in, its last child's move out
/// and a rmdir per hierarchy, one at a time under the kernel's cgroup mutex: ~1.2 ms of a
/// one-shot). There the monitor stays in the cgroups rlxc was started in, as the CLI does. A
/// host without cgroup2 keeps the monitor's own cgroups in its v1 hierarchies.
fn monitor_layout(host: &CgroupLayout) -> std::borrow::Cow<'_, CgroupLayout> {
    match &host.v2 {
        Some(v2) => std::borrow::Cow::Owned(CgroupLayout {
            v1: Vec::new(),
            v2: Some(v2.clone()),
        }),
        None => std::borrow::Cow::Borrowed(host),
    }
}

/// Makes a container's cgroups with `make`. Ones of the same name that an earlier run left
/// empty in some hierarchies (its monitor killed, and the run directory that recorded them
/// gone too) are removed first, with a notice, as `lxc-start` would start anyway: the name
/// is this container's, its lock is ours, and nothing runs in them. Cgroups with processes
/// in them stay an error: the container may be running from elsewhere.
fn create_replacing_stale(
    make: impl Fn() -> Result<ContainerCgroups, rlxc_cgroup::Error>,
    notices: &mut Vec<String>,
) -> Result<ContainerCgroups, rlxc_cgroup::Error> {
    match make() {
        Err(rlxc_cgroup::Error::Stale { paths }) => {
            let first = paths.first().map(|p| p.display().to_string());
            let others = paths.len().saturating_sub(1);
            ContainerCgroups::from_paths(paths).remove(Duration::ZERO)?;
            notices.push(format!(
                "removed the empty cgroups an earlier run of this container left: {} (and \
                 {others} more of that name in the other hierarchies)",
                first.unwrap_or_default()
            ));
            make()
        }
        other => other,
    }
}

fn pairs(settings: &[rlxc_config::spec::CgroupSetting]) -> Vec<(String, String)> {
    settings
        .iter()
        .map(|s| (s.key.clone(), s.value.clone()))
        .collect()
}

/// Detects the layout, plans the limits (a key with no equivalent fails here, before
/// anything is made), creates the payload cgroup with the cgroup2 controllers the limits
/// need, and writes them. Notices (translations, weights the host lacks) go to `warnings`.
pub(crate) fn create_payload(
    spec: &ContainerSpec,
    place: &CgroupPlan,
    warnings: &mut Vec<String>,
) -> Result<ContainerCgroups, StartError> {
    let failed = |source| StartError::PayloadCgroups {
        key: setting_key(spec, &source),
        cause: source,
    };
    let layout = &place.layout;
    let plan =
        LimitPlan::new(layout, &pairs(&spec.cgroup.v1), &pairs(&spec.cgroup.v2)).map_err(failed)?;
    warnings.extend(plan.notices.iter().cloned());
    let needed = plan.v2_controllers(layout);
    let mut controllers = needed.clone();
    if place.paths.inner.is_some() && layout.v1.is_empty() {
        // The container manages its own tree: on a pure cgroup2 host it gets every cgroup2
        // controller the host can pass down, not only those of its limits. Not on a hybrid
        // host: there the container's systemd and runtimes use the v1 hierarchies, and crun
        // (podman's runtime) refuses to run at all where the hybrid cgroup2 tree it sees
        // has a controller — which a host's unbound controller (hugetlb, misc) would give it.
        let available = layout.v2.iter().flat_map(|v2| v2.controllers.iter());
        controllers.extend(available.filter(|c| !needed.contains(c)).cloned());
    }
    let request = CgroupRequest::new(&place.paths.payload).with_controllers(controllers);
    let mut cgroups = create_replacing_stale(
        || ContainerCgroups::create_with(layout, &place.own, &request),
        warnings,
    )
    .map_err(failed)?;
    // Only a limit's controller missing is worth a word.
    let not_delegated = cgroups.v2_delegation().not_delegated.iter();
    for missing in not_delegated.filter(|missing| needed.contains(&missing.controller)) {
        warnings.push(missing.to_string());
    }
    let applied = plan.apply(&cgroups).and_then(|notices| {
        warnings.extend(notices);
        match &place.paths.inner {
            Some(inner) => cgroups.make_inner(inner),
            None => Ok(()),
        }
    });
    if let Err(e) = applied {
        let _ = cgroups.remove(Duration::from_secs(1));
        return Err(failed(e));
    }
    Ok(cgroups)
}

/// The `lxc.cgroup.KEY` or `lxc.cgroup2.KEY` line a limit's error is about.
fn setting_key(spec: &ContainerSpec, error: &rlxc_cgroup::Error) -> Option<String> {
    let key = match error {
        rlxc_cgroup::Error::NoEquivalent { key, .. }
        | rlxc_cgroup::Error::Setting { key, .. }
        | rlxc_cgroup::Error::UnknownKey { key, .. }
        | rlxc_cgroup::Error::InvalidKey { key }
        | rlxc_cgroup::Error::Write { key, .. } => key,
        _ => return None,
    };
    // Most name the config key already; a translation's inner step names the file alone.
    if key.starts_with("lxc.cgroup") {
        return Some(key.clone());
    }
    if spec.cgroup.v2.iter().any(|s| s.key == *key) {
        Some(format!("lxc.cgroup2.{key}"))
    } else if spec.cgroup.v1.iter().any(|s| s.key == *key) {
        Some(format!("lxc.cgroup.{key}"))
    } else {
        None
    }
}

/// The monitor's own cgroup, entered after the payload's was made (below the cgroup rlxc
/// was started in): `rlxc.monitor.NAME` shows which monitor
/// belongs to which container, and its use is not the container's.
///
/// Moving a process between cgroups by pid waits for an RCU grace period (5-17 ms here), so
/// the monitor never does: `rlxc start` forks it straight into its cgroup2 cgroup
/// (`clone3(CLONE_INTO_CGROUP)`, see [`Self::unified_fd`]), and at the end the monitor's last
/// child removes that cgroup once the monitor has exited (see `teardown`). Only a host
/// without cgroup2 gives the monitor v1 cgroups of its own (see [`monitor_layout`]): there a
/// single thread moves itself by writing "0" to `tasks`, which does not wait (see
/// [`ContainerCgroups::self_entry`]).
pub(crate) struct MonitorCgroup {
    cgroups: ContainerCgroups,
    /// The cgroups the monitor came from, one per hierarchy (`true`: the cgroup2 one), to
    /// return to before removal.
    home: Vec<(PathBuf, bool)>,
    /// The monitor was forked into its cgroup2 cgroup (and never leaves it alive, unless
    /// it has a pivot to go to).
    pub born_inside: bool,
    /// `lxc.cgroup.dir.monitor.pivot`, relative to each hierarchy's home.
    pub pivot: Option<PathBuf>,
    /// What making it found to say (stale cgroups replaced), for the start's warnings.
    pub notices: Vec<String>,
}

impl MonitorCgroup {
    /// Made before the payload's, so that a shared `lxc.cgroup.dir` parent is the
    /// monitor's: removed last, once both are gone. Made in cgroup2 only, where the host has
    /// it (see [`monitor_layout`]).
    pub fn create(place: &CgroupPlan) -> Result<Self, rlxc_cgroup::Error> {
        let paths = &place.paths;
        let layout = monitor_layout(&place.layout);
        let mut notices = Vec::new();
        let cgroups = create_replacing_stale(
            || {
                ContainerCgroups::create_with(
                    &layout,
                    &place.own,
                    &CgroupRequest::new(&paths.monitor),
                )
            },
            &mut notices,
        )?;
        let depth = paths.monitor.components().count();
        let unified = cgroups.unified_dir().map(Path::to_path_buf);
        let home = cgroups
            .leaves()
            .filter_map(|leaf| {
                let home = leaf.ancestors().nth(depth)?.to_path_buf();
                Some((home, unified.as_deref() == Some(leaf)))
            })
            .collect();
        Ok(Self {
            cgroups,
            home,
            born_inside: false,
            pivot: paths.pivot.clone(),
            notices,
        })
    }

    /// The cgroup2 directory, for `clone3(CLONE_INTO_CGROUP)` of the monitor.
    pub fn unified_fd(&self) -> Result<Option<OwnedFd>, rlxc_cgroup::Error> {
        self.cgroups.unified_fd()
    }

    /// The cgroup2 cgroup rlxc was started in, for `clone3(CLONE_INTO_CGROUP)` of the
    /// monitor's last child (see `teardown`).
    pub fn unified_home_fd(&self) -> Option<OwnedFd> {
        let (dir, _) = self.home.iter().find(|(_, unified)| *unified)?;
        let flags = OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC;
        rustix::fs::open(dir, flags, Mode::empty()).ok()
    }

    /// Removes the cgroups once nothing is in them any more (the monitor has exited).
    pub fn remove(self) {
        if !self.cgroups.remove_if_empty() {
            if let Err(e) = self.cgroups.remove(Duration::ZERO) {
                crate::log_error!("removing the monitor's cgroups: {e}");
            }
        }
    }

    /// Removes the cgroups the monitor has left (for its pivot), waiting a moment for a
    /// cgroup2 one to show empty.
    pub fn remove_now(self) -> Result<(), rlxc_cgroup::Error> {
        self.cgroups.remove(Duration::from_secs(1))
    }

    /// Moves the monitor into its v1 cgroups (after the payload was made below the cgroup it
    /// came from).
    pub fn enter(&self) -> Result<(), rlxc_cgroup::Error> {
        self.cgroups.enter_self(Placement::V1Only)
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.cgroups.paths().to_vec()
    }

    /// Back home in cgroup2 (waits for an RCU grace period): only when the monitor's last
    /// child could not be made to remove the cgroup after the monitor's exit.
    pub fn leave_unified(&self) {
        self.go_home(true);
    }

    /// Back home in the v1 hierarchies (from the main thread, the only one by then: a v1
    /// move is of the writing thread); then the cgroup goes.
    pub fn leave(self) {
        self.go_home(false);
        if let Err(e) = self.cgroups.remove(Duration::from_secs(1)) {
            crate::log_error!("removing the monitor's cgroups: {e}");
        }
    }

    /// `lxc.cgroup.dir.monitor.pivot`: into that cgroup (made where missing) in every
    /// hierarchy the monitor has a cgroup of its own in, then its own cgroups go. False when
    /// there is no pivot, or the monitor could not move: then the usual way out applies.
    pub fn leave_to_pivot(&self) -> bool {
        let Some(pivot) = &self.pivot else {
            return false;
        };
        for (home, unified) in &self.home {
            let dir = home.join(pivot);
            let moved = std::fs::create_dir_all(&dir).and_then(|()| {
                std::fs::write(dir.join(rlxc_cgroup::self_entry_key(*unified)), "0")
            });
            if let Err(e) = moved {
                crate::log_error!(
                    "lxc.cgroup.dir.monitor.pivot: moving the monitor to {}: {e}",
                    dir.display()
                );
                return false;
            }
        }
        true
    }

    fn go_home(&self, unified: bool) {
        for (dir, _) in self.home.iter().filter(|(_, u)| *u == unified) {
            let _ = std::fs::write(dir.join(rlxc_cgroup::self_entry_key(unified)), "0");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlxc_cgroup::layout::{V1Hierarchy, V2Mount};

    fn v1(controller: &str) -> V1Hierarchy {
        V1Hierarchy {
            mount_point: PathBuf::from(format!("/sys/fs/cgroup/{controller}")),
            mount_root: PathBuf::from("/"),
            controllers: vec![controller.to_owned()],
        }
    }

    #[test]
    fn the_monitor_gets_a_cgroup_of_its_own_in_cgroup2_alone_where_the_host_has_it() {
        let unified = V2Mount {
            mount_point: PathBuf::from("/sys/fs/cgroup/unified"),
            mount_root: PathBuf::from("/"),
            controllers: Vec::new(),
        };
        let hybrid = CgroupLayout {
            v1: vec![v1("memory"), v1("pids")],
            v2: Some(unified.clone()),
        };
        let monitor = monitor_layout(&hybrid);
        assert!(monitor.v1.is_empty());
        assert_eq!(monitor.v2, Some(unified));
        let legacy = CgroupLayout {
            v1: vec![v1("memory")],
            v2: None,
        };
        assert_eq!(*monitor_layout(&legacy), legacy);
    }
}
