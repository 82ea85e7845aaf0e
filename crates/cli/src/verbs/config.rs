//! `rlxc config`: rlxc's own look at container configs (LXC's `lxc-config` is a different
//! tool, so there is no `lxc-config` link).
//!
//! `keys` prints the key reference (from the same table the parser uses), `check` reports
//! every warning and error of a config with its file and line, `show` prints the config as
//! rlxc understands it: today's key names, includes resolved, one canonical order.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rlxc_config::{load_file, LoadFailure, Loaded};

use crate::common::CommonOpts;

#[derive(Debug, clap::Subcommand)]
pub enum Args {
    /// List every config key rlxc knows, with its legacy spellings and a doc line
    Keys(KeysArgs),
    /// Check a config: -f FILE, or -n NAME for $lxcpath/NAME/config
    Check(Source),
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
    match args {
        Args::Keys(keys) => {
            let reference = if keys.markdown {
                rlxc_config::docs::reference_markdown()
            } else {
                rlxc_config::docs::reference_text()
            };
            print!("{reference}");
            Ok(ExitCode::SUCCESS)
        }
        Args::Check(source) => check(&source.path(common)?),
        Args::Show(show) => show_config(&show.source.path(common)?, show.json),
    }
}

/// Prints every warning and error; exit 1 when there is an error.
fn check(path: &std::path::Path) -> anyhow::Result<ExitCode> {
    match load_file(path, &[]) {
        Ok(Loaded { warnings, spec, .. }) => {
            // What only the start could tell otherwise: the profile file, notify keys.
            if let Err(error) = rlxc_runtime::seccomp::for_spec(&spec) {
                for warning in &warnings {
                    println!("warning: {warning}");
                }
                eprintln!("error: {error}");
                println!("{}: 1 error", path.display());
                return Ok(ExitCode::FAILURE);
            }
            let profile = profile_report(&spec);
            let mut warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
            warnings.extend(profile.warnings);
            // A warning, not an error: the config may be meant for a host that runs the LSM.
            let host_lsms = rlxc_runtime::lsm::HostLsms::probe(std::path::Path::new("/sys"));
            if let Err(error) = rlxc_runtime::lsm::plan(&spec, host_lsms) {
                warnings.push(format!("{error}; a start on this host fails"));
            }
            warnings.extend(
                rlxc_runtime::host_refusals(&spec)
                    .into_iter()
                    .map(|refusal| format!("{refusal}; a start on this host fails")),
            );
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
