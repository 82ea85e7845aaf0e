use std::io;
use std::path::PathBuf;

/// Every variant names the step that failed and the cgroup path it was working on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("reading mount table {path}: {cause}")]
    ReadMountinfo { path: PathBuf, cause: io::Error },
    #[error("mount table line {line_number}: {reason}: {line:?}")]
    MalformedMountinfo {
        line_number: usize,
        line: String,
        reason: &'static str,
    },
    #[error("reading the cgroup2 controllers from {path}: {cause}")]
    ReadControllers { path: PathBuf, cause: io::Error },
    #[error("reading {path}: {cause}")]
    ReadOwnCgroup { path: PathBuf, cause: io::Error },
    #[error("no cgroup hierarchy is mounted: cannot make the container's cgroups")]
    NoHierarchies,
    #[error("this process's cgroup file has no line for the hierarchy mounted at {mount_point}")]
    NotInHierarchy { mount_point: PathBuf },
    #[error(
        "own cgroup {own} is outside the part {mount_root} of the hierarchy mounted at \
         {mount_point}"
    )]
    OutsideMount {
        own: PathBuf,
        mount_root: PathBuf,
        mount_point: PathBuf,
    },
    #[error("cgroup path {path:?}: {reason}")]
    InvalidRelativePath { path: PathBuf, reason: &'static str },
    #[error("creating cgroup {path}: {cause}")]
    Create { path: PathBuf, cause: io::Error },
    #[error(
        "cgroup {path} already exists and holds processes {pids:?}: is the container running?"
    )]
    AlreadyRunning { path: PathBuf, pids: Vec<i32> },
    #[error(
        "cgroup {} already exists but is empty: a stale cgroup of an earlier run; remove it \
         in every hierarchy (any cgroups below it first) and start again: rmdir {}",
        paths.first().map_or(String::new(), |p| p.display().to_string()),
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
    )]
    Stale {
        /// Every hierarchy's directory of that name: all of them go in one command.
        paths: Vec<PathBuf>,
    },
    #[error("reading {key} in cgroup {path}: {cause}")]
    Read {
        path: PathBuf,
        key: String,
        cause: io::Error,
    },
    #[error("writing {value:?} to {key} in cgroup {path}: {cause}")]
    Write {
        path: PathBuf,
        key: String,
        value: String,
        cause: io::Error,
    },
    #[error("{key:?} is not a cgroup file name")]
    InvalidKey { key: String },
    #[error(
        "no cgroup of the container has {key} (looked in {searched:?}); is the controller \
         mounted (v1) or enabled in the parent's cgroup.subtree_control (v2)?"
    )]
    UnknownKey { key: String, searched: Vec<PathBuf> },
    #[error("opening cgroup directory {path}: {cause}")]
    OpenDir { path: PathBuf, cause: io::Error },
    #[error("cgroup {path} still holds processes {pids:?} after the timeout")]
    Busy { path: PathBuf, pids: Vec<i32> },
    #[error("waiting for the processes of cgroup {path} to exit: {cause}")]
    Wait { path: PathBuf, cause: io::Error },
    #[error("signalling process {pid} of cgroup {path}: {cause}")]
    Signal {
        path: PathBuf,
        pid: i32,
        cause: io::Error,
    },
    #[error("giving cgroup {path} to the container's root: {cause}")]
    Chown { path: PathBuf, cause: io::Error },
    #[error("removing cgroup {path}: {cause}")]
    Remove { path: PathBuf, cause: io::Error },
    #[error("{key}: {reason}")]
    NoEquivalent { key: String, reason: String },
    #[error("{key} = {value}: {cause}")]
    Setting {
        key: String,
        value: String,
        cause: Box<Error>,
    },
    #[error("device rule {rule:?}: {reason}")]
    InvalidDeviceRule { rule: String, reason: &'static str },
    #[error("device rule {path}: {cause}")]
    DevicePath { path: PathBuf, cause: io::Error },
    #[error("cgroup2 device rules need a cgroup2 hierarchy, and this host has none")]
    NoUnifiedForDevices,
    #[error("{step} for cgroup {path}: {cause}")]
    Bpf {
        step: &'static str,
        path: PathBuf,
        cause: io::Error,
    },
    #[error("the container's cgroups have no freezer (no v1 freezer hierarchy, no cgroup.freeze)")]
    NoFreezer,
}
