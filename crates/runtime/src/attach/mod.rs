//! `rlxc attach`: run a command inside a running container, in the namespaces of its init
//! (entered through init's pidfd), its cgroups, and under its capability bounding set.
//!
//! Two processes: this one (the CLI, which stays on the host to relay the terminal and wait)
//! and one child, forked straight into the container's pid namespace, that becomes the
//! command. See [`attach`] for the recipe and why it is in this order.

mod child;
mod env;
pub(crate) mod passwd;
mod pty;
mod relay;
mod target;

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;

use rustix::process::{DumpableBehavior, Pid};

/// Also what `rlxc top`'s live view waits on, so a SIGTERM still restores the terminal.
use crate::channel::{Channel, ChannelError};
use crate::namespaces::Namespace;
use crate::paths::ContainerPaths;
use crate::process::fds::first_readable;
use crate::process::fork::{clone3, Forked};
use crate::process::SignalFd;
use child::{ChildPlan, ChildReport};
pub use env::{EnvPolicy, DEFAULT_PATH};
pub use passwd::FALLBACK_SHELL;

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
    /// `-a ARCH`: this `personality(2)` (see `crate::personality::parse`) instead of init's.
    pub personality: Option<u32>,
    /// `-R`: /proc and /sys remounted for the namespaces entered (with `namespaces` that
    /// leave the mount namespace out).
    pub remount_sys_proc: bool,
    /// `-L FILE`: what the command writes to its pty is appended there too. It gets a pty
    /// for its stdout and stderr then, also when none of ours is a terminal.
    pub pty_log: Option<std::path::PathBuf>,
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
    /// A signal ended attach before the command ran (the container froze meanwhile, or its
    /// monitor does not answer).
    #[error("interrupted by signal {signal} before the command ran")]
    Interrupted { signal: i32 },
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("attach must be called from a single-threaded process (it forks)")]
    MultiThreaded,
    #[error("{step}: {cause}")]
    Step {
        step: &'static str,
        cause: io::Error,
    },
    /// The command could not be run (not found: 127, not executable: 126).
    #[error("{message}")]
    Command { message: String, exit_code: u8 },
    /// A step in the container failed before the command ran.
    #[error("{step}: {message}")]
    Child { step: String, message: String },
    #[error("talking to the attached process: {0}")]
    Channel(ChannelError),
}

crate::error::from_cause!(ChannelError => AttachError::Channel);

impl AttachError {
    /// What attach exits with: the shell's 126/127 for a command that cannot run, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            AttachError::Command { exit_code, .. } => *exit_code,
            AttachError::Interrupted { signal } => (128 + signal) as u8,
            _ => 1,
        }
    }
}

fn step(step: &'static str) -> impl Fn(io::Error) -> AttachError {
    move |cause| AttachError::Step { step, cause }
}

/// Runs the command in the container and returns how it ended. Must be called from a
/// single-threaded process (it forks and continues in Rust code); this is checked.
///
/// The recipe, parent side:
/// 1. find init from the state file and pin it (pidfd, verified start time);
/// 2. while the host's `/proc` and cgroupfs are still in sight: which of init's namespaces
///    differ from ours, its root, its bounding set, its personality, and its cgroups, opened;
/// 3. the command (default: the login shell from the container's passwd) and environment;
/// 4. a pty only if one of our stdio is a terminal;
/// 5. non-dumpable, fork a confiner (host pid namespace) straight into the container's
///    cgroup2 cgroup;
/// 6. the confiner: v1 cgroups, setns into everything at once, root, capabilities, seccomp
///    (with init's sysinfo filter, whose listener we hand to the monitor before anything
///    runs under it), ids; then it forks the command's process into the container's pid
///    namespace, which takes the terminal and execs ([`child`]);
/// 7. we relay and forward signals until the command exits ([`relay`]).
pub fn attach(paths: &ContainerPaths, options: &AttachOptions) -> Result<Exit, AttachError> {
    if options.join_cgroups {
        wait_until_thawed(paths)?;
    }
    let init = target::find_init(paths)?;
    let wanted = options
        .namespaces
        .clone()
        .unwrap_or_else(|| Namespace::ALL.to_vec());
    let namespaces = init.namespaces_to_enter(&wanted)?;
    let enters_mount = namespaces & libc::CLONE_NEWNS as u32 != 0;
    let root = enters_mount.then(|| init.open_root()).transpose()?;
    let confinement = init.confinement(paths)?;
    // `lxc.sched.core`: init's cookie, which the command shares (none on a kernel without).
    let core_cookie_of = crate::sched_core::cookie_of(init.pid).map(|_| init.pid);
    let personality = match options.personality {
        Some(persona) => persona,
        None => init.personality()?,
    };
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

    let mut terminals = pty::terminal_stdio();
    if options.pty_log.is_some() && !terminals.iter().any(|t| *t) {
        terminals = [false, true, true];
    }
    let pty_log = match &options.pty_log {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(path)
                .map_err(step("opening the pty log"))?,
        ),
        None => None,
    };
    let pty = match terminals.iter().any(|t| *t) {
        true => Some(pty::open_pair(root.as_ref()).map_err(step("allocating a pty"))?),
        false => None,
    };
    // We opened the pty, so its slave is host root's, which a user namespace shows as
    // nobody: it goes to the command's uid there, as a pty the container opened would.
    if let (Some(pair), Some(uid)) = (&pty, init.host_uid(options.uid)?) {
        let uid = rustix::fs::Uid::from_raw(uid);
        rustix::fs::fchown(&pair.slave, Some(uid), None)
            .map_err(|e| step("giving the pty to the command's user")(e.into()))?;
    }

    if target::is_multithreaded() {
        return Err(AttachError::MultiThreaded);
    }
    // CVE-2019-5736: until its exec, the command's process is a copy of this host binary
    // inside the container's pid namespace, where the container's processes see it in their
    // /proc. Non-dumpable, opening its /proc/<pid>/exe or tracing it needs CAP_SYS_PTRACE
    // over the host's user namespace — which the root of a privileged container (the
    // seed's) has. So the child below is only a confiner in the host's pid namespace, out of
    // the container's sight; the process it forks into the container is confined before it
    // exists (see `child`), and its exe cannot be written while rlxc runs (ETXTBSY).
    // Non-dumpable still keeps an unprivileged container's root out.
    rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable)
        .map_err(|e| step("making attach non-dumpable")(e.into()))?;
    let (master, slave) = match pty {
        Some(pair) => (Some(pair.master), Some((pair.slave, terminals))),
        None => (None, None),
    };
    // Signals are queued from now on, so none is lost while the child sets up (the
    // command's process unblocks them before its exec).
    let mut blocked = relay::FORWARDED.to_vec();
    blocked.push(libc::SIGWINCH);
    let signals = SignalFd::block(&blocked).map_err(step("blocking signals"))?;
    // Where the container's sysinfo is answered by its view, the command's is too (see
    // `child`); a second try goes without if the monitor does not take the listener.
    let mut sysinfo = init.sysinfo_view && enters_mount;
    loop {
        let (parent_end, child_end) = Channel::pair()?;
        // Born in the cgroup2 cgroup, the confiner moves itself into the v1 ones: neither
        // waits for the RCU grace period a move by pid costs (see `target::open_cgroups`).
        let into_cgroup = unified_cgroup.as_ref().map(AsRawFd::as_raw_fd);
        match clone3(0, into_cgroup).map_err(step("fork"))? {
            Forked::Child => {
                drop(parent_end);
                drop(master);
                let plan = ChildPlan {
                    pidfd: init.pidfd,
                    cgroups,
                    namespaces,
                    root,
                    terminal: slave,
                    bounding_set,
                    confinement,
                    personality,
                    core_cookie_of,
                    sysinfo,
                    remount_sys_proc: options.remount_sys_proc,
                    uid: options.uid,
                    gid: options.gid,
                    argv,
                    env,
                };
                child::run(plan, child_end)
            }
            Forked::Parent { pid, pidfd } => {
                // The confiner is waited for by pid (see `confiner_report`).
                drop((pidfd, child_end));
                let monitor = sysinfo.then(|| paths.socket());
                let Some(command) =
                    confiner_report(pid, &parent_end, monitor.as_deref(), &signals)?
                else {
                    sysinfo = false;
                    continue;
                };
                drop((slave, root, cgroups, unified_cgroup, init));
                let master = master.map(|master| (master, terminals, pty_log));
                return parent(command, &parent_end, master, &signals);
            }
        }
    }
}

/// A command joining a frozen container's cgroups stops there until the thaw, as with
/// lxc-attach: so nothing is forked until the container runs again. This wait comes before
/// any signal is blocked, so SIGTERM or Ctrl-C ends it as they end any program, with nothing
/// left behind. (A freeze after this check stops the confiner where it joins the cgroups:
/// then the waits of [`confiner_report`] end on a signal.)
fn wait_until_thawed(paths: &ContainerPaths) -> Result<(), AttachError> {
    use crate::state::State;
    if !matches!(
        crate::status::current(paths).0,
        State::Frozen | State::Freezing
    ) {
        return Ok(());
    }
    let not_frozen = [
        State::Running,
        State::Thawed,
        State::Stopping,
        State::Stopped,
        State::Aborting,
    ];
    crate::status::wait_for(paths, &not_frozen, None)
        .map(drop)
        .map_err(step("waiting for the container to be thawed"))
}

/// The confiner's report: the pid of the command's process (a child of ours), or `None`
/// when the monitor did not take its sysinfo listener (the confiner is then killed before
/// it forked anything, and attach tries again without). The confiner exits right after its
/// report (or its failure) and is reaped, so no zombie is left. A forwarded signal ends the
/// wait (the container may have been frozen meanwhile, or its monitor stopped): the
/// confiner is killed and attach ends.
fn confiner_report(
    confiner: i32,
    channel: &Channel,
    monitor: Option<&std::path::Path>,
    signals: &SignalFd,
) -> Result<Option<i32>, AttachError> {
    let confiner = Pid::from_raw(confiner);
    let kill = || {
        let _ = confiner.map(|p| rustix::process::kill_process(p, rustix::process::Signal::KILL));
    };
    let reap = || {
        let _ = confiner
            .map(|p| rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty()));
    };
    let forked = loop {
        if let Err(interrupted) = wait_for_report(channel, signals) {
            // Not reaped: a frozen confiner dies only once the container thaws.
            kill();
            return Err(interrupted);
        }
        match channel.recv::<ChildReport>() {
            Ok((ChildReport::SysinfoListener, fds)) => {
                let handed_over = match (monitor, fds.first()) {
                    (Some(socket), Some(listener)) => crate::monitor::control::hand_over_listener(
                        socket,
                        listener.as_fd(),
                        signals.fd(),
                    ),
                    _ => Err(crate::monitor::control::ControlError::Refused(
                        "no listener".into(),
                    )),
                };
                drop(fds);
                if let Err(crate::monitor::control::ControlError::Interrupted) = handed_over {
                    kill();
                    reap();
                    return Err(interrupted(signals));
                }
                if handed_over.is_ok()
                    && channel
                        .send(&child::ParentReply::ListenerTaken, &[])
                        .is_ok()
                {
                    continue;
                }
                kill();
                reap();
                return Ok(None);
            }
            other => break other,
        }
    };
    reap();
    match forked {
        Ok((ChildReport::Forked { pid }, _)) => Ok(Some(pid)),
        Ok((failed, _)) => Err(failure(failed)),
        Err(ChannelError::Closed) => Err(step("attach")(io::Error::other(
            "the confining process ended before the command started",
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Waits until the channel has something (or is closed), or a forwarded signal arrives
/// (`Interrupted`); SIGWINCH before there is a command to resize is dropped.
fn wait_for_report(channel: &Channel, signals: &SignalFd) -> Result<(), AttachError> {
    loop {
        match first_readable(channel.as_fd(), signals.fd()) {
            Ok(0) => return Ok(()),
            Ok(_) => match signals.next() {
                Some(signal) if signal != libc::SIGWINCH => {
                    return Err(AttachError::Interrupted { signal })
                }
                _ => {}
            },
            Err(e) => return Err(step("waiting for the command to start")(e)),
        }
    }
}

/// The error for a signal that interrupted a wait: the pending one (SIGTERM if it was
/// already read).
fn interrupted(signals: &SignalFd) -> AttachError {
    let signal = std::iter::from_fn(|| signals.next())
        .find(|signal| *signal != libc::SIGWINCH)
        .unwrap_or(libc::SIGTERM);
    AttachError::Interrupted { signal }
}

/// The CLI once the command's process exists: wait for its exec (the channel closes) or a
/// failure, then relay until it exits.
/// `master`: the pty's master, which of our stdio are terminals, and `-L`'s log.
fn parent(
    pid: i32,
    channel: &Channel,
    master: Option<(std::os::fd::OwnedFd, [bool; 3], Option<std::fs::File>)>,
    signals: &SignalFd,
) -> Result<Exit, AttachError> {
    // Our own child (a sibling of the confiner), not reaped by anyone else: its pid cannot
    // have been reused.
    let child = crate::process::pidfd::open(pid).map_err(step("pidfd of the child"))?;
    if let Err(interrupted) = wait_for_report(channel, signals) {
        // Not waited for: a frozen process dies only once the container thaws.
        let _ = rustix::process::pidfd_send_signal(&child, rustix::process::Signal::KILL);
        return Err(interrupted);
    }
    match channel.recv::<ChildReport>() {
        Err(ChannelError::Closed) => {}
        other => {
            let _ = rustix::process::pidfd_send_signal(&child, rustix::process::Signal::KILL);
            let _ = relay::wait(&child, signals, None);
            return Err(match other {
                Ok((report, _)) => failure(report),
                Err(e) => e.into(),
            });
        }
    }
    let terminal = match master {
        Some((master, terminals, log)) => {
            Some(user_terminal(master, terminals, log).map_err(step("terminal"))?)
        }
        None => None,
    };
    relay::wait(&child, signals, terminal).map_err(step("waiting for the command"))
}

/// The error of a child's report (any other report where a failure was expected is one too).
fn failure(report: ChildReport) -> AttachError {
    match report {
        ChildReport::Failed {
            step,
            message,
            exit_code,
        } if step == "exec" => AttachError::Command { message, exit_code },
        ChildReport::Failed { step, message, .. } => AttachError::Child { step, message },
        ChildReport::Forked { .. } | ChildReport::SysinfoListener => AttachError::Child {
            step: "attach".into(),
            message: format!("unexpected report {report:?}"),
        },
    }
}

fn user_terminal(
    master: std::os::fd::OwnedFd,
    terminals: [bool; 3],
    log: Option<std::fs::File>,
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
        log,
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
