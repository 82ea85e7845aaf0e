//! `rlxc unshare` / `lxc-unshare`: `lxc-unshare -s "NETWORK|PID|MOUNT" -M -- /bin/sh`, a
//! command in new namespaces. Its exit status is the command's (128 + a signal that killed
//! it); LXC's tool says only 0 or 1.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::common::CommonOpts;

/// Options of `lxc-unshare`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The namespaces, separated by |: MOUNT, PID, UTSNAME, IPC, USER, NETWORK, CGROUP, TIME
    #[arg(short = 's', long = "namespaces", value_name = "FLAGS")]
    pub namespaces: Option<String>,

    /// Run the command as this user (name or number); in a new USER namespace this uid is
    /// mapped to the caller's
    #[arg(short = 'u', long = "user", value_name = "USERID")]
    pub user: Option<String>,

    /// Set the hostname in the new UTSNAME namespace
    #[arg(short = 'H', long = "hostname", value_name = "HOSTNAME")]
    pub hostname: Option<String>,

    /// Move this interface into the new NETWORK namespace (repeatable)
    #[arg(short = 'i', long = "ifname", value_name = "IFNAME")]
    pub ifname: Vec<String>,

    /// Do not wait for the command to exit
    #[arg(short = 'd', long = "daemon")]
    pub daemon: bool,

    /// Mount /proc, /sys, /dev/shm and /dev/mqueue afresh in the new MOUNT namespace
    #[arg(short = 'M', long = "remount")]
    pub remount: bool,

    /// The command and its arguments
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    use rlxc_runtime::unshare;
    let namespaces = match &args.namespaces {
        Some(list) => unshare::parse_namespaces(list)?,
        None => Vec::new(),
    };
    let request = unshare::Unshare {
        namespaces,
        user: args.user.clone(),
        hostname: args.hostname.clone(),
        interfaces: args.ifname.clone(),
        daemonize: args.daemon,
        remount: args.remount,
        command: args.command.clone(),
    };
    let code = unshare::run(&request)?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
