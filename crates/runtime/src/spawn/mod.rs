//! Spawning a container's first process: one clone3 with all its namespaces (straight into
//! its cgroup where the kernel can), then the staged protocol of [`protocol`] until init is
//! exec'd. The child's side is [`child`]; the parent's side is [`spawn`] below.

mod child;
mod lock;
mod plan;
pub mod protocol;
pub mod share;
mod sys;
mod time;
mod tiny_init;

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};

pub use child::PtyMasters;
pub use plan::{split_command, InitPlan, PlanError, CLONE_NEWTIME, DEFAULT_NAMESPACES};
pub use protocol::ConfigLine;
use protocol::{ChildMessage, ParentMessage};
pub(crate) use time::kernel_has_time_namespaces;

use rlxc_cgroup::SelfEntry;

use crate::channel::{Channel, ChannelError};
use crate::process::fork::{clone3, Forked};
use crate::process::pidfd::kill_and_reap;

/// The parent's steps during a spawn.
/// `H` is the caller's error for its steps: [`SpawnError::HostSetup`] hands it back as is.
pub struct HostSteps<'a, H = String> {
    /// Once the child exists, before it sets itself up: network, id maps.
    pub setup: &'a mut dyn FnMut(i32) -> Result<(), H>,
    /// Once the child is ready to exec: start-host hooks.
    pub before_exec: &'a mut dyn FnMut(i32) -> Result<(), H>,
    /// The container's /proc view, when it gets one.
    pub procview: Option<ProcViewHost<'a, H>>,
}

/// The parent's part of the /proc view: the FUSE fd for the child, and what to do once the
/// child mounted it (`Ok`: start the server, on the connection the child opened itself when
/// it has a user namespace of its own, with the child's sysinfo listener if it made one) or
/// could not (`Err(reason)`).
pub struct ProcViewHost<'a, H = String> {
    pub fuse: std::os::fd::BorrowedFd<'a>,
    pub request: crate::procview::ViewRequest,
    pub mounted: &'a mut dyn FnMut(i32, Result<MountedView, String>) -> Result<(), H>,
}

/// What the child hands over with a mounted /proc view.
pub struct MountedView {
    /// The FUSE connection it opened in its own user namespace (else the monitor's serves).
    pub device: Option<OwnedFd>,
    /// The seccomp listener of the container's sysinfo calls.
    pub sysinfo: Option<OwnedFd>,
}

/// How the child gets into the container's cgroups.
#[derive(Debug, Clone, Copy, Default)]
pub struct CgroupEntry<'a> {
    /// The cgroup2 directory: `clone3(CLONE_INTO_CGROUP)` creates the child there.
    pub unified: Option<RawFd>,
    /// The rest, entered by the child itself before anything else (it is single-threaded,
    /// so it can move without the global lock a move by pid takes).
    pub by_itself: Option<&'a SelfEntry>,
}

/// A container init that has been exec'd.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    /// Readable when init exits; also the handle to signal it without pid races.
    pub pidfd: OwnedFd,
    pub ptys: PtyMasters,
}

/// Why a spawn failed; the child is dead and reaped when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError<H = String> {
    #[error("clone3 with the container's namespaces: {0}")]
    Clone(std::io::Error),
    #[error("time namespace (lxc.time.offset.*): {0}")]
    TimeNamespace(std::io::Error),
    #[error("entering a shared namespace (lxc.namespace.share.*): {0}")]
    Share(std::io::Error),
    #[error("writing the user namespace's id maps (lxc.idmap): {0}")]
    IdMaps(std::io::Error),
    /// One of the caller's [`HostSteps`] failed.
    #[error("setting up the host side for the child: {0}")]
    HostSetup(H),
    #[error("setting resource limit {resource}: {cause}")]
    Prlimit {
        resource: String,
        cause: rustix::io::Errno,
    },
    #[error("talking to the container's first process: {0}")]
    Channel(ChannelError),
    #[error("locking the container's mounts: {0}")]
    LockMounts(lock::LockError),
    /// `config`: the config line the step was about, where the child knows it.
    #[error("{step}: {message}")]
    Child {
        step: String,
        message: String,
        config: Option<ConfigLine>,
    },
    #[error("the container's first process said {got} where {expected} was expected")]
    UnexpectedMessage { expected: &'static str, got: String },
    /// The child died before it could say why (killed: by the OOM killer, by someone).
    #[error("{step}: the container's first process died{}", how_it_died(.end))]
    Died {
        step: String,
        /// How it ended, where it could be told.
        end: Option<ChildEnd>,
    },
}

fn how_it_died(end: &Option<ChildEnd>) -> String {
    end.map(|end| format!(": it {end}")).unwrap_or_default()
}

/// How a child that is gone ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEnd {
    Exited(i32),
    Signaled(i32),
}

impl ChildEnd {
    /// How the child behind `pidfd` ended, once it has (it is reaped then); `None` while
    /// it runs.
    pub fn reap(pidfd: &OwnedFd) -> Option<ChildEnd> {
        Self::wait(pidfd, rustix::process::WaitIdOptions::empty())
    }

    /// As [`Self::reap`], but the child stays to be reaped (`WNOWAIT`).
    pub fn peek(pidfd: &OwnedFd) -> Option<ChildEnd> {
        Self::wait(pidfd, rustix::process::WaitIdOptions::NOWAIT)
    }

    fn wait(pidfd: &OwnedFd, extra: rustix::process::WaitIdOptions) -> Option<ChildEnd> {
        use rustix::process::{waitid, WaitId, WaitIdOptions};
        let status = waitid(
            WaitId::PidFd(pidfd.as_fd()),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG | extra,
        )
        .ok()??;
        match status.exit_status() {
            Some(code) => Some(ChildEnd::Exited(code)),
            None => status.terminating_signal().map(ChildEnd::Signaled),
        }
    }
}

impl std::fmt::Display for ChildEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChildEnd::Exited(code) => write!(f, "exited with status {code}"),
            ChildEnd::Signaled(signal) => write!(
                f,
                "was killed by signal {signal} ({})",
                rlxc_config::values::Signal(*signal)
            ),
        }
    }
}

/// How long a child that closed its end of the channel before exec may take to be gone:
/// it is exiting (the channel closes only at exec or at exit), so this bound is only
/// against a process stuck on its way out.
const DYING: rustix::event::Timespec = rustix::event::Timespec {
    tv_sec: 2,
    tv_nsec: 0,
};

/// How a child that left the protocol early ended: waited for (bounded), and reaped.
fn end_of_dying(pidfd: &OwnedFd) -> Option<ChildEnd> {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let _ = poll(&mut fds, Some(&DYING));
    ChildEnd::reap(pidfd)
}

crate::error::from_cause!(ChannelError => SpawnError<H>::Channel);
crate::error::from_cause!(lock::LockError => SpawnError<H>::LockMounts);

/// Starts the container's first process and walks it through the protocol up to exec.
///
/// `setup_filesystem` runs in the child (mounts, /dev, ptys, pivot_root), after it entered
/// `cgroups`; the host callbacks run in the parent: `setup` once the child exists (network,
/// id maps) before it may go on, `before_exec` when it is ready to exec (start-host hooks).
/// Must be called from a single-threaded process.
pub fn spawn<H>(
    plan: &InitPlan,
    cgroups: CgroupEntry<'_>,
    setup_filesystem: &mut dyn FnMut() -> Result<PtyMasters, crate::rootfs::RootfsError>,
    host: &mut HostSteps<'_, H>,
) -> Result<Spawned, SpawnError<H>> {
    let (parent_end, child_end) = Channel::pair()?;
    let mut flags = plan.clone_flags;
    if flags & plan::CLONE_NEWTIME != 0 {
        // The child enters the time namespace prepared for our children (see `time`).
        flags &= !plan::CLONE_NEWTIME;
        let configured = plan.boot_offset.is_some() || plan.monotonic_offset.is_some();
        match time::prepare(plan.boot_offset, plan.monotonic_offset) {
            Ok(()) => {}
            // Kernels before 5.6 have no time namespaces: only a configured offset needs one.
            Err(error) if configured => return Err(SpawnError::TimeNamespace(error)),
            Err(_) => {}
        }
    }
    // Init is born in the namespaces it shares; the monitor goes back to its own at once.
    let entered = share::enter(&plan.shared).map_err(SpawnError::Share)?;
    let forked = clone3(flags, cgroups.unified);
    if !matches!(forked, Ok(Forked::Child)) {
        entered.leave();
    }
    match forked.map_err(SpawnError::Clone)? {
        Forked::Child => {
            drop(parent_end);
            child::run(child_end, plan, cgroups.by_itself, setup_filesystem)
        }
        Forked::Parent { pid, pidfd } => {
            drop(child_end);
            match drive(&parent_end, plan, pid, host) {
                Ok(ptys) => Ok(Spawned { pid, pidfd, ptys }),
                Err(error) => {
                    // A child that died says nothing: how it ended is the reason.
                    let error = match error {
                        SpawnError::Died { step, .. } => SpawnError::Died {
                            step,
                            end: end_of_dying(&pidfd),
                        },
                        error => error,
                    };
                    kill_and_reap(&pidfd);
                    Err(error)
                }
            }
        }
    }
}

/// The parent's side of the protocol.
fn drive<H>(
    channel: &Channel,
    plan: &InitPlan,
    pid: i32,
    host: &mut HostSteps<'_, H>,
) -> Result<PtyMasters, SpawnError<H>> {
    // First: until its maps exist, the child has no ids in its namespace, and the host
    // steps (cgroup ownership) go by the mapped root.
    if let Some(user_namespace) = &plan.user_namespace {
        user_namespace.write(pid).map_err(SpawnError::IdMaps)?;
    }
    (host.setup)(pid).map_err(SpawnError::HostSetup)?;
    apply_prlimits(plan, pid)?;
    let go = ParentMessage::Go {
        procview: host.procview.as_ref().map(|view| view.request),
    };
    let fuse = host.procview.as_ref().map(|view| view.fuse);
    // The child has steps before Go (entering its cgroups).
    send(channel, &go, fuse.as_slice())?;
    // The child mounts the /proc view before its rootfs: its server starts meanwhile.
    let view_served = match &mut host.procview {
        Some(view) => serve_procview(channel, pid, view)?,
        None => false,
    };
    let ptys = match receive(channel, "Ptys")? {
        (ChildMessage::Ptys { console, ttys }, fds) => split_ptys(console, ttys, fds)?,
        (other, _) => return Err(unexpected("Ptys", &other)),
    };
    if let Some(view) = host.procview.as_mut().filter(|_| view_served) {
        await_procview_bound(channel, pid, view)?;
    }
    if plan.user_namespace.is_some() {
        lock_mounts(channel, pid)?;
    }
    match receive(channel, "ReadyToExec")? {
        (ChildMessage::ReadyToExec, _) => {}
        (other, _) => return Err(unexpected("ReadyToExec", &other)),
    }
    (host.before_exec)(pid).map_err(SpawnError::HostSetup)?;
    if plan.wait_for_exec {
        send(channel, &ParentMessage::Exec, &[])?;
    }
    // The channel is close-on-exec in the child: EOF means init is running.
    match channel.recv::<ChildMessage>() {
        Err(ChannelError::Closed) => Ok(ptys),
        Ok((message, _)) => match child_failure(message) {
            Err(failed) => Err(failed),
            Ok(other) => Err(unexpected("exec", &other)),
        },
        Err(error) => Err(error.into()),
    }
}

/// The child mounted the view (or could not): start its server and let the child bind.
/// True when the child is to bind the files now.
fn serve_procview<H>(
    channel: &Channel,
    pid: i32,
    view: &mut ProcViewHost<'_, H>,
) -> Result<bool, SpawnError<H>> {
    match receive(channel, "ProcViewMounted")? {
        (
            ChildMessage::ProcViewMounted {
                own_device,
                sysinfo,
            },
            fds,
        ) => {
            let mut fds = fds.into_iter();
            let mounted = MountedView {
                device: own_device.then(|| fds.next()).flatten(),
                sysinfo: sysinfo.then(|| fds.next()).flatten(),
            };
            let view_mount = fds.next();
            (view.mounted)(pid, Ok(mounted)).map_err(SpawnError::HostSetup)?;
            // The child sets its rootfs up meanwhile, and may have failed at it.
            send(channel, &ParentMessage::ProcViewServed, &[])?;
            if let Some(view_mount) = view_mount {
                crate::procview::mount::look_up_ahead(&view_mount);
            }
            Ok(true)
        }
        (ChildMessage::ProcViewUnavailable { reason }, _) => {
            (view.mounted)(pid, Err(reason)).map_err(SpawnError::HostSetup)?;
            Ok(false)
        }
        (other, _) => Err(unexpected("ProcViewMounted", &other)),
    }
}

/// The child bound the view's files, or could not (then the kernel's stay, with a warning).
fn await_procview_bound<H>(
    channel: &Channel,
    pid: i32,
    view: &mut ProcViewHost<'_, H>,
) -> Result<(), SpawnError<H>> {
    match receive(channel, "ProcViewBound")? {
        (ChildMessage::ProcViewBound, _) => Ok(()),
        // The server stays; with no mount left on its connection it ends by itself.
        (ChildMessage::ProcViewUnavailable { reason }, _) => {
            (view.mounted)(pid, Err(reason)).map_err(SpawnError::HostSetup)
        }
        (other, _) => Err(unexpected("ProcViewBound", &other)),
    }
}

/// The child's mounts are all made: hand it a copy of them where they are locked (see
/// [`lock`]).
fn lock_mounts<H>(channel: &Channel, pid: i32) -> Result<(), SpawnError<H>> {
    match receive(channel, "MountsMade")? {
        (ChildMessage::MountsMade, _) => {}
        (other, _) => return Err(unexpected("MountsMade", &other)),
    }
    let copy = lock::locked_copy_of(pid)?;
    send(channel, &ParentMessage::LockedMounts, &[copy.as_fd()])?;
    Ok(())
}

/// Receives the next message, turning `Failed` and an early EOF into errors.
/// Sends to the child. A child that failed a step said which and left: that is the error to
/// report, not the closed channel.
fn send<H>(
    channel: &Channel,
    message: &ParentMessage,
    fds: &[BorrowedFd<'_>],
) -> Result<(), SpawnError<H>> {
    channel
        .send(message, fds)
        .map_err(|error| match channel.recv::<ChildMessage>() {
            Err(ChannelError::Closed) => SpawnError::Died {
                step: message.step().to_string(),
                end: None,
            },
            Ok((
                ChildMessage::Failed {
                    step,
                    message,
                    config,
                },
                _,
            )) => SpawnError::Child {
                step,
                message,
                config,
            },
            _ => error.into(),
        })
}

/// The child's `Failed` as the spawn's error; any other message as it came.
fn child_failure<H>(message: ChildMessage) -> Result<ChildMessage, SpawnError<H>> {
    match message {
        ChildMessage::Failed {
            step,
            message,
            config,
        } => Err(SpawnError::Child {
            step,
            message,
            config,
        }),
        other => Ok(other),
    }
}

fn receive<H>(
    channel: &Channel,
    expected: &'static str,
) -> Result<(ChildMessage, Vec<OwnedFd>), SpawnError<H>> {
    match channel.recv::<ChildMessage>() {
        Ok((message, fds)) => child_failure(message).map(|message| (message, fds)),
        Err(ChannelError::Closed) => Err(SpawnError::Died {
            step: expected.to_lowercase(),
            end: None,
        }),
        Err(error) => Err(error.into()),
    }
}

fn unexpected<H>(expected: &'static str, got: &ChildMessage) -> SpawnError<H> {
    SpawnError::UnexpectedMessage {
        expected,
        got: format!("{got:?}"),
    }
}

fn split_ptys<H>(console: bool, ttys: u32, fds: Vec<OwnedFd>) -> Result<PtyMasters, SpawnError<H>> {
    let expected = usize::from(console) + ttys as usize;
    if fds.len() != expected {
        return Err(SpawnError::UnexpectedMessage {
            expected: "one pty master per console and tty",
            got: format!("{} fds for {expected} ptys", fds.len()),
        });
    }
    let mut fds = fds.into_iter();
    let console = if console { fds.next() } else { None };
    Ok(PtyMasters {
        console,
        ttys: fds.collect(),
    })
}

fn apply_prlimits<H>(plan: &InitPlan, pid: i32) -> Result<(), SpawnError<H>> {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return Ok(());
    };
    for (resource, limit) in &plan.prlimits {
        let Some(raw) = rlimit_resource(resource.raw()) else {
            continue;
        };
        let new = rustix::process::Rlimit {
            current: plan::raw_limit(limit.soft),
            maximum: plan::raw_limit(limit.hard),
        };
        rustix::process::prlimit(Some(pid), raw, new).map_err(|cause| SpawnError::Prlimit {
            resource: resource.to_string(),
            cause,
        })?;
    }
    Ok(())
}

fn rlimit_resource(raw: i32) -> Option<rustix::process::Resource> {
    use rustix::process::Resource as R;
    [
        R::Cpu,
        R::Fsize,
        R::Data,
        R::Stack,
        R::Core,
        R::Rss,
        R::Nproc,
        R::Nofile,
        R::Memlock,
        R::As,
        R::Locks,
        R::Sigpending,
        R::Msgqueue,
        R::Nice,
        R::Rtprio,
        R::Rttime,
    ]
    .into_iter()
    .find(|r| *r as i32 == raw)
}
