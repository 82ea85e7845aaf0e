//! `rlxc execute` / `lxc-execute`.

use std::process::ExitCode;

use crate::arg_values::{key_value, KeyValue};
use crate::common::CommonOpts;
use crate::verbs::start::ShareNamespaces;
use anyhow::{bail, Context};
use rlxc_runtime::monitor::{execute, InitExit, Launch, LaunchError};

/// Options of `lxc-execute`; `-f FILE` is `--rcfile` (a common option).
/// Its exit status will be the command's, as in LXC.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the container in the background
    #[arg(short = 'd', long)]
    pub daemon: bool,

    /// Set the config KEY to VAL, over the config file (repeatable)
    #[arg(short = 's', long = "define", value_name = "KEY=VAL", value_parser = key_value)]
    pub define: Vec<KeyValue>,

    /// Run COMMAND as this user id inside the container
    #[arg(short = 'u', long, value_name = "UID")]
    pub uid: Option<u32>,

    /// Run COMMAND as this group id inside the container
    #[arg(short = 'g', long, value_name = "GID")]
    pub gid: Option<u32>,

    #[command(flatten)]
    pub share: ShareNamespaces,

    /// The application to run (else lxc.execute.cmd)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    paths.check_socket()?;
    let operation = common.operation_lock(&paths, "rlxc execute")?;
    let config_path = common.config_path()?;
    if !config_path.exists() {
        bail!(
            "{} is not defined: no config at {}",
            paths.name,
            config_path.display()
        );
    }
    let mut defines: Vec<String> = args
        .define
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    if let Some(uid) = args.uid {
        defines.push(format!("lxc.init.uid={uid}"));
    }
    if let Some(gid) = args.gid {
        defines.push(format!("lxc.init.gid={gid}"));
    }
    defines.extend(args.share.defines());
    let loaded = rlxc_config::load_file(&config_path, &defines)?;
    let command = if args.command.is_empty() {
        match &loaded.spec.init.execute_cmd {
            Some(cmd) => rlxc_runtime::spawn::split_command(cmd)?,
            None => bail!("no command: give one after -- (or set lxc.execute.cmd)"),
        }
    } else {
        args.command.clone()
    };
    let request = Launch {
        paths: paths.clone(),
        config_path,
        spec: loaded.spec.clone(),
        command,
        daemonize: args.daemon,
        log: common.log_request(),
    };
    if args.daemon {
        return match rlxc_runtime::monitor::launch_command(&request, &operation) {
            Ok(launched) => {
                for warning in &launched.warnings {
                    eprintln!("warning: {warning}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(LaunchError::AlreadyRunning { name }) => bail!("{name} is already running"),
            Err(error) => {
                let context = super::start::failed_to_start(&paths.name, &error, &loaded);
                Err(error).context(context)
            }
        };
    }
    let rlxc_runtime::monitor::Executed {
        exit,
        warnings,
        unenforced,
    } = match execute(&request, operation) {
        Ok(done) => done,
        Err(LaunchError::AlreadyRunning { name }) => bail!("{name} is already running"),
        Err(error) => {
            let context = super::start::failed_to_start(&paths.name, &error, &loaded);
            return Err(error).context(context);
        }
    };
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    for unenforced in &unenforced {
        eprintln!(
            "warning: {}",
            super::start::at_its_line(unenforced, &loaded)
        );
    }
    // The command's own status; 128+N when a signal ended it (as a shell reports it).
    let code = match exit {
        InitExit::Exited(code) => code,
        InitExit::Signaled(signal) => 128 + signal,
    };
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
