//! `rlxc start` / `lxc-start`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use rlxc_runtime::monitor::control::{request, Request};
use rlxc_runtime::monitor::{launch, Launch, LaunchError};

use crate::arg_values::{key_value, KeyValue};
use crate::common::CommonOpts;
use crate::console_client::relay;

/// Options of `lxc-start`; `-f FILE` is `--rcfile` (a common option).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the container in the background (the default)
    #[arg(short = 'd', long, conflicts_with = "foreground")]
    pub daemon: bool,

    /// Stay in the foreground with the current tty as the container's console
    #[arg(short = 'F', long)]
    pub foreground: bool,

    /// Write the monitor's process id to FILE
    #[arg(short = 'p', long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,

    /// Relay the container's console to the host terminal FILE (lxc.console.path)
    #[arg(short = 'c', long, value_name = "FILE")]
    pub console: Option<PathBuf>,

    /// Log the console's output to FILE (lxc.console.logfile)
    #[arg(short = 'L', long = "console-log", value_name = "FILE")]
    pub console_log: Option<PathBuf>,

    /// Close inherited file descriptors instead of failing on them (implied by -d)
    #[arg(short = 'C', long = "close-all-fds")]
    pub close_all_fds: bool,

    /// Set the config KEY to VAL, over the config file (repeatable)
    #[arg(short = 's', long = "define", value_name = "KEY=VAL", value_parser = key_value)]
    pub define: Vec<KeyValue>,

    #[command(flatten)]
    pub share: ShareNamespaces,

    /// Run COMMAND instead of the container's init (lxc.init.cmd)
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// `--share-net|ipc|uts|pid NAME|PID`: join another container's (or process's) namespace,
/// as `lxc.namespace.share.NS` does (which they set). Shared with `execute`.
#[derive(Debug, clap::Args)]
pub struct ShareNamespaces {
    /// Share the network namespace of container NAME or process PID
    #[arg(long = "share-net", value_name = "NAME|PID")]
    pub net: Option<String>,

    /// Share the IPC namespace of container NAME or process PID
    #[arg(long = "share-ipc", value_name = "NAME|PID")]
    pub ipc: Option<String>,

    /// Share the UTS namespace of container NAME or process PID
    #[arg(long = "share-uts", value_name = "NAME|PID")]
    pub uts: Option<String>,

    /// Share the PID namespace of container NAME or process PID
    #[arg(long = "share-pid", value_name = "NAME|PID")]
    pub pid: Option<String>,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    paths.check_socket()?;
    // Before the config is looked at: a destroy that ran meanwhile has removed it.
    let operation = common.operation_lock(&paths, "rlxc start")?;
    let config_path = common.config_path()?;
    if !config_path.exists() {
        bail!(
            "{} is not defined: no config at {} (create it with `rlxc create -n {} -t busybox`, or give --rcfile FILE)",
            paths.name,
            config_path.display(),
            paths.name
        );
    }
    let loaded = rlxc_config::load_file(&config_path, &defines(args))?;
    let loaded_lines = &loaded;
    for warning in &loaded.warnings {
        crate::logging::log_warn!("{warning}");
    }
    let request_ = Launch {
        paths: paths.clone(),
        config_path,
        spec: loaded.spec.clone(),
        command: args.command.clone(),
        daemonize: !args.foreground,
        log: common.log_request(),
    };
    let launched = match launch(&request_, &operation) {
        Ok(launched) => {
            drop(operation);
            if let Some(cleared) = &launched.cleared {
                eprintln!("{}: {cleared}", paths.name);
            }
            for warning in &launched.warnings {
                eprintln!("warning: {warning}");
            }
            for unenforced in &launched.unenforced {
                eprintln!("warning: {}", at_its_line(unenforced, loaded_lines));
            }
            launched
        }
        Err(LaunchError::AlreadyRunning { name }) => {
            eprintln!("{name} is already running");
            return Ok(ExitCode::SUCCESS);
        }
        Err(error) => {
            let context = failed_to_start(&paths.name, &error, loaded_lines);
            return Err(error).context(context);
        }
    };
    if let Some(pidfile) = &args.pidfile {
        std::fs::write(pidfile, format!("{}\n", launched.monitor_pid))
            .with_context(|| format!("writing {}", pidfile.display()))?;
    }
    if args.foreground {
        // The console stays on this terminal until the container stops; without a pty
        // console (`lxc.console.path = none` or a host device) the foreground is the wait
        // for the stop, and the monitor is not asked for one.
        let pty_console = request_.spec.console.path.is_none();
        if let Some(Ok((_, stream))) =
            pty_console.then(|| request(&paths.socket(), &Request::Console { tty: 0 }))
        {
            relay(stream, 1).context("console")?;
        }
        launched.teardown.wait();
    }
    Ok(ExitCode::SUCCESS)
}

/// `NAME failed to start`, pointed at the config line the error is about: the key the
/// validation or the failed step names, the very line where the step knows its value (one
/// mount entry of several). Shared with `execute`.
pub(crate) fn failed_to_start(
    name: &str,
    error: &LaunchError,
    loaded: &rlxc_config::Loaded,
) -> String {
    let origin = error.config_key().and_then(|key| {
        error
            .config_value()
            .and_then(|value| loaded.origin_of(&key, value))
            .or_else(|| loaded.origin_of_key(&key))
    });
    match origin {
        Some(origin) => format!("{name} failed to start: {origin}"),
        None => format!("{name} failed to start"),
    }
}

/// `FILE:LINE: KEY = VALUE: why` for a config line the start runs without enforcing.
pub(crate) fn at_its_line(
    unenforced: &rlxc_runtime::unenforced::Unenforced,
    loaded: &rlxc_config::Loaded,
) -> String {
    let origin = loaded
        .origin_of(unenforced.key, &unenforced.value)
        .or_else(|| loaded.origin_of_key(unenforced.key));
    match origin {
        Some(origin) => format!("{origin}: {unenforced}"),
        None => unenforced.to_string(),
    }
}

/// `-s KEY=VAL`, plus LXC's shortcuts `-c` (console path) and `-L` (console log).
fn defines(args: &Args) -> Vec<String> {
    let mut defines: Vec<String> = args
        .define
        .iter()
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    if let Some(console) = &args.console {
        defines.push(format!("lxc.console.path={}", console.display()));
    }
    if let Some(log) = &args.console_log {
        defines.push(format!("lxc.console.logfile={}", log.display()));
    }
    defines.extend(args.share.defines());
    defines
}

impl ShareNamespaces {
    /// `lxc.namespace.share.NS=TARGET` for each option given.
    pub fn defines(&self) -> Vec<String> {
        [
            ("net", &self.net),
            ("ipc", &self.ipc),
            ("uts", &self.uts),
            ("pid", &self.pid),
        ]
        .into_iter()
        .filter_map(|(kind, target)| {
            Some(format!("lxc.namespace.share.{kind}={}", target.as_ref()?))
        })
        .collect()
    }
}
