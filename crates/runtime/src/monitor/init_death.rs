//! Init dying during the start: a failed start, with the reason (how it ended and, for a
//! SIGKILL, whether the container's memory cgroup counted an OOM kill), not a container
//! reported started that is already gone.
//!
//! The spawn notices a child that dies while it sets itself up (its channel closes before
//! it says a word). Once init is exec'd the channel closes too, by close-on-exec, and at
//! exit alike: a child killed in the middle of its execve (a memory limit too small for
//! the new program's first pages) looked like an init that runs. So right before the
//! monitor reports RUNNING it looks, at no cost for an init that runs: a dead init that was
//! killed by a signal, or that never got through its exec, is a failed start. An init that
//! exec'd and then exited with a status is not: a short command run as init is legitimate
//! (LXC reports it started too), and whether it ended before or after the report would be a
//! race, where a signal that kills an init before it is even reported is not.

use std::os::fd::OwnedFd;
use std::path::Path;

use rlxc_cgroup::ContainerCgroups;
use rlxc_config::ContainerSpec;

use crate::spawn::ChildEnd;

/// Why init is gone before the start could report RUNNING.
#[derive(Debug)]
pub struct InitDeath {
    /// Where in the start: the spawn's step, or `exec`.
    pub step: String,
    pub end: Option<ChildEnd>,
    /// The container's memory cgroup counted an OOM kill: its memory limits, as configured
    /// (`lxc.cgroup.memory.limit_in_bytes = 1M`), none where none is set.
    pub oom: Option<Vec<(String, String)>>,
}

impl InitDeath {
    pub fn new(
        step: String,
        end: Option<ChildEnd>,
        cgroups: Option<&ContainerCgroups>,
        spec: &ContainerSpec,
    ) -> InitDeath {
        let killed = !matches!(end, Some(ChildEnd::Exited(_)));
        let oom = (killed && cgroups.is_some_and(|c| oom_kills(c.paths()) > 0))
            .then(|| memory_limits(spec));
        InitDeath { step, end, oom }
    }

    /// The config line to point at: the memory limit that was too small.
    pub fn config_key(&self) -> Option<String> {
        let (key, _) = self.oom.as_ref()?.first()?;
        Some(key.clone())
    }
}

impl std::fmt::Display for InitDeath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = &self.step;
        match (&self.oom, self.end) {
            (Some(limits), _) if limits.is_empty() => write!(
                f,
                "init was killed by the kernel's OOM killer during the start (at {step}): the \
                 memory the container's cgroup may use is too small (no lxc.cgroup memory \
                 limit is set: a limit above the container's cgroup applies)"
            ),
            (Some(limits), _) => {
                let limits: Vec<String> = limits
                    .iter()
                    .map(|(key, value)| format!("{key} = {value}"))
                    .collect();
                write!(
                    f,
                    "init was killed by the kernel's OOM killer during the start (at {step}): \
                     the container's memory limit ({}) is too small",
                    limits.join(", ")
                )
            }
            (None, Some(end)) => write!(f, "init died during the start (at {step}): it {end}"),
            (None, None) => write!(f, "init died during the start (at {step})"),
        }
    }
}

/// At the moment of RUNNING: how init ended, if it ended in a way that makes the start a
/// failed one (see the module's comment); it is reaped then. `None` for an init that runs,
/// or that ran and exited with a status.
pub(super) fn died_before_running(pidfd: &OwnedFd, pid: i32) -> Option<ChildEnd> {
    let ended = match ChildEnd::peek(pidfd) {
        Some(end) => Some(end),
        // Alive, and its exec not done: it is dying (the channel closed at its exit, before
        // it was a zombie) or in the last steps of its execve. Either is over soon.
        None if !exec_completed(pid) => {
            let mut fds = [rustix::event::PollFd::new(
                pidfd,
                rustix::event::PollFlags::IN,
            )];
            let _ = rustix::event::poll(&mut fds, Some(&EXEC_END));
            ChildEnd::peek(pidfd)
        }
        None => None,
    }?;
    let failed = match ended {
        ChildEnd::Signaled(_) => true,
        ChildEnd::Exited(_) => !exec_completed(pid),
    };
    failed.then(|| ChildEnd::reap(pidfd)).flatten()
}

/// How long an init whose exec has not visibly completed may take to end it or die.
const EXEC_END: rustix::event::Timespec = rustix::event::Timespec {
    tv_sec: 1,
    tv_nsec: 0,
};

/// Whether `pid` got through its execve: the kernel names a process after its program once
/// the old one is gone (`begin_new_exec`); until then the child has the name it was forked
/// with, the monitor's. Also readable for a zombie. Unknown counts as completed.
fn exec_completed(pid: i32) -> bool {
    let child = std::fs::read(format!("/proc/{pid}/comm"));
    match (child, rustix::thread::name()) {
        (Ok(child), Ok(own)) => child.strip_suffix(b"\n").unwrap_or(&child) != own.as_bytes(),
        _ => true,
    }
}

/// OOM kills the memory controller counted in the container's cgroups: v1 counts one in
/// the killed process's own cgroup (`memory.oom_control`), cgroup2 up the tree
/// (`memory.events`). The cgroups are this start's own, so any count is of this start.
fn oom_kills(dirs: &[std::path::PathBuf]) -> u64 {
    dirs.iter()
        .flat_map(|dir| ["memory.oom_control", "memory.events"].map(|file| dir.join(file)))
        .filter_map(|file| oom_kill_count(&file))
        .sum()
}

fn oom_kill_count(file: &Path) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("oom_kill "))?
        .trim()
        .parse()
        .ok()
}

/// The container's memory limits as its config sets them: `lxc.cgroup.memory.*limit_in_bytes`
/// and `lxc.cgroup2.memory.{max,high,swap.max}`.
fn memory_limits(spec: &ContainerSpec) -> Vec<(String, String)> {
    let v1 = spec
        .cgroup
        .v1
        .iter()
        .filter(|s| s.key.starts_with("memory.") && s.key.ends_with("limit_in_bytes"))
        .filter(|s| !s.key.contains("soft"))
        .map(|s| (format!("lxc.cgroup.{}", s.key), s.value.clone()));
    let v2 = spec
        .cgroup
        .v2
        .iter()
        .filter(|s| ["memory.max", "memory.high", "memory.swap.max"].contains(&s.key.as_str()))
        .map(|s| (format!("lxc.cgroup2.{}", s.key), s.value.clone()));
    v1.chain(v2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oom_kill_count_is_read_from_v1_and_v2_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v1 = dir.path().join("v1");
        let v2 = dir.path().join("v2");
        std::fs::create_dir_all(&v1).expect("v1");
        std::fs::create_dir_all(&v2).expect("v2");
        std::fs::write(
            v1.join("memory.oom_control"),
            "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        )
        .expect("write");
        std::fs::write(
            v2.join("memory.events"),
            "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .expect("write");
        assert_eq!(oom_kills(std::slice::from_ref(&v1)), 2);
        assert_eq!(oom_kills(&[v1, v2]), 3);
        assert_eq!(oom_kills(&[dir.path().join("none")]), 0);
    }

    #[test]
    fn an_oom_death_names_the_memory_limit() {
        let spec = rlxc_config::load_str(
            "lxc.cgroup.memory.limit_in_bytes = 128K\nlxc.cgroup.memory.soft_limit_in_bytes = 1M\n",
            Path::new("test.conf"),
        )
        .expect("config")
        .spec;
        let death = InitDeath {
            step: "exec".into(),
            end: Some(ChildEnd::Signaled(libc::SIGKILL)),
            oom: Some(memory_limits(&spec)),
        };
        assert_eq!(
            death.to_string(),
            "init was killed by the kernel's OOM killer during the start (at exec): the \
             container's memory limit (lxc.cgroup.memory.limit_in_bytes = 128K) is too small"
        );
        assert_eq!(
            death.config_key().as_deref(),
            Some("lxc.cgroup.memory.limit_in_bytes")
        );
        let killed = InitDeath { oom: None, ..death };
        assert_eq!(
            killed.to_string(),
            "init died during the start (at exec): it was killed by signal 9 (SIGKILL)"
        );
    }
}
