//! `rlxc usernsexec` / `lxc-usernsexec`: `lxc-usernsexec -m b:0:1000:1 -m b:1:190000:1 --
//! chown 1:1 FILE`, a command as root in a new user namespace. Without -m, the caller's
//! /etc/subuid and /etc/subgid ranges are mapped to 0; without a command, /bin/sh.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::common::CommonOpts;

/// Options of `lxc-usernsexec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A map, [u|g|b]:ns_id:host_id:range (repeatable; b is both a uid and a gid map)
    #[arg(short = 'm', value_name = "UID-MAP")]
    pub map: Vec<String>,

    /// Also map the caller's own uid and gid (just above the range that maps 0)
    #[arg(short = 's')]
    pub map_self: bool,

    /// The command and its arguments (default /bin/sh)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

pub fn run(args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    use rlxc_runtime::usernsexec;
    let mut given = Vec::new();
    for text in &args.map {
        given.extend(usernsexec::parse_map(text)?);
    }
    let maps = usernsexec::maps_for(given, args.map_self)?;
    let code = usernsexec::run(&maps, &args.command)?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
