//! `lxc.hook.*`: user scripts at LXC's moments, with LXC's environment. Hooks are the one
//! place rlxc runs other programs; everything else is syscalls.
//!
//! `lxc.hook.version = 0` (the default) passes `NAME SECTION TYPE` as arguments after the
//! hook's own words, as LXC does; `1` passes them only in the environment.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rlxc_config::spec::HookPoint;
use rlxc_config::ContainerSpec;

/// What every hook of one container gets in its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookContext {
    pub name: String,
    pub config_file: PathBuf,
    pub rootfs_path: String,
    pub console_log: Option<String>,
    pub version: u8,
    /// `LXC_PID`, once init exists.
    pub init_pid: Option<i32>,
    /// `LXC_TARGET` for stop hooks: `stop` or `reboot`.
    pub target: Option<&'static str>,
}

/// Why a hook failed; a failing hook before init runs aborts the start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    #[error("{key} = {command}: cannot run it: {source}")]
    Spawn {
        /// The config key: `lxc.hook.start`, `lxc.net.0.script.up`.
        key: String,
        command: String,
        source: std::io::Error,
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

impl HookContext {
    pub fn new(name: &str, config_file: &Path, spec: &ContainerSpec) -> HookContext {
        HookContext {
            name: name.to_string(),
            config_file: config_file.to_path_buf(),
            rootfs_path: spec.rootfs.path.clone().unwrap_or_default(),
            console_log: spec.console.logfile.clone(),
            version: u8::from(spec.hooks.version.unwrap_or(false)),
            init_pid: None,
            target: None,
        }
    }

    fn environment(&self, point: HookPoint) -> Vec<(String, String)> {
        let mut env = vec![
            ("LXC_NAME".into(), self.name.clone()),
            (
                "LXC_CONFIG_FILE".into(),
                self.config_file.display().to_string(),
            ),
            ("LXC_ROOTFS_PATH".into(), self.rootfs_path.clone()),
            ("LXC_ROOTFS_MOUNT".into(), self.rootfs_path.clone()),
            ("LXC_HOOK_TYPE".into(), point.name().to_string()),
            ("LXC_HOOK_SECTION".into(), "lxc".into()),
            ("LXC_HOOK_VERSION".into(), self.version.to_string()),
            ("LXC_CGNS_AWARE".into(), "1".into()),
        ];
        if let Some(log) = &self.console_log {
            env.push(("LXC_CONSOLE_LOGPATH".into(), log.clone()));
        }
        if let Some(pid) = self.init_pid {
            env.push(("LXC_PID".into(), pid.to_string()));
        }
        if let Some(target) = self.target {
            env.push(("LXC_TARGET".into(), target.into()));
        }
        env
    }
}

/// Runs every hook of `point` in order; the first failure stops the rest.
pub fn run(spec: &ContainerSpec, point: HookPoint, context: &HookContext) -> Result<(), HookError> {
    match spec.hooks.commands.get(&point) {
        Some(commands) => run_commands(commands, point, context),
        None => Ok(()),
    }
}

/// Runs `commands` as hooks of `point`, in order.
pub fn run_commands(
    commands: &[String],
    point: HookPoint,
    context: &HookContext,
) -> Result<(), HookError> {
    for command in commands {
        run_one(command, point, context)?;
    }
    Ok(())
}

fn run_one(command: &str, point: HookPoint, context: &HookContext) -> Result<(), HookError> {
    let args = [context.name.as_str(), "lxc", point.name()];
    let args: &[&str] = if context.version == 0 { &args } else { &[] };
    let key = format!("lxc.hook.{}", point.name());
    run_program(command, args, context.environment(point), key)
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

/// Runs a network script with LXC's environment (`LXC_HOOK_SECTION=net`, `LXC_NET_TYPE`,
/// `LXC_NET_PARENT`, `LXC_NET_PEER`); hook version 0 also passes LXC's arguments
/// `NAME net up|down TYPE [HOST-DEVICE]`.
pub fn run_net_script(
    command: &str,
    context: &HookContext,
    hook: &NetHook<'_>,
) -> Result<(), HookError> {
    let mut env: Vec<(String, String)> = context
        .environment(HookPoint::Start)
        .into_iter()
        .filter(|(k, _)| k != "LXC_HOOK_TYPE" && k != "LXC_HOOK_SECTION")
        .collect();
    env.push(("LXC_HOOK_TYPE".into(), hook.hook_type.into()));
    env.push(("LXC_HOOK_SECTION".into(), "net".into()));
    env.push(("LXC_NET_TYPE".into(), hook.net_type.into()));
    if let Some(parent) = hook.parent {
        env.push(("LXC_NET_PARENT".into(), parent.into()));
    }
    if let Some(peer) = hook.peer {
        env.push(("LXC_NET_PEER".into(), peer.into()));
    }
    let mut args = vec![context.name.as_str(), "net", hook.hook_type, hook.net_type];
    args.extend(hook.peer.or(hook.parent));
    let args: &[&str] = if context.version == 0 { &args } else { &[] };
    let key = format!("lxc.net.{}.script.{}", hook.index, hook.hook_type);
    run_program(command, args, env, key)
}

fn run_program(
    command: &str,
    args: &[&str],
    env: Vec<(String, String)>,
    key: String,
) -> Result<(), HookError> {
    let mut words = command.split_whitespace();
    let Some(program) = words.next() else {
        return Ok(());
    };
    let mut process = Command::new(program);
    process.args(words).args(args);
    let output = process
        .envs(env)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| HookError::Spawn {
            key: key.clone(),
            command: command.to_string(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    if text.trim().is_empty() {
        text = String::from_utf8_lossy(&output.stdout).into_owned();
    }
    Err(HookError::Failed {
        key,
        command: command.to_string(),
        status: output.status,
        output: text,
    })
}
