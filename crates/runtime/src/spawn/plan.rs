//! What the container's first process needs, worked out from the spec before any fork, so
//! that every mistake that can be caught early is caught with the config still at hand.

use std::ffi::CString;
use std::path::Path;

use rlxc_config::values::{Capability, Limit, PrLimit, Resource};
use rlxc_config::ContainerSpec;

use crate::unenforced::Unenforced;
use crate::userns::IdMapPlan;

/// `CLONE_NEWTIME` (libc lacks it on some targets).
pub const CLONE_NEWTIME: u64 = 0x80;

/// Namespaces a container gets when its config does not say: all but user, and a time
/// namespace so the container's uptime starts at its own start.
pub const DEFAULT_NAMESPACES: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u64
    | CLONE_NEWTIME;

const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The first process of a container: its namespaces, identity and what it execs.
#[derive(Debug, Clone)]
pub struct InitPlan {
    pub clone_flags: u64,
    /// Set in the container's own UTS namespace; `None` leaves the hostname alone.
    pub hostname: Option<String>,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    /// Capability numbers to drop from the bounding set.
    pub drop_capabilities: Vec<u8>,
    /// `/proc/sys/...` path (relative) and value.
    pub sysctls: Vec<(String, String)>,
    pub prlimits: Vec<(Resource, PrLimit)>,
    /// Signal init gets when the monitor dies (`lxc.monitor.signal.pdeath`, SIGKILL by default;
    /// `None` keeps the container running without its monitor).
    pub parent_death_signal: Option<i32>,
    /// `rlxc execute`: pid 1 is rlxc's tiny init (reaps zombies, forwards signals) and the
    /// command runs as its child.
    pub tiny_init: bool,
    /// Make /proc's host-wide knobs read-only once the sysctls are written (see
    /// `rootfs::make_proc_read_only`); false only with `lxc.mount.auto = proc:rw`.
    pub read_only_proc: bool,
    /// Give the container a boot id of its own once /proc is read-only (see
    /// `rootfs::bind_own_boot_id`): where the rootfs setup makes the /dev tmpfs (autodev).
    pub own_boot_id: bool,
    /// Keep the caller's stdin/stdout/stderr instead of the console (`rlxc execute`).
    pub inherit_stdio: bool,
    /// Wait for the monitor's `Exec` after `ReadyToExec` (it runs start-host hooks then).
    pub wait_for_exec: bool,
    /// `lxc.time.offset.boot` / `.monotonic` in nanoseconds; unset means "start at zero".
    pub boot_offset: Option<i64>,
    pub monotonic_offset: Option<i64>,
    /// `lxc.hook.start` commands, run inside the container just before init.
    pub start_hooks: Vec<String>,
    /// What those hooks see (set by the launch, which knows the container's name).
    pub hook_context: Option<crate::hooks::HookContext>,
    /// The seccomp filter init runs under: rlxc's default policy, the profile file's, or none
    /// when `lxc.seccomp.profile` is set empty on purpose.
    pub seccomp: Option<crate::seccomp::Program>,
    /// `lxc.no_new_privs = 1`: setuid bits and file capabilities give init's tree nothing.
    pub no_new_privs: bool,
    /// `lxc.apparmor.profile` / `lxc.selinux.context`, as the host's LSMs can apply them.
    pub lsm: crate::lsm::LsmPlan,
    /// A fresh session keyring (`lxc.keyring.session`, on by default).
    pub new_session_keyring: bool,
    /// Config lines the start runs without enforcing on this host (see [`Unenforced`]).
    pub unenforced: Vec<Unenforced>,
    /// `lxc.idmap`: a user namespace with these maps (written by the monitor before `Go`).
    pub user_namespace: Option<IdMapPlan>,
    /// `lxc.namespace.share.*`, opened by the launch (which knows the lxcpath): joined
    /// instead of made (their kinds are not in `clone_flags`).
    pub shared: Vec<super::share::SharedNamespace>,
    /// `lxc.arch`: the `personality(2)` init runs under (see `crate::personality`); `None`
    /// keeps the monitor's.
    pub personality: Option<u32>,
    /// `lxc.sched.core = 1`: init makes a core-scheduling cookie for the container.
    pub sched_core: bool,
}

/// Why a spec cannot become a plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("lxc.environment: {name} is to be copied from the host, but the host has no {name}")]
    MissingHostVariable { name: String },
    #[error("{what}: {value:?} contains a NUL byte")]
    Nul { what: &'static str, value: String },
    #[error("lxc.init.cmd: empty command")]
    EmptyCommand,
    #[error("lxc.init.cmd: unbalanced quotes in {command:?}")]
    Quotes { command: String },
    #[error("{0}")]
    IdMap(String),
    #[error(
        "lxc.time.offset.*: this kernel has no time namespaces (Linux 5.6 or later, built with \
         CONFIG_TIME_NS)"
    )]
    NoTimeNamespaces,
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error(transparent)]
    Lsm(#[from] crate::lsm::LsmError),
    #[error(transparent)]
    Arch(#[from] crate::personality::ArchError),
    #[error(transparent)]
    CoreScheduling(#[from] crate::sched_core::NoCoreScheduling),
}

impl PlanError {
    /// The config key the error is about (its origin is the place to point at).
    pub fn config_key(&self) -> &'static str {
        match self {
            PlanError::MissingHostVariable { .. } => "lxc.environment",
            PlanError::Nul { what, .. } => what,
            PlanError::EmptyCommand | PlanError::Quotes { .. } => "lxc.init.cmd",
            PlanError::IdMap(_) => "lxc.idmap",
            PlanError::NoTimeNamespaces => "lxc.time.offset",
            PlanError::Seccomp(crate::seccomp::SeccompError::Unsupported { key, .. }) => key,
            PlanError::Seccomp(_) => "lxc.seccomp.profile",
            PlanError::Lsm(crate::lsm::LsmError::Missing { key, .. }) => key,
            PlanError::Lsm(_) => "lxc.apparmor.profile",
            PlanError::Arch(_) => "lxc.arch",
            PlanError::CoreScheduling(_) => "lxc.sched.core",
        }
    }
}

impl InitPlan {
    /// Builds the plan; `command` (from `rlxc start -- CMD`) replaces `lxc.init.cmd`.
    pub fn from_spec(spec: &ContainerSpec, command: &[String]) -> Result<InitPlan, PlanError> {
        let words: Vec<String> = if command.is_empty() {
            let cmd = spec.init.cmd.as_deref().unwrap_or("/sbin/init");
            split_command(cmd)?
        } else {
            command.to_vec()
        };
        if words.is_empty() {
            return Err(PlanError::EmptyCommand);
        }
        let user_namespace = IdMapPlan::from_maps(&spec.idmaps).map_err(PlanError::IdMap)?;
        let clone_flags = clone_flags(spec);
        let lsm = crate::lsm::plan(spec, crate::lsm::HostLsms::probe(Path::new("/sys")), || {
            crate::lsm::loaded_apparmor_profiles(Path::new("/sys"))
        })?;
        let (new_session_keyring, keyring_unenforced) = session_keyring(spec);
        let unenforced = lsm
            .unenforced
            .iter()
            .cloned()
            .chain(keyring_unenforced)
            .collect();
        Ok(InitPlan {
            clone_flags,
            user_namespace,
            personality: spec
                .arch
                .as_ref()
                .map(|arch| crate::personality::of(arch, "lxc.arch"))
                .transpose()?,
            sched_core: sched_core(spec)?,
            // Without a UTS namespace of its own the hostname is the host's, not the
            // container's to change. (A start without lxc.uts.name names it after the
            // container: `monitor::launch`, which knows the name.)
            hostname: spec
                .uts_name
                .clone()
                .filter(|_| clone_flags & libc::CLONE_NEWUTS as u64 != 0),
            argv: c_strings("lxc.init.cmd", &words)?,
            env: c_strings("lxc.environment", &environment(spec)?)?,
            cwd: spec.init.cwd.clone().unwrap_or_else(|| "/".into()),
            uid: spec.init.uid.unwrap_or(0),
            gid: spec.init.gid.unwrap_or(0),
            groups: spec.init.groups.clone(),
            drop_capabilities: capabilities_to_drop(spec),
            sysctls: spec
                .sysctls
                .iter()
                .map(|(name, value)| (name.replace('.', "/"), value.clone()))
                .collect(),
            prlimits: spec.prlimits.iter().map(|(r, l)| (*r, *l)).collect(),
            parent_death_signal: match spec.monitor.pdeath_signal {
                None => Some(libc::SIGKILL),
                Some(signal) => signal.map(|s| s.0),
            },
            boot_offset: spec.time_offsets.boot.map(|o| o.0),
            monotonic_offset: spec.time_offsets.monotonic.map(|o| o.0),
            tiny_init: false,
            // Set from the effective lxc.mount.auto by the launch, which knows it.
            read_only_proc: true,
            own_boot_id: false,
            inherit_stdio: false,
            wait_for_exec: spec
                .hooks
                .commands
                .contains_key(&rlxc_config::spec::HookPoint::StartHost),
            seccomp: crate::seccomp::for_spec(spec)?,
            no_new_privs: spec.security.no_new_privs.unwrap_or(false),
            lsm,
            new_session_keyring,
            unenforced,
            hook_context: None,
            shared: Vec::new(),
            start_hooks: spec
                .hooks
                .commands
                .get(&rlxc_config::spec::HookPoint::Start)
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// `lxc.keyring.session` (on by default) as rlxc can give it. Where keyctl is denied to
/// rlxc itself — it runs in a container whose seccomp filter denies it (rlxc's default policy
/// does) — the new container is under that filter too and cannot reach any keyring, its
/// caller's session keyring included: it starts without a fresh one, as LXC does there. No
/// control is lost, so only a config that asks for the keyring in so many words hears of it.
fn session_keyring(spec: &ContainerSpec) -> (bool, Option<Unenforced>) {
    let wanted = spec.security.keyring_session.unwrap_or(true);
    if !wanted {
        return (false, None);
    }
    let Some(denied) = super::sys::keyctl_denied() else {
        return (true, None);
    };
    crate::log_info!("lxc.keyring.session: no fresh session keyring: keyctl: {denied}");
    let unenforced = spec.security.keyring_session.map(|_| Unenforced {
        key: "lxc.keyring.session",
        value: "1".into(),
        why: "keyctl is denied to rlxc itself (by the seccomp filter of the container it runs \
              in, which the new container runs under too), so the container keeps its \
              caller's session keyring, which it cannot reach either (as under LXC)",
    });
    (false, unenforced)
}

/// `lxc.sched.core`, refused here (before anything is made) where the host cannot do it.
fn sched_core(spec: &ContainerSpec) -> Result<bool, PlanError> {
    let wanted = spec.sched_core.unwrap_or(false);
    if wanted {
        crate::sched_core::probe()?;
    }
    Ok(wanted)
}

/// Splits a command line into words as a shell would (quotes group words), as LXC does for
/// `lxc.init.cmd` and `lxc.execute.cmd`.
pub fn split_command(command: &str) -> Result<Vec<String>, PlanError> {
    shlex::split(command).ok_or_else(|| PlanError::Quotes {
        command: command.to_string(),
    })
}

/// `lxc.namespace.clone` exactly, else the default minus `lxc.namespace.keep`, and no new
/// network namespace for `lxc.net.N.type = none`.
fn clone_flags(spec: &ContainerSpec) -> u64 {
    let mut flags = match &spec.namespaces.clone {
        Some(set) => set.clone_flags() as u64,
        None => DEFAULT_NAMESPACES,
    };
    if let Some(keep) = &spec.namespaces.keep {
        flags &= !(keep.clone_flags() as u64);
    }
    // Shared namespaces are joined, not made (see `share`).
    for shared in spec.namespaces.share.keys() {
        flags &= !(shared.clone_flag() as u64);
    }
    let shares_host_network = spec
        .networks
        .values()
        .any(|net| net.net_type.map(|t| t.name()) == Some("none"));
    if shares_host_network {
        flags &= !(libc::CLONE_NEWNET as u64);
    }
    // Id maps mean a user namespace, as in LXC, whatever lxc.namespace.* say; no maps, none.
    if spec.idmaps.is_empty() {
        flags &= !(libc::CLONE_NEWUSER as u64);
    } else {
        flags |= libc::CLONE_NEWUSER as u64;
    }
    flags
}

/// `container_ttys`: the ttys as their devpts names, which systemd's getty generator needs
/// (it starts `container-getty@N` on `/dev/pts/N` for each `pts/N` and ignores any other
/// name). The container's devpts is its own, so the numbers are known: the console's pty is
/// the first one made (`rootfs::pty::allocate`), then `/dev/tty1..N`.
fn container_ttys(spec: &ContainerSpec) -> Vec<String> {
    let console = u32::from(spec.console.path.as_deref() != Some("none"));
    (0..spec.tty.max.unwrap_or(0))
        .map(|n| format!("pts/{}", n + console))
        .collect()
}

/// Init's environment: LXC's `container=lxc`, the ttys, a PATH, then `lxc.environment`.
fn environment(spec: &ContainerSpec) -> Result<Vec<String>, PlanError> {
    let ttys = container_ttys(spec);
    let defaults = [
        "container=lxc".to_string(),
        format!("container_ttys={}", ttys.join(" ")),
        DEFAULT_PATH.to_string(),
        "TERM=linux".to_string(),
    ];
    // A later variable of the same name replaces the earlier one and moves to the end; each
    // name's slot is found in a map, not by a search of the list (100,000 lxc.environment
    // lines took half a minute that way).
    let mut env: Vec<Option<String>> = Vec::with_capacity(defaults.len() + spec.environment.len());
    let mut slot_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut set = |entry: String| {
        let name = entry.split('=').next().unwrap_or_default().to_string();
        if let Some(old) = slot_of.insert(name, env.len()) {
            env[old] = None;
        }
        env.push(Some(entry));
    };
    for entry in defaults {
        set(entry);
    }
    for var in &spec.environment {
        set(match var.split_once('=') {
            Some(_) => var.clone(),
            None => {
                let value = std::env::var(var)
                    .map_err(|_| PlanError::MissingHostVariable { name: var.clone() })?;
                format!("{var}={value}")
            }
        });
    }
    Ok(env.into_iter().flatten().collect())
}

/// Capabilities that only root of the initial user namespace can use (raw I/O, modules, the
/// system clock): in a container with its own user namespace they grant nothing, and keeping
/// them misleads its init, which then tries what is bound to fail (systemd mounts debugfs
/// when it has CAP_SYS_RAWIO: a failed unit under LXC's userns.conf, which clears
/// `lxc.cap.drop`). Dropped there unless `lxc.cap.keep` names what to keep.
const HOST_ONLY: [Capability; 3] = [
    Capability::SysRawio,
    Capability::SysModule,
    Capability::SysTime,
];

/// The bounding-set drops for `lxc.cap.drop` (and [`HOST_ONLY`] in a user namespace), or
/// everything not in `lxc.cap.keep`.
fn capabilities_to_drop(spec: &ContainerSpec) -> Vec<u8> {
    let last = last_capability();
    let mut wanted: Vec<u8> = match &spec.capabilities.keep {
        Some(keep) => Capability::ALL
            .iter()
            .filter(|cap| !keep.contains(cap))
            .map(Capability::number)
            .collect(),
        None => {
            let own_user_namespace = !spec.idmaps.is_empty();
            let host_only = HOST_ONLY.iter().filter(|_| own_user_namespace);
            spec.capabilities
                .drop
                .iter()
                .chain(host_only)
                .map(Capability::number)
                .collect()
        }
    };
    wanted.sort_unstable();
    wanted.dedup();
    wanted.into_iter().filter(|n| *n <= last).collect()
}

/// The highest capability the running kernel knows (dropping a higher one fails with EINVAL).
fn last_capability() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

fn c_strings(what: &'static str, words: &[String]) -> Result<Vec<CString>, PlanError> {
    words
        .iter()
        .map(|w| {
            CString::new(w.as_bytes()).map_err(|_| PlanError::Nul {
                what,
                value: w.clone(),
            })
        })
        .collect()
}

/// The value as `setrlimit` takes it.
pub(crate) fn raw_limit(limit: Limit) -> Option<u64> {
    match limit {
        Limit::Value(v) => Some(v),
        Limit::Unlimited => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn plan(config: &str) -> InitPlan {
        let spec = rlxc_config::load_str(config, Path::new("t.conf"))
            .expect("config")
            .spec;
        InitPlan::from_spec(&spec, &[]).expect("plan")
    }

    #[test]
    fn defaults_are_lxcs() {
        let plan = plan("");
        assert_eq!(plan.argv, [CString::new("/sbin/init").expect("c")]);
        assert_eq!(plan.clone_flags, DEFAULT_NAMESPACES);
        assert!(plan.env.iter().any(|e| e.as_bytes() == b"container=lxc"));
        assert_eq!(plan.cwd, "/");
        assert!(plan.drop_capabilities.is_empty());
        assert_eq!(plan.personality, None);
    }

    #[test]
    fn arch_is_a_personality_or_a_refusal() {
        assert_eq!(
            plan("lxc.arch = linux32\n").personality,
            Some(crate::personality::PER_LINUX32)
        );
        assert_eq!(
            plan("lxc.arch = linux64\n").personality,
            Some(crate::personality::PER_LINUX)
        );
        // No host runs every architecture LXC names: one of these two is foreign anywhere.
        let refused = ["lxc.arch = s390x\n", "lxc.arch = x86_64\n"]
            .iter()
            .filter_map(|config| {
                let spec = rlxc_config::load_str(config, Path::new("t.conf")).expect("config");
                InitPlan::from_spec(&spec.spec, &[]).err()
            })
            .next()
            .expect("a foreign arch is refused");
        assert!(refused.to_string().starts_with("lxc.arch = "), "{refused}");
    }

    #[test]
    fn init_cmd_honours_quotes() {
        let plan = plan("lxc.init.cmd = /bin/sh -c 'echo a b'\n");
        let argv: Vec<&[u8]> = plan.argv.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(argv, [b"/bin/sh".as_slice(), b"-c", b"echo a b"]);
    }

    #[test]
    fn keep_drops_everything_else() {
        let plan = plan("lxc.cap.keep = chown\n");
        assert!(!plan.drop_capabilities.contains(&0));
        assert!(plan.drop_capabilities.contains(&21));
    }

    #[test]
    fn a_user_namespace_drops_what_only_the_hosts_root_can_use_unless_kept() {
        let mapped = "lxc.idmap = u 0 100000 65536\nlxc.idmap = g 0 100000 65536\n";
        let host_only = [17, 16, 25]; // sys_rawio, sys_module, sys_time
        let unprivileged = plan(mapped);
        assert!(host_only
            .iter()
            .all(|n| unprivileged.drop_capabilities.contains(n)));
        assert!(plan("").drop_capabilities.is_empty());
        let kept = plan(&format!("{mapped}lxc.cap.keep = sys_rawio\n"));
        assert!(!kept.drop_capabilities.contains(&17));
    }

    #[test]
    fn namespace_keep_and_network_none() {
        let plan = plan("lxc.namespace.keep = ipc\nlxc.net.0.type = none\n");
        assert_eq!(plan.clone_flags & libc::CLONE_NEWIPC as u64, 0);
        assert_eq!(plan.clone_flags & libc::CLONE_NEWNET as u64, 0);
        assert_ne!(plan.clone_flags & libc::CLONE_NEWPID as u64, 0);
    }

    #[test]
    fn id_maps_bring_a_user_namespace_and_only_they_do() {
        let plain = plan("lxc.namespace.clone = user mount pid\n");
        assert_eq!(plain.clone_flags & libc::CLONE_NEWUSER as u64, 0);
        assert!(plain.user_namespace.is_none());
        let mapped = plan("lxc.idmap = u 0 200000 65536\nlxc.idmap = g 0 200000 65536\n");
        assert_ne!(mapped.clone_flags & libc::CLONE_NEWUSER as u64, 0);
        assert_eq!(mapped.user_namespace.map(|u| u.root_uid), Some(200000));
    }

    #[test]
    fn a_later_variable_replaces_the_earlier_and_takes_its_place_at_the_end() {
        let plan = plan("lxc.environment = A=1\nlxc.environment = B=2\nlxc.environment = A=3\n");
        let env: Vec<&[u8]> = plan.env.iter().map(|e| e.as_bytes()).collect();
        let ours: Vec<&[u8]> = env
            .iter()
            .copied()
            .filter(|e| e.starts_with(b"A=") || e.starts_with(b"B="))
            .collect();
        assert_eq!(ours, [b"B=2".as_slice(), b"A=3"]);
        assert_eq!(env.last(), Some(&b"A=3".as_slice()));
    }

    #[test]
    fn environment_overrides_and_copies() {
        std::env::set_var("RLXC_PLAN_TEST", "from-host");
        let plan = plan("lxc.environment = TERM=xterm\nlxc.environment = RLXC_PLAN_TEST\n");
        let env: Vec<&[u8]> = plan.env.iter().map(|e| e.as_bytes()).collect();
        assert!(env.contains(&b"TERM=xterm".as_slice()));
        assert!(!env.contains(&b"TERM=linux".as_slice()));
        assert!(env.contains(&b"RLXC_PLAN_TEST=from-host".as_slice()));
    }
}
