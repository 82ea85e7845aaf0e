//! cgroup2 delegation: a controller is usable in a cgroup only when every parent enabled it
//! in `cgroup.subtree_control`, and a cgroup that holds processes cannot enable a domain
//! controller (memory, io, ...; threaded ones such as pids and cpu are allowed) there ("no
//! internal processes", EBUSY) unless it is the root. The caller's own cgroup holds at least
//! the caller, and rlxc does not move the caller: so only the controllers that are needed and
//! available are enabled, and the ones that could not be are reported, each with its reason.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::cgroupfs::{CgroupFs, CreatedDirs};
use crate::create::{already_exists, make_path_step};
use crate::files::read_key;
use crate::Error;

/// What happened to the requested cgroup2 controllers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V2Delegation {
    /// Usable in the container's cgroup.
    pub enabled: Vec<String>,
    pub not_delegated: Vec<NotDelegated>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDelegated {
    pub controller: String,
    /// The cgroup whose `cgroup.subtree_control` lacks it.
    pub at: PathBuf,
    pub reason: Undelegated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Undelegated {
    /// Not in `cgroup.controllers` there: not compiled in, bound to a v1 hierarchy, or not
    /// delegated from further up.
    NotAvailable,
    /// EBUSY: the caller's cgroup holds processes (the caller, at least) and this is a
    /// domain controller.
    CallerHoldsProcesses,
    /// An existing directory of the path that rlxc did not create: not ours to write into.
    NotOurs,
    /// Any other error from the write.
    Refused(String),
}

impl fmt::Display for NotDelegated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (controller, at) = (&self.controller, self.at.display());
        match &self.reason {
            Undelegated::NotAvailable => {
                write!(
                    f,
                    "cgroup2 controller {controller} is not available in {at}"
                )
            }
            Undelegated::CallerHoldsProcesses => write!(
                f,
                "cannot enable cgroup2 controller {controller} below {at}: that cgroup holds \
                 processes (cgroup2 allows no processes in a cgroup that enables \
                 controllers); run rlxc in a cgroup of its own, e.g. \
                 `systemd-run --scope -p Delegate=yes`"
            ),
            Undelegated::NotOurs => write!(
                f,
                "cgroup2 controller {controller} is not enabled in {at}, which rlxc did not \
                 create and so leaves alone"
            ),
            Undelegated::Refused(error) => write!(
                f,
                "enabling cgroup2 controller {controller} in {at}/cgroup.subtree_control: {error}"
            ),
        }
    }
}

/// Makes the container's path below the caller's cgroup2 directory, and after each `mkdir`
/// enables in its parent what is still wanted. (After, not before: when the leaf exists
/// already nothing has been written anywhere.)
pub(crate) fn make_v2_path(
    caller_dir: &Path,
    relative: &Path,
    wanted: &[String],
    fs: &dyn CgroupFs,
    made: &mut CreatedDirs<'_>,
) -> Result<(PathBuf, V2Delegation), Error> {
    let mut delegation = V2Delegation::default();
    let mut still_wanted = wanted.to_vec();
    let mut parent = caller_dir.to_owned();
    let count = relative.components().count();
    for (index, component) in relative.components().enumerate() {
        let dir = parent.join(component);
        if !make_path_step(&dir, fs, made)? && index + 1 == count {
            return Err(already_exists(dir));
        }
        let is_caller = index == 0;
        let access = if is_caller || made.contains(&parent) {
            Access::MayEnable { is_caller }
        } else {
            Access::ReadOnly
        };
        still_wanted = enable_in(&parent, &still_wanted, access, fs, &mut delegation)?;
        parent = dir;
    }
    delegation.enabled = still_wanted;
    Ok((parent, delegation))
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Access {
    MayEnable { is_caller: bool },
    ReadOnly,
}

/// Enables each wanted controller in `dir/cgroup.subtree_control` one by one (a write of
/// several is all or nothing); returns the ones its children now have.
pub(crate) fn enable_in(
    dir: &Path,
    wanted: &[String],
    access: Access,
    fs: &dyn CgroupFs,
    delegation: &mut V2Delegation,
) -> Result<Vec<String>, Error> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let enabled = read_key(dir, "cgroup.subtree_control")?;
    let available = read_key(dir, "cgroup.controllers")?;
    let mut passed_on = Vec::new();
    for controller in wanted {
        let has = |list: &str| list.split_whitespace().any(|c| c == controller);
        let refusal = if has(&enabled) {
            None
        } else if !has(&available) {
            Some(Undelegated::NotAvailable)
        } else {
            match access {
                Access::ReadOnly => Some(Undelegated::NotOurs),
                Access::MayEnable { is_caller } => enable_one(dir, controller, is_caller, fs)?,
            }
        };
        match refusal {
            None => passed_on.push(controller.clone()),
            Some(reason) => delegation.not_delegated.push(NotDelegated {
                controller: controller.clone(),
                at: dir.to_owned(),
                reason,
            }),
        }
    }
    Ok(passed_on)
}

fn enable_one(
    dir: &Path,
    controller: &str,
    is_caller: bool,
    fs: &dyn CgroupFs,
) -> Result<Option<Undelegated>, Error> {
    match fs.write(dir, "cgroup.subtree_control", &format!("+{controller}")) {
        Ok(()) => Ok(None),
        Err(Error::Write { cause: source, .. }) => {
            let busy = source.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error());
            Ok(Some(if busy && is_caller {
                Undelegated::CallerHoldsProcesses
            } else {
                Undelegated::Refused(source.to_string())
            }))
        }
        Err(other) => Err(other),
    }
}
