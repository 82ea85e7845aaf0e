//! `rlxc start`: the CLI checks what it can, takes the container's lock, forks the monitor and
//! waits on a pipe until the monitor says RUNNING or why the start failed.
//!
//! The monitor's start is a recipe: cgroups, control socket, spawn (rootfs, /dev, console in
//! the child), state file, RUNNING. Each thing made is recorded in [`Made`] the moment it
//! exists, and a failure unwinds exactly that, so a failed start leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rlxc_cgroup::{CgroupLayout, Placement};
use rlxc_config::ContainerSpec;

use super::cgroups::{CgroupPlan, MonitorCgroup};
use super::console::{open_console_log, open_console_peer, pty_list, ConsolePeer};
use super::end::{hold_namespaces, log_init_end, record_abort, record_init_end, stop_container};
use super::event_loop::{EventLoop, InitExit};
use super::init_death::{died_before_running, InitDeath};
pub use super::launch_error::LaunchError;
use super::log::{LogRequest, MonitorLog};
use super::prepare::{prepare, Prepared};
use super::procview::ProcViewStart;
use super::start_error::{StartError, StartFailure};
use super::teardown::Made;
use crate::events;
use crate::hooks::{self, HookContext};
use crate::lock::{OperationLock, TeardownWatch};
use crate::paths::ContainerPaths;
use crate::process::fork::{clone3, Forked};
use crate::process::signals::{Reads, SignalFd, FORWARDED_SIGNALS};
use crate::rootfs::{self, RootfsPlan};
use crate::spawn::{
    self, CgroupEntry, HostSteps, InitPlan, MountedView, ProcViewHost, PtyMasters, SpawnError,
};
use crate::state::{ProcessId, State, StateFile};
use rlxc_config::spec::HookPoint;

/// What `rlxc start` asks for.
#[derive(Debug, Clone)]
pub struct Launch {
    pub paths: ContainerPaths,
    pub config_path: PathBuf,
    pub spec: ContainerSpec,
    /// `rlxc start -- CMD`: replaces `lxc.init.cmd`.
    pub command: Vec<String>,
    /// `-d`: the monitor leaves the terminal (new session, stdio on /dev/null).
    pub daemonize: bool,
    /// The command's `-o`, `-l`, `-q`: where the monitor logs, over `lxc.log.*`.
    pub log: LogRequest,
}

impl Launch {
    /// The hooks' context of this start: `LXC_ROOTFS_MOUNT` is where this start mounts the
    /// rootfs (the start's own mount point for an overlay or loop store).
    pub(crate) fn hook_context(&self) -> HookContext {
        let mut context = HookContext::new(&self.paths.name, &self.config_path, &self.spec);
        if let Some(point) = crate::rootfs::store_mount_point(&self.spec, &self.paths) {
            context.rootfs_mount = point.to_string_lossy().into_owned();
        }
        context
    }
}

pub(super) fn io<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> LaunchError + 'a {
    move |cause| LaunchError::Io {
        what,
        path: path.to_path_buf(),
        cause,
    }
}

/// Starts the container; returns the monitor's pid once init runs.
/// The caller holds the container's operation lock until this returns: a stop or a destroy
/// of it waits until the container runs (or the start failed and undid itself).
pub fn launch(launch: &Launch, operation: &OperationLock) -> Result<Launched, LaunchError> {
    let (prepared, lifetime_lock) = prepare(launch, operation)?;
    launch_prepared(launch, prepared, lifetime_lock, operation)
}

/// `execute -d` (LXC's `lxc-execute -d`): the command under rlxc's small init, as a daemon
/// container (its output on the console, like any daemon's); returns once it runs, and the
/// container stops when the command ends.
pub fn launch_command(launch: &Launch, operation: &OperationLock) -> Result<Launched, LaunchError> {
    let (mut prepared, lifetime_lock) = prepare(launch, operation)?;
    prepared.plan.tiny_init = true;
    launch_prepared(launch, prepared, lifetime_lock, operation)
}

fn launch_prepared(
    launch: &Launch,
    prepared: super::prepare::Prepared,
    lifetime_lock: File,
    operation: &OperationLock,
) -> Result<Launched, LaunchError> {
    let forked = fork_monitor(launch, &prepared, lifetime_lock, operation, Mode::Start)?;
    match wait_for_running(&read_status(forked.status), forked.pid) {
        Ok((monitor_pid, warnings)) => Ok(Launched {
            monitor_pid,
            warnings,
            unenforced: super::validate::unenforced(&prepared.plan),
            cleared: prepared.cleared,
            teardown: forked.teardown,
        }),
        Err(error) => {
            // A failed start undoes itself; return once it has.
            forked.teardown.wait();
            Err(error)
        }
    }
}

/// The `WARN` lines at the head of a status report, and the rest.
pub(super) fn split_warnings(text: &str) -> (Vec<String>, &str) {
    let mut warnings = Vec::new();
    let mut rest = text;
    while let Some(line) = rest.strip_prefix("WARN ") {
        let (warning, after) = line.split_once('\n').unwrap_or((line, ""));
        warnings.push(warning.to_string());
        rest = after;
    }
    (warnings, rest)
}

/// What one start or execute runs: the container as a daemon's init, or one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Start,
    Execute,
}

/// A monitor forked, and what its parent keeps of it.
pub(super) struct ForkedMonitor {
    pub pid: i32,
    /// `WARN` lines, `OK` or the failed step (JSON), then for an execute how it ended.
    pub status: OwnedFd,
    /// Opened before the monitor can be gone: this run's lock, to wait on.
    pub teardown: TeardownWatch,
}

/// Makes the monitor's cgroups and forks the monitor straight into its cgroup2 part; in the
/// child, runs it and exits. Anything made is undone on a failure here.
pub(super) fn fork_monitor(
    launch: &Launch,
    prepared: &Prepared,
    lock: File,
    operation: &OperationLock,
    mode: Mode,
) -> Result<ForkedMonitor, LaunchError> {
    let (plan, rootfs_plan) = (&prepared.plan, &prepared.rootfs_plan);
    let undo_prepare = |error: LaunchError| {
        super::teardown::remove_run_dir(&launch.paths);
        error
    };
    // Once the lock is ours and before anything is made; the monitor keeps it for its life.
    let peer = open_console_peer(&launch.spec).map_err(undo_prepare)?;
    let log = MonitorLog::open(launch).map_err(undo_prepare)?;
    let (cgroup_plan, mut monitor_cgroup) = monitor_cgroup(launch).map_err(undo_prepare)?;
    let forked = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(std::io::Error::from)
        .and_then(|pipe| clone_monitor(&mut monitor_cgroup).map(|forked| (pipe, forked)));
    let ((status_read, status_write), forked) = match forked {
        Ok(forked) => forked,
        Err(error) => {
            monitor_cgroup.remove();
            return Err(undo_prepare(LaunchError::Fork(error)));
        }
    };
    match forked {
        Forked::Child => {
            // The monitor outlives the operation that started it.
            operation.close_inherited();
            drop(status_read);
            for notice in log.install() {
                let _ = rustix::io::write(&status_write, format!("WARN {notice}\n").as_bytes());
            }
            let mut peer = peer;
            if let Some(peer) = &mut peer {
                peer.make_raw();
            }
            let recipe = Recipe {
                plan,
                rootfs_plan,
                cgroups: &cgroup_plan,
                console_peer: peer.as_ref(),
            };
            let code = monitor_main(launch, recipe, monitor_cgroup, &lock, status_write, mode);
            // exit() runs no destructors: the peer's terminal settings come back here, before
            // the lock goes (a stop waits on it, and then finds the device as it was).
            drop(peer);
            drop(lock);
            std::process::exit(code)
        }
        Forked::Parent { pid, .. } => {
            drop(peer);
            drop(status_write);
            drop(lock);
            Ok(ForkedMonitor {
                pid,
                status: status_read,
                teardown: TeardownWatch::open(&launch.paths),
            })
        }
    }
}

fn read_status(status: OwnedFd) -> String {
    let mut text = String::new();
    let _ = File::from(status).read_to_string(&mut text);
    text
}

/// Where the cgroups go, and the monitor's own, made before the monitor exists so that it
/// can be born inside (see [`MonitorCgroup`]).
fn monitor_cgroup(launch: &Launch) -> Result<(CgroupPlan, MonitorCgroup), LaunchError> {
    let plan = CgroupPlan::of(&launch.spec, &launch.paths.instance_name())?;
    let planned = plan.leaves().map_err(LaunchError::Cgroups)?;
    crate::leftovers::record_planned_cgroups(&launch.paths, &planned).map_err(io(
        "recording the planned cgroups in",
        &launch.paths.run_dir(),
    ))?;
    let monitor = MonitorCgroup::create(&plan).map_err(LaunchError::MonitorCgroup)?;
    Ok((plan, monitor))
}

/// Forks the monitor, straight into its cgroup2 cgroup where the host has one.
fn clone_monitor(monitor: &mut MonitorCgroup) -> std::io::Result<Forked> {
    let unified = monitor.unified_fd().map_err(std::io::Error::other)?;
    monitor.born_inside = unified.is_some();
    clone3(0, unified.as_ref().map(AsRawFd::as_raw_fd))
}

/// What one start does, planned before the monitor runs it (again at each reboot).
#[derive(Clone, Copy)]
struct Recipe<'a> {
    plan: &'a InitPlan,
    rootfs_plan: &'a RootfsPlan,
    cgroups: &'a CgroupPlan,
    /// `lxc.console.path = DEVICE`, opened once for every (re)start.
    console_peer: Option<&'a ConsolePeer>,
}

/// A running container: the monitor's pid and what it warned about on the way.
#[derive(Debug)]
pub struct Launched {
    pub monitor_pid: i32,
    pub warnings: Vec<String>,
    /// Config lines this host cannot enforce, which the container runs without: for the
    /// CLI to warn about at their lines, once (not at each reboot).
    pub unenforced: Vec<crate::unenforced::Unenforced>,
    /// What a crashed run had left, removed before the start.
    pub cleared: Option<crate::leftovers::Cleared>,
    /// Waits until the container has stopped and nothing of it is left (`start -F`).
    pub teardown: TeardownWatch,
}

/// The CLI side of the status pipe: `WARN text` lines, then `OK`, or the failed step as a
/// JSON [`StartFailure`].
pub(super) fn wait_for_running(
    text: &str,
    monitor_pid: i32,
) -> Result<(i32, Vec<String>), LaunchError> {
    let (warnings, rest) = split_warnings(text);
    match rest.strip_prefix("OK") {
        Some(_) => Ok((monitor_pid, warnings)),
        None if rest.is_empty() => Err(LaunchError::Monitor(
            "the monitor died before the container was running".into(),
        )),
        None => Err(match serde_json::from_str::<StartFailure>(rest) {
            Ok(failure) => failure.into(),
            // Not a step's report (the monitor ended some other way): its text as it is.
            Err(_) => LaunchError::Monitor(rest.to_string()),
        }),
    }
}

/// The monitor process: start, report, serve, tear down. Returns its exit code.
fn monitor_main(
    launch: &Launch,
    recipe: Recipe,
    mut monitor_cgroup: MonitorCgroup,
    _lock: &File,
    status: OwnedFd,
    mode: Mode,
) -> i32 {
    let mut status = File::from(status);
    if launch.daemonize {
        detach_from_terminal();
    }
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    set_process_name(&launch.paths);
    events::state_changed(&launch.paths, State::Starting);
    let mut made = Made::new(launch.paths.clone());
    let entered = monitor_cgroup
        .enter()
        .map_err(StartError::MonitorCgroup)
        .and_then(|()| unshare_mounts(&launch.spec));
    let mut warnings = std::mem::take(&mut monitor_cgroup.notices);
    made.monitor_cgroup = Some(monitor_cgroup);
    let started = entered.and_then(|()| start(launch, recipe, &mut made, &mut warnings));
    for warning in &warnings {
        let _ = status.write_all(format!("WARN {warning}\n").as_bytes());
    }
    let mut event_loop = match started {
        Ok(running) => {
            log_running(&made);
            events::state_changed(&launch.paths, State::Running);
            running
        }
        Err(error) => {
            crate::log_error!("start failed: {}: {error}", error.step());
            record_abort(&launch.paths);
            made.undo();
            if let Ok(report) = serde_json::to_vec(&error.to_failure()) {
                let _ = status.write_all(&report);
            }
            return 1;
        }
    };
    if mode == Mode::Execute {
        let _ = status.write_all(b"OK\n");
        let exit = event_loop.run();
        drop(event_loop);
        log_init_end(&exit);
        record_init_end(&launch.paths, &exit);
        let end = match &exit {
            Ok(InitExit::Exited(code)) => format!("EXIT {code}"),
            Ok(InitExit::Signaled(signal)) => format!("SIGNAL {signal}"),
            Err(e) => format!("ERROR monitor: {e}"),
        };
        let _ = status.write_all(end.as_bytes());
        drop(status);
        stop_container(launch, &mut made, "stop");
        return i32::from(exit.is_err());
    }
    if status.write_all(b"OK").is_err() {
        // `rlxc start` was killed before the container ran: the start is abandoned, and
        // undone as a failed one, rather than leave a container nobody asked for.
        crate::log_error!("start abandoned: rlxc start ended before the container was running");
        drop(event_loop);
        record_abort(&launch.paths);
        made.undo();
        return 1;
    }
    drop(status);
    crate::sys::release_free_heap();
    loop {
        let exit = event_loop.run();
        drop(event_loop);
        log_init_end(&exit);
        record_init_end(&launch.paths, &exit);
        // reboot(2) in a pid namespace ends its init with SIGHUP: start it again, in place.
        if !matches!(exit, Ok(InitExit::Signaled(libc::SIGHUP))) {
            stop_container(launch, &mut made, "stop");
            return i32::from(exit.is_err());
        }
        crate::log_info!("rebooting");
        stop_container(launch, &mut made, "reboot");
        let monitor_cgroup = made.monitor_cgroup.take();
        made = Made::new(launch.paths.clone());
        made.monitor_cgroup = monitor_cgroup;
        let mut warnings = Vec::new();
        events::state_changed(&launch.paths, State::Starting);
        event_loop = match start(launch, recipe, &mut made, &mut warnings) {
            Ok(event_loop) => {
                log_running(&made);
                events::state_changed(&launch.paths, State::Running);
                event_loop
            }
            Err(error) => {
                crate::log_error!("reboot failed: {}: {error}", error.step());
                record_abort(&launch.paths);
                made.undo();
                return 1;
            }
        };
    }
}

/// `lxc.monitor.unshare = 1`: the monitor takes a mount namespace of its own before the
/// pre-start hooks, as LXC's does, so what they mount stays out of the host's; the host's
/// mounts still reach it (a slave, not private).
fn unshare_mounts(spec: &ContainerSpec) -> Result<(), StartError> {
    if spec.monitor.unshare != Some(true) {
        return Ok(());
    }
    // SAFETY: a new mount namespace for this single-threaded process; nothing of ours holds
    // paths that the change could invalidate.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
        .and_then(|()| {
            rustix::mount::mount_change(
                "/",
                rustix::mount::MountPropagationFlags::DOWNSTREAM
                    | rustix::mount::MountPropagationFlags::REC,
            )
        })
        .map_err(|e| StartError::MonitorUnshare(e.into()))
}

fn log_running(made: &Made) {
    let init = made.init.map_or(0, |init| init.pid);
    crate::log_info!("RUNNING: init is pid {init}");
}

/// The start recipe. Every resource goes into `made` as soon as it exists.
fn start(
    launch: &Launch,
    recipe: Recipe,
    made: &mut Made,
    warnings: &mut Vec<String>,
) -> Result<EventLoop, StartError> {
    let Recipe {
        plan, rootfs_plan, ..
    } = recipe;
    let mut hook_context = launch.hook_context();
    hooks::run_point(&launch.spec, HookPoint::PreStart, &hook_context)
        .map_err(StartError::PreStartHooks)?;
    // After the pre-start hooks, which may mount the rootfs. A store that is mounted (overlay,
    // loop) is the container's own filesystem: nothing of the host's to pin.
    if !rootfs_plan.backend.needs_mount() {
        made.rootfs_pin =
            super::rootfs_pin::pin(&rootfs_plan.rootfs, rootfs_plan.user_namespace, warnings);
    }
    // An overlay or loop store is mounted here, detached, by the monitor: the container's
    // first process runs in its cgroups, whose device rules deny /dev/loop-control, and it
    // only attaches the mount (the fd it inherits). Ours goes after the spawn, so the loop
    // device's autoclear follows the container's mount namespace alone.
    let store_mount = match rootfs_plan.backend.needs_mount() {
        true => Some(rootfs::mount_store(rootfs_plan).map_err(StartError::RootfsStore)?),
        false => None,
    };
    made.cgroups = Some(super::cgroups::create_payload(
        &launch.spec,
        recipe.cgroups,
        warnings,
    )?);
    let unified = match &made.cgroups {
        Some(cgroups) => cgroups.unified_fd().map_err(StartError::CgroupEntry)?,
        None => None,
    };
    let listener = listen(&launch.paths, made)?;
    let console_log = open_console_log(&launch.spec, &launch.paths)?;
    let cgroups = made.cgroups.as_ref();
    // The child enters the cgroups clone3 cannot put it in itself, first thing, while we set
    // up the host side: see `ContainerCgroups::self_entry` for why it moves itself.
    let placement = if unified.is_some() {
        Placement::V1Only
    } else {
        Placement::All
    };
    let cgroup_entry = match cgroups {
        Some(cgroups) => {
            // Ownership needs no pid: given before the clone, so the container's root finds
            // its cgroups its own from its first step on.
            if let Some(user_namespace) = &plan.user_namespace {
                cgroups
                    .give_to(user_namespace.root_uid, user_namespace.root_gid)
                    .map_err(StartError::CgroupOwnership)?;
            }
            Some(
                cgroups
                    .self_entry(placement)
                    .map_err(StartError::CgroupEntry)?,
            )
        }
        None => None,
    };
    let mut network = None;
    // Opened while the child waits for its Go: an init that ends at once (an execute of
    // /bin/true) is still there to be opened.
    let mut namespaces = Vec::new();
    let stop_hooks = launch.spec.hooks.commands.contains_key(&HookPoint::Stop);
    let mut host_setup = |pid| {
        if stop_hooks {
            namespaces =
                hold_namespaces(pid, plan.clone_flags).map_err(StartError::HoldNamespaces)?;
        }
        super::network::setup(launch, pid, &mut network).map_err(StartError::Network)?;
        apply_proc_settings(&launch.spec, pid)
    };
    let mut start_host_hooks = |pid| {
        hook_context.init_pid = Some(pid);
        hooks::run_point(&launch.spec, HookPoint::StartHost, &hook_context)
            .map_err(StartError::StartHostHooks)
    };
    let view = ProcViewStart::prepare(launch, plan, warnings).map_err(StartError::ProcView)?;
    let mut view_server = None;
    let mut view_warning = None;
    let mut view_mounted = |pid, outcome: Result<MountedView, String>| match (&view, outcome) {
        (Some(view), Ok(mounted)) => {
            view_server = Some(
                view.serve(launch, cgroups, pid, mounted)
                    .map_err(StartError::ProcView)?,
            );
            Ok(())
        }
        (_, Err(reason)) => {
            // A server already started for a view that could not be bound goes again,
            // unless it answers sysinfo: the container's filter hands those calls to it.
            view_server = view_server.take().filter(|s| s.answers_sysinfo());
            view_warning = Some(format!(
                "lxc.procview: {reason}; the container sees the kernel's /proc files"
            ));
            Ok(())
        }
        (None, Ok(_)) => Ok(()),
    };
    let spawned = spawn::spawn(
        plan,
        CgroupEntry {
            unified: unified.as_ref().map(AsRawFd::as_raw_fd),
            by_itself: cgroup_entry.as_ref(),
        },
        &mut || setup_filesystem(rootfs_plan, recipe.cgroups.layout(), store_mount.as_ref()),
        &mut HostSteps {
            setup: &mut host_setup,
            before_exec: &mut start_host_hooks,
            procview: view.as_ref().map(|view| ProcViewHost {
                fuse: view.device.as_fd(),
                request: view.request,
                mounted: &mut view_mounted,
            }),
        },
    );
    drop(store_mount);
    made.network = network;
    made.namespaces = namespaces;
    made.procview = view_server;
    warnings.extend(view_warning);
    let spawned = spawned.map_err(|error| match error {
        // A host step's own error names its step.
        SpawnError::HostSetup(step) => step,
        SpawnError::Died { step, end } => StartError::InitDied(InitDeath::new(
            step,
            end,
            made.cgroups.as_ref(),
            &launch.spec,
        )),
        error => StartError::Spawn(Box::new(error)),
    })?;
    let init = ProcessId::of(spawned.pid).ok_or(StartError::InitGone)?;
    made.init = Some(init);
    let mut state = StateFile {
        name: launch.paths.name.clone(),
        lxcpath: launch.paths.lxcpath.clone(),
        config: launch.config_path.clone(),
        state: State::Running,
        monitor: ProcessId::of(rustix::process::getpid().as_raw_nonzero().get())
            .ok_or(StartError::MonitorGone)?,
        init,
        cgroups: made
            .cgroups
            .as_ref()
            .map(|c| c.paths().to_vec())
            .unwrap_or_default(),
        cgroup_leaves: made
            .cgroups
            .as_ref()
            .map(|c| c.leaf_records())
            .unwrap_or_default(),
        host_links: Vec::new(),
        phys_links: Vec::new(),
        added: crate::state::AddedDevices::default(),
        netns_pin: None,
        host_netns: None,
        monitor_cgroups: made.monitor_cgroup_paths(),
        freezer: made
            .cgroups
            .as_ref()
            .and_then(|c| c.freezer().ok())
            .map(|freezer| freezer.file().to_path_buf()),
        started_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        sysinfo_view: made
            .procview
            .as_ref()
            .is_some_and(|server| server.answers_sysinfo()),
        // Rendered for the state file and let go: the monitor does not keep it for the
        // container's life (it is worked out again at a reboot).
        effective: Some(crate::state::Effective::of(&launch.spec)),
    };
    if let Some(network) = &made.network {
        network.record(&mut state);
    }
    made.write_state(state).map_err(StartError::StateFile)?;
    // The last look before RUNNING is reported: an init killed in its exec is no start.
    // Not for `execute`'s tiny init, which does not exec and reports how its command ended.
    let died = (!plan.tiny_init)
        .then(|| died_before_running(&spawned.pidfd, spawned.pid))
        .flatten();
    if let Some(end) = died {
        let cgroups = made.cgroups.as_ref();
        let death = InitDeath::new("exec".into(), Some(end), cgroups, &launch.spec);
        return Err(StartError::InitDied(death));
    }
    let ptys = pty_list(spawned.ptys, console_log, recipe.console_peer);
    let signals = forward_signals();
    let event_loop = EventLoop::new(spawned.pid, spawned.pidfd, listener, signals, ptys)
        .and_then(|mut event_loop| {
            event_loop.watch_procview(made.procview.take())?;
            Ok(event_loop)
        })
        .map_err(StartError::EventLoop)?;
    Ok(event_loop)
}

fn listen(paths: &ContainerPaths, made: &mut Made) -> Result<UnixListener, StartError> {
    let socket = paths.socket();
    let _ = fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).map_err(|cause| StartError::ControlSocket {
        path: socket.clone(),
        cause,
    })?;
    made.socket = Some(socket);
    Ok(listener)
}

/// `lxc.console.path = DEVICE` (not `none`): the host terminal the console is relayed to.
/// `lxc.proc.FILE = VALUE`: written to `/proc/PID/FILE` of the container's first process from
/// the host, before it may go on (so `oom_score_adj` and the like hold from init's start).
fn apply_proc_settings(spec: &ContainerSpec, pid: i32) -> Result<(), StartError> {
    for (file, value) in &spec.proc_settings {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, value).map_err(|cause| StartError::ProcSetting {
            file: file.clone(),
            value: value.clone(),
            path,
            cause,
        })?;
    }
    Ok(())
}

/// Runs in the container's first process: mounts, /dev, ptys, pivot_root.
fn setup_filesystem(
    plan: &RootfsPlan,
    layout: &CgroupLayout,
    store_mount: Option<&std::os::fd::OwnedFd>,
) -> Result<PtyMasters, rootfs::RootfsError> {
    let outcome = rootfs::setup_knowing(plan, layout, store_mount)?;
    Ok(PtyMasters {
        console: outcome.ptys.console,
        ttys: outcome.ptys.ttys,
    })
}

/// Blocks the signals the monitor forwards to init and returns a signalfd for them. Done after
/// the spawn, so init does not inherit a blocked signal mask.
fn forward_signals() -> Option<SignalFd> {
    SignalFd::block_for_life(&FORWARDED_SIGNALS, Reads::NonBlocking).ok()
}

/// `-d`: a session of its own and stdio on /dev/null, so closing the terminal does nothing.
fn detach_from_terminal() {
    let _ = rustix::process::setsid();
    if let Ok(null) = OpenOptions::new().read(true).write(true).open("/dev/null") {
        let _ = crate::process::fds::dup_onto_stdio(std::os::fd::AsFd::as_fd(&null));
    }
}

/// `[rlxc monitor] LXCPATH NAME` in ps, as LXC's monitor is titled, and `rlxc-mon NAME` as
/// the short name (`ps -o comm`, 15 bytes).
fn set_process_name(paths: &ContainerPaths) {
    let name = crate::name::prefix_within(&format!("rlxc-mon {}", paths.name), 15).to_string();
    if let Ok(name) = std::ffi::CString::new(name) {
        let _ = rustix::thread::set_name(&name);
    }
    super::sys::set_command_line(&format!(
        "[rlxc monitor] {} {}",
        paths.lxcpath.display(),
        paths.name
    ));
}
