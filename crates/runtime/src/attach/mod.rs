//! `rlxc attach`: run a command inside a running container, in the namespaces of its init
//! (entered through init's pidfd), its cgroups, and under its capability bounding set.
//!
//! Two processes: this one (the CLI, which stays on the host to relay the terminal and wait)
//! and one child, forked straight into the container's pid namespace, that becomes the
//! command. See [`attach`] for the recipe and why it is in this order.

mod child;
mod env;
mod passwd;
mod pty;
mod relay;
mod sys;
mod target;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd};

use rustix::process::{pidfd_open, DumpableBehavior, Pid, PidfdFlags};
use rustix::thread::ThreadNameSpaceType;

pub use env::{EnvPolicy, DEFAULT_PATH};
pub use passwd::FALLBACK_SHELL;

use crate::channel::{Channel, ChannelError};
use crate::namespaces::Namespace;
use crate::paths::ContainerPaths;
use child::{ChildPlan, ChildReport};

/// What to run and how far into the container.
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    /// The command and its arguments; empty runs the user's login shell in the container.
    pub command: Vec<String>,
    pub env: EnvPolicy,
    pub uid: u32,
    pub gid: u32,
    /// The namespaces to enter (`-s`); `None` enters all of init's.
    pub namespaces: Option<Vec<Namespace>>,
    /// Join the container's cgroups (not with `-e CGROUP`).
    pub join_cgroups: bool,
    /// Take init's capability bounding set (not with `-e CAP`).
    pub limit_capabilities: bool,
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The shell's convention, as LXC's: the exit code, or 128+N when killed by signal N.
    pub fn status(self) -> u8 {
        match self {
            Exit::Code(code) => code as u8,
            Exit::Signal(signal) => (128 + signal) as u8,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    #[error("{name} is not running")]
    NotRunning { name: String },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("attach must be called from a single-threaded process (it forks)")]
    MultiThreaded,
    #[error("{step}: {source}")]
    Step {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    /// The command could not be run (not found: 127, not executable: 126).
    #[error("{message}")]
    Command { message: String, exit_code: u8 },
    /// A step in the container failed before the command ran.
    #[error("{step}: {message}")]
    Child { step: String, message: String },
    #[error("talking to the attached process: {0}")]
    Channel(#[from] ChannelError),
}

impl AttachError {
    /// What attach exits with: the shell's 126/127 for a command that cannot run, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            AttachError::Command { exit_code, .. } => *exit_code,
            _ => 1,
        }
    }
}

fn step(step: &'static str) -> impl Fn(io::Error) -> AttachError {
    move |source| AttachError::Step { step, source }
}

/// Runs the command in the container and returns how it ended. Must be called from a
/// single-threaded process (it forks and continues in Rust code); this is checked.
///
/// The recipe, parent side:
/// 1. find init from the state file and pin it (pidfd, verified start time);
/// 2. while the host's `/proc` and cgroupfs are still in sight: which of init's namespaces
///    differ from ours, its root, its bounding set, and its cgroups, opened;
/// 3. the command (default: the login shell from the container's passwd) and environment;
/// 4. a pty only if one of our stdio is a terminal;
/// 5. non-dumpable, setns into the pid namespace (for children only), clone straight into
///    the cgroup2 cgroup;
/// 6. the child: v1 cgroups, then setns into everything else at once, root, terminal,
///    capabilities, ids, exec ([`child`]);
/// 7. we relay and forward signals until the command exits ([`relay`]).
pub fn attach(paths: &ContainerPaths, options: &AttachOptions) -> Result<Exit, AttachError> {
    let init = target::find_init(paths)?;
    let wanted = options
        .namespaces
        .clone()
        .unwrap_or_else(|| Namespace::ALL.to_vec());
    let namespaces = init.namespaces_to_enter(&wanted)?;
    let enters_mount = namespaces & libc::CLONE_NEWNS as u32 != 0;
    let root = enters_mount.then(|| init.open_root()).transpose()?;
    let seccomp = init.has_seccomp_filter()?;
    let bounding_set = options
        .limit_capabilities
        .then(|| init.bounding_set())
        .transpose()?;
    let (unified_cgroup, cgroups) = match options.join_cgroups {
        true => {
            let join = init.open_cgroups()?;
            (join.unified, Some(join.v1))
        }
        false => (None, None),
    };

    let argv = command(options, root.as_ref())?;
    let env = env::build(&options.env, std::env::vars_os());

    let terminals = pty::terminal_stdio();
    let pty = match terminals.iter().any(|t| *t) {
        true => Some(pty::open_pair(root.as_ref()).map_err(step("allocating a pty"))?),
        false => None,
    };

    if target::is_multithreaded() {
        return Err(AttachError::MultiThreaded);
    }
    // CVE-2019-5736: from the fork until its exec, the child is a copy of this host binary
    // *inside the container's pid namespace*, where the container's processes see it in
    // their /proc. Were it dumpable, a process there (same uid) could ptrace it or open
    // /proc/<child>/exe — the host's rlxc — and overwrite it once the exec released it.
    // Non-dumpable makes both need CAP_SYS_PTRACE over our user namespace; it is set here,
    // before the fork, so the child never exists dumpable, and the exec of the container's
    // command resets it (its exe is then the container's own binary). A privileged
    // container (no user namespace) whose root keeps CAP_SYS_PTRACE is not stopped by this:
    // LXC's full answer there is re-executing from a sealed memfd (not done yet).
    rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| step("making attach non-dumpable")(e.into()))?;
    let pid_flag = libc::CLONE_NEWPID as u32;
    if namespaces & pid_flag != 0 {
        // setns into a pid namespace moves only our future children; the fork below puts
        // the child there, and we stay in the host's.
        rustix::thread::move_into_thread_name_spaces(
            init.pidfd.as_fd(),
            ThreadNameSpaceType::PROCESS_ID,
        )
        .map_err(|e| step("setns into the pid namespace")(e.into()))?;
    }
    let (parent_end, child_end) = Channel::pair()?;
    let (master, slave) = match pty {
        Some(pair) => (Some(pair.master), Some((pair.slave, terminals))),
        None => (None, None),
    };
    let into_cgroup = unified_cgroup.as_ref().map(AsRawFd::as_raw_fd);
    match sys::fork_into(into_cgroup).map_err(step("fork into the container"))? {
        sys::Forked::Child => {
            drop(parent_end);
            drop(master);
            let plan = ChildPlan {
                pidfd: init.pidfd,
                cgroups,
                namespaces: namespaces & !pid_flag,
                root,
                terminal: slave,
                bounding_set,
                seccomp,
                uid: options.uid,
                gid: options.gid,
                argv,
                env,
            };
            child::run(plan, child_end)
        }
        sys::Forked::Parent { pid } => {
            drop((child_end, slave, root, cgroups, unified_cgroup, init));
            parent(pid, &parent_end, master, terminals)
        }
    }
}

/// The parent after the fork: signals are queued from now on, so none is lost while the
/// child sets up; then wait for the exec (the channel closes) or the child's failure.
fn parent(
    pid: i32,
    channel: &Channel,
    master: Option<std::os::fd::OwnedFd>,
    terminals: [bool; 3],
) -> Result<Exit, AttachError> {
    let mut blocked = relay::FORWARDED.to_vec();
    blocked.push(libc::SIGWINCH);
    let signals = sys::SignalFd::block(&blocked).map_err(step("blocking signals"))?;
    // Our own child, not reaped by anyone else: its pid cannot have been reused.
    let child = Pid::from_raw(pid)
        .ok_or_else(|| step("fork")(io::Error::other("no pid")))
        .and_then(|p| {
            pidfd_open(p, PidfdFlags::empty()).map_err(|e| step("pidfd of the child")(e.into()))
        })?;
    match channel.recv::<ChildReport>() {
        Err(ChannelError::Closed) => {}
        other => {
            let _ = rustix::process::pidfd_send_signal(&child, rustix::process::Signal::KILL);
            let _ = relay::wait(&child, &signals, None);
            return Err(match other {
                Ok((
                    ChildReport::Failed {
                        step,
                        message,
                        exit_code,
                    },
                    _,
                )) => {
                    if step == "exec" {
                        AttachError::Command { message, exit_code }
                    } else {
                        AttachError::Child { step, message }
                    }
                }
                Err(e) => e.into(),
            });
        }
    }
    let terminal = match master {
        Some(master) => Some(user_terminal(master, terminals).map_err(step("terminal"))?),
        None => None,
    };
    relay::wait(&child, &signals, terminal).map_err(step("waiting for the command"))
}

fn user_terminal(
    master: std::os::fd::OwnedFd,
    terminals: [bool; 3],
) -> io::Result<relay::Terminal> {
    let output = if terminals[1] {
        Some(io::stdout().as_fd().try_clone_to_owned()?)
    } else if terminals[2] {
        Some(io::stderr().as_fd().try_clone_to_owned()?)
    } else {
        None
    };
    let user_terminal = match (terminals[0], &output) {
        (true, _) | (false, None) => io::stdin().as_fd().try_clone_to_owned()?,
        (false, Some(out)) => out.try_clone()?,
    };
    Ok(relay::Terminal {
        master,
        relay_input: terminals[0],
        output,
        user_terminal,
    })
}

/// The command's argv: as given, or the user's login shell from the container's passwd.
fn command(
    options: &AttachOptions,
    root: Option<&std::os::fd::OwnedFd>,
) -> Result<Vec<CString>, AttachError> {
    let words = if options.command.is_empty() {
        let shell = match root {
            Some(root) => passwd::login_shell(root, options.uid),
            None => FALLBACK_SHELL.to_string(),
        };
        vec![shell]
    } else {
        options.command.clone()
    };
    words
        .into_iter()
        .map(|word| {
            CString::new(word).map_err(|e| {
                step("command")(io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
            })
        })
        .collect()
}
