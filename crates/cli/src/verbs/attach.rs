//! `rlxc attach` / `lxc-attach`. Its exit status will be the command's (128+N if killed by
//! signal N), as in LXC.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::arg_values::{key_value, or_list, KeyValue, Words};
use crate::common::CommonOpts;
use crate::verbs::not_available;

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

    /// Start with an empty environment (only container=lxc and the --keep-var variables)
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

    /// Run the command with this architecture's personality
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

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("attach")
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
