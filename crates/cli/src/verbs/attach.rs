//! `rlxc attach` / `lxc-attach`. Its exit status is the command's (128+N if killed by signal
//! N), as in LXC; 127 when the command is not found in the container, 126 when it cannot run,
//! 1 for attach's own errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use rlxc_runtime::attach::{attach, AttachError, AttachOptions, EnvPolicy};
use rlxc_runtime::namespaces::Namespace;
use rlxc_runtime::state::StateFile;

use crate::arg_values::{key_value, or_list, KeyValue, Words};
use crate::common::CommonOpts;

const PRIVILEGES: &[&str] = &["CGROUP", "CAP", "LSM"];
const NAMESPACES: &[&str] = &["MOUNT", "PID", "UTSNAME", "IPC", "USER", "NETWORK"];

/// Options of `lxc-attach`; `-f FILE` is `--rcfile` (a common option).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep privileges: CGROUP, CAP and/or LSM joined by '|' (all when no value is given)
    #[arg(
        short = 'e',
        long = "elevated-privileges",
        value_name = "PRIVILEGES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "CGROUP|CAP|LSM",
        value_parser = privileges
    )]
    pub elevated_privileges: Option<Words>,

    /// Enter only these namespaces: MOUNT, PID, UTSNAME, IPC, USER, NETWORK joined by '|'
    /// (implies -e)
    #[arg(short = 's', long, value_name = "NAMESPACES", value_parser = namespaces)]
    pub namespaces: Option<Words>,

    /// With -s and without MOUNT: remount /proc and /sys for the entered namespaces
    #[arg(short = 'R', long = "remount-sys-proc", requires = "namespaces")]
    pub remount_sys_proc: bool,

    /// Start with an empty environment: only container=lxc, the --keep-var variables, the -v
    /// ones and a default PATH (added whenever the environment has none)
    #[arg(long = "clear-env", conflicts_with = "keep_env")]
    pub clear_env: bool,

    /// Keep the caller's environment (the default)
    #[arg(long = "keep-env")]
    pub keep_env: bool,

    /// Set VAR=VALUE in the command's environment (repeatable)
    #[arg(short = 'v', long = "set-var", value_name = "VAR=VALUE", value_parser = key_value)]
    pub set_var: Vec<KeyValue>,

    /// Keep VAR from the caller's environment with --clear-env (repeatable)
    #[arg(long = "keep-var", value_name = "VAR")]
    pub keep_var: Vec<String>,

    /// Run the command as this user id inside the container
    #[arg(short = 'u', long, value_name = "UID")]
    pub uid: Option<u32>,

    /// Run the command as this group id inside the container
    #[arg(short = 'g', long, value_name = "GID")]
    pub gid: Option<u32>,

    /// Run the command with this architecture's personality (default: the container's)
    #[arg(short = 'a', long, value_name = "ARCH")]
    pub arch: Option<String>,

    /// Log the command's pty output to FILE
    #[arg(short = 'L', long = "pty-log", value_name = "FILE")]
    pub pty_log: Option<PathBuf>,

    /// SELinux context to switch to
    #[arg(short = 'c', long, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// The command to run (default: the user's shell in the container)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

fn privileges(text: &str) -> Result<Words, String> {
    or_list(text, PRIVILEGES)
}

fn namespaces(text: &str) -> Result<Words, String> {
    or_list(text, NAMESPACES)
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    refuse_unsupported(args)?;
    let paths = common.container_paths()?;
    let (init_uid, init_gid) = init_ids(common, &paths);
    // -s implies -e (LXC): a partial attach keeps the caller's cgroup and capabilities.
    let elevated: Vec<String> = match (&args.namespaces, &args.elevated_privileges) {
        (Some(_), _) => PRIVILEGES.iter().map(|p| p.to_string()).collect(),
        (None, Some(words)) => words.clone(),
        (None, None) => Vec::new(),
    };
    let options = AttachOptions {
        command: args.command.clone(),
        env: EnvPolicy {
            clear: args.clear_env,
            keep_vars: args.keep_var.clone(),
            set_vars: args
                .set_var
                .iter()
                .map(|kv| (kv.key.clone(), kv.value.clone()))
                .collect(),
        },
        uid: args.uid.unwrap_or(init_uid),
        gid: args.gid.unwrap_or(init_gid),
        namespaces: args.namespaces.as_ref().map(|words| lxc_namespaces(words)),
        join_cgroups: !elevated.iter().any(|p| p == "CGROUP"),
        limit_capabilities: !elevated.iter().any(|p| p == "CAP"),
        personality: args
            .arch
            .as_deref()
            .map(|arch| rlxc_runtime::personality::parse(arch, "attach -a"))
            .transpose()?,
        pty_log: args.pty_log.clone(),
        // With the mount namespace entered, /proc and /sys are the container's already.
        remount_sys_proc: args.remount_sys_proc
            && args
                .namespaces
                .as_ref()
                .is_some_and(|words| !words.iter().any(|w| w == "MOUNT")),
    };
    if options.join_cgroups
        && rlxc_runtime::status::current(&paths).0 == rlxc_runtime::state::State::Frozen
    {
        // Joining a frozen cgroup freezes the command too, as with lxc-attach: say so, and
        // how to give up.
        eprintln!(
            "notice: {} is FROZEN: the command runs once it is thawed (rlxc unfreeze -n {}); \
             Ctrl-C or SIGTERM gives up",
            paths.name, paths.name
        );
    }
    match attach(&paths, &options) {
        Ok(exit) => Ok(ExitCode::from(exit.status())),
        // Said like a shell says it, with the shell's exit code (128+N for a signal).
        Err(error @ (AttachError::Command { .. } | AttachError::Interrupted { .. })) => {
            eprintln!("{error}");
            Ok(ExitCode::from(error.exit_code()))
        }
        Err(error) => Err(error.into()),
    }
}

/// Options LXC has that rlxc does not implement yet: refused rather than ignored.
fn refuse_unsupported(args: &Args) -> anyhow::Result<()> {
    let unsupported = [("-c/--context", args.context.is_some())];
    for (option, given) in unsupported {
        if given {
            bail!("attach {option} is not available yet in this rlxc build");
        }
    }
    Ok(())
}

/// `lxc.init.uid` / `lxc.init.gid` of the running container (`--rcfile` wins), the default
/// identity of the command as in LXC: as the state file records them (the config as started,
/// `-s` included); a state file of an older rlxc has none, and the config is read again.
/// Root when neither can be read.
fn init_ids(common: &CommonOpts, paths: &rlxc_runtime::paths::ContainerPaths) -> (u32, u32) {
    let state = StateFile::read(&paths.state_file()).ok().flatten();
    if common.rcfile.is_none() {
        if let Some(effective) = state.as_ref().and_then(|s| s.effective.as_ref()) {
            return (effective.init_uid, effective.init_gid);
        }
    }
    let config = common
        .rcfile
        .clone()
        .or_else(|| state.map(|state| state.config));
    let spec = config.and_then(|path| match rlxc_config::load_file(&path, &[]) {
        Ok(loaded) => Some(loaded.spec),
        Err(_) => {
            crate::logging::log_warn!(
                "cannot read the config {}; attaching as root",
                path.display()
            );
            None
        }
    });
    spec.map_or((0, 0), |spec| {
        (spec.init.uid.unwrap_or(0), spec.init.gid.unwrap_or(0))
    })
}

/// LXC's `-s` names as namespace kinds. The cgroup namespace has no `-s` name: a partial
/// attach does not enter it.
fn lxc_namespaces(words: &[String]) -> Vec<Namespace> {
    words
        .iter()
        .filter_map(|word| match word.as_str() {
            "MOUNT" => Some(Namespace::Mount),
            "PID" => Some(Namespace::Pid),
            "UTSNAME" => Some(Namespace::Uts),
            "IPC" => Some(Namespace::Ipc),
            "USER" => Some(Namespace::User),
            "NETWORK" => Some(Namespace::Net),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Args;
    use clap::FromArgMatches;

    fn parse(argv: &[&str]) -> Args {
        let mut matches = crate::dispatch::rlxc_command()
            .try_get_matches_from(argv)
            .expect("parses");
        let (_, attach) = matches.remove_subcommand().expect("a verb");
        Args::from_arg_matches(&attach).expect("builds")
    }

    #[test]
    fn command_takes_its_own_options_with_or_without_dashes() {
        let bare = parse(&["rlxc", "attach", "-n", "web", "ls", "-la", "-n"]);
        assert_eq!(bare.command, ["ls", "-la", "-n"]);
        let dashed = parse(&["rlxc", "attach", "-n", "web", "--", "--weird"]);
        assert_eq!(dashed.command, ["--weird"]);
    }

    #[test]
    fn lxc_namespace_names_map_to_kinds() {
        let kinds = super::lxc_namespaces(&["UTSNAME".into(), "NETWORK".into(), "MOUNT".into()]);
        assert_eq!(
            kinds,
            [
                super::Namespace::Uts,
                super::Namespace::Net,
                super::Namespace::Mount
            ]
        );
    }

    #[test]
    fn bare_elevated_privileges_means_all_of_them() {
        let all = parse(&["rlxc", "attach", "-n", "web", "-e"]);
        assert_eq!(
            all.elevated_privileges.expect("given"),
            ["CGROUP", "CAP", "LSM"]
        );
        let some = parse(&["rlxc", "attach", "-n", "web", "--elevated-privileges=cap"]);
        assert_eq!(some.elevated_privileges.expect("given"), ["CAP"]);
    }
}
