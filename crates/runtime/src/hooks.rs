//! `lxc.hook.*` and `lxc.net.N.script.*`: user programs at LXC's moments, with LXC's
//! environment. Hooks are the one place rlxc runs other programs; everything else is
//! syscalls. Every hook, wherever it runs (the monitor, the container's first process before
//! and after pivot_root, destroy), goes through [`run`] with one [`HookContext`], so each
//! sees the same variables.
//!
//! As in LXC a hook is a shell command line (`/bin/sh -c`): `lxc.hook.version = 0` (the
//! default) passes `NAME SECTION TYPE [...]` as arguments after the hook's own words;
//! `1` passes them only in the environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rlxc_config::spec::HookPoint;
use rlxc_config::ContainerSpec;

/// What every hook of one container gets in its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookContext {
    pub name: String,
    pub config_file: PathBuf,
    /// `LXC_ROOTFS_PATH`: `lxc.rootfs.path` as written (`dir:/srv/web` too).
    pub rootfs_path: String,
    /// `LXC_ROOTFS_MOUNT`: where the rootfs is mounted while the container is set up (see
    /// [`rootfs_mount`]): the path a mount hook works below.
    pub rootfs_mount: String,
    /// `LXC_CONSOLE`: `lxc.console.path`.
    pub console: Option<String>,
    pub console_log: Option<String>,
    /// `LXC_LOG_LEVEL`: `lxc.log.level`'s name.
    pub log_level: Option<String>,
    pub version: u8,
    /// `LXC_PID`, once init exists.
    pub init_pid: Option<i32>,
    /// `LXC_TARGET` for stop hooks: `stop` or `reboot`.
    pub target: Option<&'static str>,
    /// Stop hooks: the container's namespaces as `(proc name, path)`, such as
    /// `("net", "/proc/MONITOR/fd/12")`: `LXC_NET_NS=PATH` in the environment (version 1) or
    /// `net:PATH` arguments (version 0).
    pub namespaces: Vec<(&'static str, String)>,
    /// `LXC_SRC_NAME` for clone hooks: the container the clone was made from.
    pub source_name: Option<String>,
    /// Clone hooks: the words after `--` of `lxc-copy`, after LXC's own arguments.
    pub extra_args: Vec<String>,
}

/// Why a hook failed; a failing hook before init runs aborts the start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    #[error("{key} = {command}: cannot run it: {cause}")]
    Spawn {
        /// The config key: `lxc.hook.start`, `lxc.net.0.script.up`.
        key: String,
        command: String,
        cause: std::io::Error,
    },
    #[error("{key} = {command}: exited with {status}{}", output_text(.output))]
    Failed {
        key: String,
        command: String,
        status: std::process::ExitStatus,
        output: String,
    },
}

fn output_text(output: &str) -> String {
    if output.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", output.trim())
    }
}

/// Which hook runs: one of `lxc.hook.*`, or an interface's `script.up` / `script.down`.
#[derive(Debug, Clone, Copy)]
pub enum Hook<'a> {
    Lxc(HookPoint),
    Net(NetHook<'a>),
}

/// One interface, as `lxc.net.N.script.up`/`script.down` see it.
#[derive(Debug, Clone, Copy)]
pub struct NetHook<'a> {
    pub index: u32,
    /// `up` or `down`.
    pub hook_type: &'static str,
    pub net_type: &'a str,
    /// `lxc.net.N.link`.
    pub parent: Option<&'a str>,
    /// The host end of a veth pair.
    pub peer: Option<&'a str>,
}

impl Hook<'_> {
    /// The config key the hook's command comes from, for messages.
    fn key(&self) -> String {
        match self {
            Hook::Lxc(point) => format!("lxc.hook.{}", point.name()),
            Hook::Net(net) => format!("lxc.net.{}.script.{}", net.index, net.hook_type),
        }
    }

    fn hook_type(&self) -> &'static str {
        match self {
            Hook::Lxc(point) => point.name(),
            Hook::Net(net) => net.hook_type,
        }
    }

    fn section(&self) -> &'static str {
        match self {
            Hook::Lxc(_) => "lxc",
            Hook::Net(_) => "net",
        }
    }

    /// Whether the container's namespaces are handed to it (LXC: stop hooks only).
    fn gets_namespaces(&self) -> bool {
        matches!(self, Hook::Lxc(HookPoint::Stop))
    }
}

/// Where the rootfs is mounted while the container is set up, as hooks see it in
/// `LXC_ROOTFS_MOUNT`: `lxc.rootfs.mount` where set, else the rootfs directory itself (rlxc
/// binds the rootfs onto itself there, in the container's mount namespace).
pub fn rootfs_mount(spec: &ContainerSpec) -> String {
    if let Some(mount) = &spec.rootfs.mount {
        return mount.clone();
    }
    let path = spec.rootfs.path.as_deref().unwrap_or_default();
    // A btrfs subvolume is bound as a directory too; an overlay or loop store is mounted at
    // the start's own mount point, which the start's context says (`Launch::hook_context`).
    match rlxc_storage::backend::Backend::parse(path) {
        Ok(backend) => backend
            .directory()
            .unwrap_or(backend.own_data())
            .to_string_lossy()
            .into_owned(),
        Err(_) => path.to_string(),
    }
}

impl HookContext {
    pub fn new(name: &str, config_file: &Path, spec: &ContainerSpec) -> HookContext {
        HookContext {
            name: name.to_string(),
            config_file: config_file.to_path_buf(),
            rootfs_path: spec.rootfs.path.clone().unwrap_or_default(),
            rootfs_mount: rootfs_mount(spec),
            console: spec.console.path.clone(),
            console_log: spec.console.logfile.clone(),
            log_level: spec.log.level.map(|level| level.to_string()),
            version: u8::from(spec.hooks.version.unwrap_or(false)),
            init_pid: None,
            target: None,
            namespaces: Vec::new(),
            source_name: None,
            extra_args: Vec::new(),
        }
    }

    fn environment(&self, hook: &Hook<'_>) -> Vec<(String, String)> {
        let mut env = vec![
            ("LXC_NAME".into(), self.name.clone()),
            (
                "LXC_CONFIG_FILE".into(),
                self.config_file.display().to_string(),
            ),
            ("LXC_ROOTFS_PATH".into(), self.rootfs_path.clone()),
            ("LXC_ROOTFS_MOUNT".into(), self.rootfs_mount.clone()),
            ("LXC_HOOK_TYPE".into(), hook.hook_type().into()),
            ("LXC_HOOK_SECTION".into(), hook.section().into()),
            ("LXC_HOOK_VERSION".into(), self.version.to_string()),
            ("LXC_CGNS_AWARE".into(), "1".into()),
        ];
        let optional = [
            ("LXC_CONSOLE", self.console.clone()),
            ("LXC_CONSOLE_LOGPATH", self.console_log.clone()),
            ("LXC_LOG_LEVEL", self.log_level.clone()),
            ("LXC_PID", self.init_pid.map(|pid| pid.to_string())),
            ("LXC_TARGET", self.target.map(str::to_string)),
            ("LXC_SRC_NAME", self.source_name.clone()),
        ];
        env.extend(
            optional
                .into_iter()
                .filter_map(|(key, value)| Some((key.to_string(), value?))),
        );
        if let Hook::Net(net) = hook {
            env.push(("LXC_NET_TYPE".into(), net.net_type.into()));
            env.extend(net.parent.map(|p| ("LXC_NET_PARENT".into(), p.into())));
            env.extend(net.peer.map(|p| ("LXC_NET_PEER".into(), p.into())));
        }
        if hook.gets_namespaces() && self.version == 1 {
            env.extend(
                self.namespaces.iter().map(|(ns, path)| {
                    (format!("LXC_{}_NS", ns.to_ascii_uppercase()), path.clone())
                }),
            );
        }
        env
    }

    /// LXC's arguments after the hook's own words (version 0 only): `NAME SECTION TYPE`,
    /// then the interface's type and host device for a network script, or the namespaces
    /// for a stop hook; a clone hook's `lxc-copy -- ARGS` last (in either version: they
    /// are the user's, not LXC's).
    fn arguments(&self, hook: &Hook<'_>) -> Vec<String> {
        if self.version != 0 {
            return self.extra_args.clone();
        }
        let mut args = vec![
            self.name.clone(),
            hook.section().to_string(),
            hook.hook_type().to_string(),
        ];
        if let Hook::Net(net) = hook {
            args.push(net.net_type.to_string());
            args.extend(net.peer.or(net.parent).map(str::to_string));
        }
        if hook.gets_namespaces() {
            args.extend(
                self.namespaces
                    .iter()
                    .map(|(ns, path)| format!("{ns}:{path}")),
            );
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }
}

/// Runs `commands` as `hook`, in order; the first failure stops the rest.
pub fn run(commands: &[String], hook: Hook<'_>, context: &HookContext) -> Result<(), HookError> {
    for command in commands {
        run_one(command, &hook, context)?;
    }
    Ok(())
}

/// Runs every `lxc.hook.POINT` of `spec`.
pub fn run_point(
    spec: &ContainerSpec,
    point: HookPoint,
    context: &HookContext,
) -> Result<(), HookError> {
    match spec.hooks.commands.get(&point) {
        Some(commands) => run(commands, Hook::Lxc(point), context),
        None => Ok(()),
    }
}

fn run_one(command: &str, hook: &Hook<'_>, context: &HookContext) -> Result<(), HookError> {
    if command.trim().is_empty() {
        return Ok(());
    }
    crate::log_debug!("running {} = {command}", hook.key());
    // `"$@"` after the command line: LXC's arguments reach the hook as words of their own,
    // whatever they contain.
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("{command} \"$@\""))
        .arg("rlxc-hook")
        .args(context.arguments(hook))
        .envs(context.environment(hook))
        .stdin(Stdio::null())
        .output()
        .map_err(|cause| HookError::Spawn {
            key: hook.key(),
            command: command.to_string(),
            cause,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    if text.trim().is_empty() {
        text = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    Err(HookError::Failed {
        key: hook.key(),
        command: command.to_string(),
        status: output.status,
        output: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(config: &str) -> HookContext {
        let spec = rlxc_config::load_str(config, Path::new("test.conf"))
            .expect("config")
            .spec;
        HookContext::new("web", Path::new("/var/lib/rlxc/web/config"), &spec)
    }

    fn value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
        env.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_rootfs_mount_is_where_the_rootfs_is_mounted_not_the_configs_text() {
        let context = context("lxc.rootfs.path = dir:/srv/web/rootfs\n");
        let env = context.environment(&Hook::Lxc(HookPoint::Mount));
        assert_eq!(value(&env, "LXC_ROOTFS_MOUNT"), Some("/srv/web/rootfs"));
        assert_eq!(value(&env, "LXC_ROOTFS_PATH"), Some("dir:/srv/web/rootfs"));
        let mounted = self::context("lxc.rootfs.path = /srv/web\nlxc.rootfs.mount = /mnt/web\n");
        let env = mounted.environment(&Hook::Lxc(HookPoint::Mount));
        assert_eq!(value(&env, "LXC_ROOTFS_MOUNT"), Some("/mnt/web"));
    }

    #[test]
    fn every_hook_gets_lxcs_variables() {
        let mut context =
            context("lxc.rootfs.path = /srv/web\nlxc.console.path = none\nlxc.log.level = INFO\n");
        context.init_pid = Some(42);
        for point in HookPoint::ALL {
            let env = context.environment(&Hook::Lxc(point));
            for (key, expected) in [
                ("LXC_NAME", "web"),
                ("LXC_CONFIG_FILE", "/var/lib/rlxc/web/config"),
                ("LXC_HOOK_TYPE", point.name()),
                ("LXC_HOOK_SECTION", "lxc"),
                ("LXC_HOOK_VERSION", "0"),
                ("LXC_CGNS_AWARE", "1"),
                ("LXC_CONSOLE", "none"),
                ("LXC_LOG_LEVEL", "INFO"),
                ("LXC_PID", "42"),
            ] {
                assert_eq!(value(&env, key), Some(expected), "{point:?} {key}");
            }
        }
    }

    #[test]
    fn stop_hooks_get_the_namespaces_as_arguments_or_variables() {
        let mut context = context("lxc.rootfs.path = /srv/web\n");
        context.namespaces = vec![
            ("net", "/proc/7/fd/12".into()),
            ("mnt", "/proc/7/fd/13".into()),
        ];
        let stop = Hook::Lxc(HookPoint::Stop);
        assert_eq!(
            context.arguments(&stop),
            [
                "web",
                "lxc",
                "stop",
                "net:/proc/7/fd/12",
                "mnt:/proc/7/fd/13"
            ]
        );
        assert_eq!(
            context.arguments(&Hook::Lxc(HookPoint::PostStop)),
            ["web", "lxc", "post-stop"]
        );
        context.version = 1;
        assert!(context.arguments(&stop).is_empty());
        let env = context.environment(&stop);
        assert_eq!(value(&env, "LXC_NET_NS"), Some("/proc/7/fd/12"));
        assert_eq!(value(&env, "LXC_MNT_NS"), Some("/proc/7/fd/13"));
    }

    #[test]
    fn a_network_script_gets_its_interface() {
        let context = context("lxc.rootfs.path = /srv/web\n");
        let hook = Hook::Net(NetHook {
            index: 0,
            hook_type: "up",
            net_type: "veth",
            parent: Some("br0"),
            peer: Some("vethA"),
        });
        assert_eq!(hook.key(), "lxc.net.0.script.up");
        assert_eq!(
            context.arguments(&hook),
            ["web", "net", "up", "veth", "vethA"]
        );
        let env = context.environment(&hook);
        assert_eq!(value(&env, "LXC_HOOK_SECTION"), Some("net"));
        assert_eq!(value(&env, "LXC_NET_PARENT"), Some("br0"));
        assert_eq!(value(&env, "LXC_NET_PEER"), Some("vethA"));
    }

    #[test]
    fn a_hook_is_a_shell_command_line_with_lxcs_arguments_after_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let command = format!("echo \"one two\" >{}; echo", out.display());
        let context = context("lxc.rootfs.path = /srv/web\n");
        run(&[command], Hook::Lxc(HookPoint::PreStart), &context).expect("hook");
        assert_eq!(std::fs::read_to_string(&out).expect("out"), "one two\n");
        let failing = format!("echo why >&2; exit 3 #{}", out.display());
        let error = run(&[failing], Hook::Lxc(HookPoint::PreStart), &context)
            .expect_err("fails")
            .to_string();
        assert!(
            error.starts_with("lxc.hook.pre-start = echo why"),
            "{error}"
        );
        assert!(
            error.ends_with("exited with exit status: 3: why"),
            "{error}"
        );
    }
}
