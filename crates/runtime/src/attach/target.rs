//! The container's init, found from the state file and pinned, and what attach reads about it
//! from the host's `/proc` before leaving the host: its namespaces, root, bounding set and
//! cgroups.

use std::io;
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{self as rfs, Mode, OFlags};

use rlxc_cgroup::{ContainerCgroups, Placement, SelfEntry};

use super::AttachError;
use crate::namespaces::Namespace;
use crate::paths::ContainerPaths;
use crate::state::StateFile;

/// A running container's init, as attach needs it.
pub(crate) struct Init {
    /// Its pid in the host's pid namespace.
    pub pid: i32,
    /// Pins the process: setns through it can only enter *this* init's namespaces.
    pub pidfd: OwnedFd,
    /// `/proc/PID` of this very process (verified), for everything else read about it.
    pub proc_dir: OwnedFd,
    /// The container's cgroups, from the state file.
    pub cgroups: ContainerCgroups,
    /// The view's server answers init's sysinfo(2) (from the state file).
    pub sysinfo_view: bool,
}

/// Finds init and proves it is the recorded process: pidfd first, then `/proc/PID`, then the
/// start time. Init started before both were opened, so if the start time still matches,
/// both refer to it (a later process with the same pid would have a later start time).
pub(crate) fn find_init(paths: &ContainerPaths) -> Result<Init, AttachError> {
    let not_running = || AttachError::NotRunning {
        name: paths.name.clone(),
    };
    let state = StateFile::read(&paths.state_file())?.ok_or_else(not_running)?;
    let pidfd = crate::process::pidfd::open(state.init.pid).map_err(|_| not_running())?;
    let proc_dir = rfs::open(
        format!("/proc/{}", state.init.pid),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|_| not_running())?;
    if !state.init.is_alive() {
        return Err(not_running());
    }
    Ok(Init {
        pid: state.init.pid,
        pidfd,
        proc_dir,
        cgroups: state.container_cgroups(),
        sysinfo_view: state.sysinfo_view,
    })
}

impl Init {
    /// `CLONE_NEW*` flags of the namespaces among `wanted` where init is not in ours. Joining
    /// a namespace we are already in is pointless (and for a user namespace, an error), so
    /// user and time namespaces are entered only when the container has its own.
    pub fn namespaces_to_enter(&self, wanted: &[Namespace]) -> Result<u32, AttachError> {
        let mut flags = 0;
        for kind in wanted {
            let theirs = match rfs::statat(
                &self.proc_dir,
                format!("ns/{}", kind.name()),
                rfs::AtFlags::empty(),
            ) {
                Ok(stat) => stat,
                // The kernel does not have this kind: there is nothing to enter.
                Err(rustix::io::Errno::NOENT) => continue,
                Err(e) => return Err(step("reading init's namespaces", e.into())),
            };
            let ours = rfs::stat(format!("/proc/self/ns/{}", kind.name()))
                .map_err(|e| step("reading our namespaces", e.into()))?;
            if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino) {
                flags |= kind.clone_flag() as u32;
            }
        }
        Ok(flags)
    }

    /// The host uid that `uid` in init's user namespace is, when init has a user namespace of
    /// its own (`None` in the host's, whose map is the identity).
    pub fn host_uid(&self, uid: u32) -> Result<Option<u32>, AttachError> {
        let text =
            read_at(&self.proc_dir, "uid_map").map_err(|e| step("reading init's uid map", e))?;
        Ok(host_uid_in_map(&text, uid))
    }

    /// Init's root directory (`/proc/PID/root`), as a path-only fd.
    pub fn open_root(&self) -> Result<OwnedFd, AttachError> {
        rfs::openat(
            &self.proc_dir,
            "root",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| step("opening init's root", e.into()))
    }

    /// Init's capability bounding set (`CapBnd` of `/proc/PID/status`).
    pub fn bounding_set(&self) -> Result<u64, AttachError> {
        let status = read_at(&self.proc_dir, "status")
            .map_err(|e| step("reading init's capabilities", e))?;
        parse_bounding_set(&status).ok_or_else(|| {
            step(
                "reading init's capabilities",
                io::Error::new(io::ErrorKind::InvalidData, "no CapBnd line in its status"),
            )
        })
    }

    /// The seccomp filter and no_new_privs of init, for the attached command: the filter the
    /// container was started with (`RUN_DIR/seccomp.bpf`) when init runs under one
    /// (`Seccomp: 2`), rlxc's default policy when that file is missing (a container started
    /// before rlxc kept it), and no_new_privs when init has it (`NoNewPrivs: 1`).
    pub fn confinement(&self, paths: &ContainerPaths) -> Result<Confinement, AttachError> {
        let status = read_at(&self.proc_dir, "status")
            .map_err(|e| step("reading init's seccomp mode", e))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
        };
        let seccomp = match field("Seccomp:") {
            Some("2") => Some(read_program(paths)?),
            _ => None,
        };
        Ok(Confinement {
            seccomp,
            no_new_privs: field("NoNewPrivs:") == Some("1"),
            lsm_label: crate::lsm::exec_label_of(
                |file| read_at(&self.proc_dir, file).ok(),
                crate::lsm::HostLsms::probe(Path::new("/sys")),
            ),
        })
    }

    /// Init's `personality(2)` (`/proc/PID/personality`, in hex): `lxc.arch` as the
    /// container runs it, which the attached command takes too (as with LXC's attach).
    pub fn personality(&self) -> Result<u32, AttachError> {
        let failed = |e| step("reading init's personality", e);
        let text = read_at(&self.proc_dir, "personality").map_err(failed)?;
        u32::from_str_radix(text.trim(), 16).map_err(|_| {
            failed(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a personality: {text:?}"),
            ))
        })
    }

    /// The container's cgroups, opened now, from the host: after setns the host's cgroup
    /// paths are out of sight, and a kernel checks a cgroup move against the namespace of
    /// whoever opened the file. The cgroup2 directory is for `clone3(CLONE_INTO_CGROUP)`,
    /// the v1 files for the child to move itself: neither waits for the RCU grace period a
    /// move by `cgroup.procs` costs (see `rlxc_cgroup::ContainerCgroups::self_entry`).
    pub fn open_cgroups(&self) -> Result<CgroupJoin, AttachError> {
        let cgroups = &self.cgroups;
        let failed = |e: rlxc_cgroup::Error| AttachError::Step {
            step: "opening the container's cgroup",
            cause: io::Error::other(e.to_string()),
        };
        Ok(CgroupJoin {
            unified: cgroups.unified_join_fd().map_err(failed)?,
            v1: cgroups.self_entry(Placement::V1Only).map_err(failed)?,
        })
    }
}

/// How the attached process gets into the container's cgroups.
pub(crate) struct CgroupJoin {
    /// The cgroup2 directory: the confiner is cloned straight into it.
    pub unified: Option<OwnedFd>,
    /// The v1 cgroups, entered by the confiner itself.
    pub v1: SelfEntry,
}

/// What attach inherits from init besides namespaces and capabilities.
#[derive(Debug)]
pub struct Confinement {
    pub seccomp: Option<crate::seccomp::Program>,
    pub no_new_privs: bool,
    /// Init's AppArmor profile or SELinux context, as the label of the command's exec.
    pub lsm_label: Option<crate::lsm::LabelWrite>,
}

fn read_program(paths: &ContainerPaths) -> Result<crate::seccomp::Program, AttachError> {
    let path = paths.seccomp_file();
    match std::fs::read(&path) {
        Ok(bytes) => crate::seccomp::Program::from_bytes(&bytes).ok_or_else(|| {
            step(
                "reading the container's seccomp filter",
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: not a seccomp filter", path.display()),
                ),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(crate::seccomp::default_program()),
        Err(e) => Err(step(
            "reading the container's seccomp filter",
            io::Error::new(e.kind(), format!("{}: {e}", path.display())),
        )),
    }
}

fn read_at(dir: &OwnedFd, name: &str) -> io::Result<String> {
    use std::io::Read;
    let fd = rfs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut text = String::new();
    std::fs::File::from(fd).read_to_string(&mut text)?;
    Ok(text)
}

fn step(step: &'static str, cause: io::Error) -> AttachError {
    AttachError::Step { step, cause }
}

/// The `CapBnd:` hex mask of a `/proc/PID/status` text.
pub(crate) fn parse_bounding_set(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapBnd:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

/// `uid` through a `/proc/PID/uid_map` text (`INSIDE OUTSIDE COUNT` lines); `None` for the
/// identity map of the host's own user namespace, or an id the map does not cover.
pub(crate) fn host_uid_in_map(map: &str, uid: u32) -> Option<u32> {
    let ranges: Vec<[u32; 3]> = map
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().map(|f| f.parse::<u32>().ok());
            Some([fields.next()??, fields.next()??, fields.next()??])
        })
        .collect();
    if ranges == [[0, 0, u32::MAX]] {
        return None;
    }
    ranges
        .iter()
        .find(|[inside, _, count]| uid >= *inside && uid - inside < *count)
        .map(|[inside, outside, _]| outside + (uid - inside))
}

/// Whether the process has more than one thread (fork is then unsound).
pub(crate) fn is_multithreaded() -> bool {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| tasks.count() != 1)
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounding_set_is_read_from_status() {
        let status = "Name:\tsh\nCapPrm:\t0000000000000000\nCapBnd:\t000001ffffdfffff\n";
        assert_eq!(parse_bounding_set(status), Some(0x1ff_ffdf_ffff));
        assert_eq!(parse_bounding_set("Name:\tsh\n"), None);
    }

    #[test]
    fn uids_go_through_init_s_map() {
        let map = "         0     200000       1000\n      1000       5000          1\n";
        assert_eq!(host_uid_in_map(map, 0), Some(200000));
        assert_eq!(host_uid_in_map(map, 999), Some(200999));
        assert_eq!(host_uid_in_map(map, 1000), Some(5000));
        assert_eq!(host_uid_in_map(map, 1001), None);
        assert_eq!(
            host_uid_in_map("         0          0 4294967295\n", 0),
            None
        );
    }
}
