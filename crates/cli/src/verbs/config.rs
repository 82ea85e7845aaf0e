//! `rlxc config`: the system config, as LXC's `lxc-config` (`-l` lists its keys, `KEY` prints
//! one's value, and `lxc-config` is this verb's LXC name), and rlxc's own look at container
//! configs.
//!
//! `keys` prints the key reference (from the same table the parser uses), `check` reports
//! every warning and error of a config with its file and line, `show` prints the config as
//! rlxc understands it: today's key names, includes resolved, one canonical order.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rlxc_config::{load_file, LoadFailure, Loaded};

use rlxc_config::system;

use crate::common::{print_all, CommonOpts};

/// `rlxc config -l`, `rlxc config KEY` (LXC's `lxc-config`) or one of the subcommands.
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    arg_required_else_help = true,
    after_help = "The system config is $RLXC_CONF if set, else /etc/rlxc/rlxc.conf \
                  (/etc/lxc/lxc.conf when called as lxc-config): `lxc.KEY = VALUE` lines, LXC's \
                  lxc.system.conf(5) keys. -l lists them. The log level option is \
                  --logpriority here (-l is LXC's list)."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// List the system config's keys (LXC's `lxc-config -l`)
    #[arg(short = 'l', long = "list")]
    pub list: bool,
    /// Print the value of this system config key, e.g. lxc.lxcpath (LXC's `lxc-config KEY`)
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List every config key rlxc knows, with its legacy spellings and a doc line
    Keys(KeysArgs),
    /// Check a config as `start` would on this host: -f FILE, or -n NAME for $lxcpath/NAME/config
    Check(CheckArgs),
    /// Print a config as rlxc reads it (modern key names, includes resolved)
    Show(ShowArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// Print the Markdown reference (docs/config.md) instead of the terminal listing
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub source: Source,
    /// Set the config KEY to VAL, over the config file, as `start -s` would (repeatable)
    #[arg(short = 's', long = "define", value_name = "KEY=VAL", value_parser = crate::arg_values::key_value)]
    pub define: Vec<crate::arg_values::KeyValue>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    #[command(flatten)]
    pub source: Source,
    /// Print the typed spec as JSON instead of config lines
    #[arg(long)]
    pub json: bool,
}

/// Which config to read: `-f FILE`, else the common `-n NAME` (or `--rcfile`).
#[derive(Debug, clap::Args)]
pub struct Source {
    /// The config file to read (instead of -n NAME)
    #[arg(short = 'f', long, value_name = "FILE", conflicts_with = "name")]
    pub file: Option<PathBuf>,
}

impl Source {
    /// The file to read: `-f FILE`, else what the common options point at.
    pub fn path(&self, common: &CommonOpts) -> anyhow::Result<PathBuf> {
        match &self.file {
            Some(file) => Ok(file.clone()),
            None => common.config_path(),
        }
    }
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let command = match (&args.command, args.list, &args.key) {
        (Some(command), _, _) => command,
        // -l wins over a KEY, as in LXC.
        (None, true, _) => {
            let names: String = system::KEYS
                .iter()
                .map(|key| format!("{}\n", key.name))
                .collect();
            print_all(&names)?;
            return Ok(ExitCode::SUCCESS);
        }
        (None, false, Some(key)) => return print_system_key(key),
        (None, false, None) => anyhow::bail!("give -l, a system config KEY or a subcommand"),
    };
    match command {
        Command::Keys(keys) => {
            let reference = if keys.markdown {
                rlxc_config::docs::reference_markdown()
            } else {
                rlxc_config::docs::reference_text()
            };
            print!("{reference}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Check(args) => {
            let defines: Vec<String> = args
                .define
                .iter()
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect();
            check(&args.source.path(common)?, &defines, common)
        }
        Command::Show(show) => show_config(&show.source.path(common)?, show.json),
    }
}

/// `lxc-config KEY`, in its words: the value, `KEY is not set.`, or (status 1) `Unknown
/// configuration item: KEY`, all on stdout as LXC prints them.
fn print_system_key(name: &str) -> anyhow::Result<ExitCode> {
    if system::key(name).is_none() {
        print_all(&format!("Unknown configuration item: {name}\n"))?;
        return Ok(ExitCode::FAILURE);
    }
    let config = crate::common::system_config()?;
    let line = match config.get(name) {
        Some(value) => format!("{value}\n"),
        None => format!("{name} is not set.\n"),
    };
    print_all(&line)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints every warning and error; exit 1 when there is an error. After the load, the
/// start's own validation runs (`rlxc_runtime::monitor::check`, the very function `start`
/// runs before it makes anything, with this host's facts), so what `start` would refuse is
/// an error here too, pointed at its file and line.
fn check(
    path: &std::path::Path,
    defines: &[String],
    common: &CommonOpts,
) -> anyhow::Result<ExitCode> {
    match load_file(path, defines) {
        Ok(loaded) => {
            let checked = rlxc_runtime::monitor::check(&launch_for_check(path, common, &loaded)?);
            let unenforced = match checked {
                Ok(unenforced) => unenforced,
                Err(error) => {
                    for warning in &loaded.warnings {
                        println!("warning: {warning}");
                    }
                    let origin = error
                        .config_key()
                        .and_then(|key| loaded.origin_of_key(&key));
                    match origin {
                        Some(origin) => eprintln!("error: {origin}: {error:#}"),
                        None => eprintln!("error: {error:#}"),
                    }
                    println!(
                        "{}: 1 error (rlxc start refuses it on this host)",
                        path.display()
                    );
                    return Ok(ExitCode::FAILURE);
                }
            };
            // What start warns about on this host, as it says it.
            let mut warnings: Vec<String> =
                loaded.warnings.iter().map(ToString::to_string).collect();
            warnings.extend(
                unenforced
                    .iter()
                    .map(|unenforced| super::start::at_its_line(unenforced, &loaded)),
            );
            let Loaded { spec, .. } = loaded;
            let profile = profile_report(&spec);
            warnings.extend(profile.warnings);
            for warning in &warnings {
                println!("warning: {warning}");
            }
            let mut findings: Vec<(String, String)> = rlxc_config::audit::audit(&spec)
                .into_iter()
                .map(|f| (f.setting, f.risk.to_string()))
                .collect();
            findings.extend(profile.gap);
            if !findings.is_empty() {
                println!("security:");
                for (setting, risk) in &findings {
                    println!("  {setting}: {risk}");
                }
            }
            println!(
                "{}: ok ({} warning{})",
                path.display(),
                warnings.len(),
                if warnings.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            report_failure(&failure);
            println!(
                "{}: {} error{}",
                path.display(),
                failure.errors.len(),
                if failure.errors.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The start `config check` validates: the container `-n` names (or the one whose directory
/// holds the file, `LXCPATH/NAME/config`), in the common lxcpath.
fn launch_for_check(
    path: &std::path::Path,
    common: &CommonOpts,
    loaded: &Loaded,
) -> anyhow::Result<rlxc_runtime::monitor::Launch> {
    let name = match &common.name {
        Some(_) => common.require_name()?.to_string(),
        None => path
            .parent()
            .filter(|_| path.file_name() == Some(std::ffi::OsStr::new("config")))
            .and_then(|dir| dir.file_name())
            .or_else(|| path.file_stem())
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "check".into()),
    };
    let lxcpath = std::path::absolute(&common.lxcpath).unwrap_or_else(|_| common.lxcpath.clone());
    Ok(rlxc_runtime::monitor::Launch {
        paths: rlxc_runtime::paths::ContainerPaths::new(&lxcpath, &name),
        config_path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        spec: loaded.spec.clone(),
        command: Vec::new(),
        daemonize: true,
        // The check opens no log file (it would make one); a start does.
        log: rlxc_runtime::monitor::LogRequest::default(),
    })
}

/// What `rlxc config check` says about a seccomp profile file beyond its errors.
#[derive(Default)]
struct ProfileReport {
    /// Rules naming calls this host does not know (skipped in the filter).
    warnings: Vec<String>,
    /// A profile replaces rlxc's default policy: what that policy denies and it lets through.
    gap: Option<(String, String)>,
}

fn profile_report(spec: &rlxc_config::ContainerSpec) -> ProfileReport {
    let Some(path) = spec
        .security
        .seccomp_profile
        .as_deref()
        .filter(|p| !p.is_empty())
    else {
        return ProfileReport::default();
    };
    let Ok((_, profile)) = rlxc_runtime::seccomp::compile_file(std::path::Path::new(path)) else {
        return ProfileReport::default();
    };
    let warnings = rlxc_runtime::seccomp::unknown_names(&profile)
        .into_iter()
        .map(|(line, name)| {
            format!(
                "{path}:{line}: {name}: no syscall of that name on this host; the rule is skipped"
            )
        })
        .collect();
    let gaps = rlxc_runtime::seccomp::gaps(&profile);
    let gap = (!gaps.is_empty()).then(|| {
        (
            format!("lxc.seccomp.profile = {path}"),
            format!(
                "replaces rlxc's default seccomp policy and allows what it denies: {}",
                gaps.join(", ")
            ),
        )
    });
    ProfileReport { warnings, gap }
}

/// The effective config on stdout; warnings and errors on stderr.
fn show_config(path: &std::path::Path, json: bool) -> anyhow::Result<ExitCode> {
    let loaded = match load_file(path, &[]) {
        Ok(loaded) => loaded,
        Err(failure) => {
            report_failure(&failure);
            return Ok(ExitCode::FAILURE);
        }
    };
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    if json {
        let text = serde_json::to_string_pretty(&loaded.spec).context("serialising the spec")?;
        println!("{text}");
    } else {
        print!("{}", rlxc_config::render::render(&loaded.spec));
    }
    Ok(ExitCode::SUCCESS)
}

fn report_failure(failure: &LoadFailure) {
    for warning in &failure.warnings {
        eprintln!("warning: {warning}");
    }
    for error in &failure.errors {
        eprintln!("error: {error}");
    }
}
