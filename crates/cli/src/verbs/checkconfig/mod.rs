//! `rlxc checkconfig`: which kernel features containers need, as the kernel config says and
//! as the running system shows.
//!
//! The recipe: find the config (`$CONFIG`, then the fallbacks, see [`source`]), probe the
//! running system (namespaces, cgroup mounts, link kinds, see [`probes`]), then print one
//! row per feature with both answers side by side. Missing features never fail the command;
//! only a config that cannot be found does (exit 1), as with `lxc-checkconfig`.

mod features;
mod kernel_config;
mod output;
mod probes;
mod source;
mod verdict;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;

use features::{Feature, Need, Section};
use kernel_config::KernelConfig;
use output::Printer;
use probes::LiveFacts;
use source::{ConfigSearch, FoundConfig, Tried};

/// Check the kernel for the features containers need.
#[derive(Debug, Default, clap::Args)]
#[command(after_help = "\
Environment: CONFIG names a kernel config to check (plain or gzip) instead of the running \
kernel's, read before the fallbacks. RLXC_KERNEL_CONFIG_FALLBACKS: ':'-separated paths tried \
after CONFIG (default: /proc/config.gz:/boot/config-$(uname -r):/lib/modules/$(uname \
-r)/build/.config); empty for none. NO_COLOR set: no colour.

The 'this system' column always describes the running kernel, whatever CONFIG says.
Exit status: 0 when a config was found (even with features missing), 1 when none was.")]
pub struct Args {
    /// Print one JSON object instead of the report (rlxc only)
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args, _common: &crate::common::CommonOpts) -> anyhow::Result<ExitCode> {
    let release = source::running_release();
    let found = ConfigSearch::from_environment(&release).find();
    let facts = LiveFacts::gather(release);
    let config = found
        .as_ref()
        .ok()
        .map(|found| KernelConfig::parse(&found.text));
    // Explaining a live failure with the config ("module, not loadable") only makes sense
    // when the config describes the kernel that is running.
    let config_for_live = match (&found, &config) {
        (Ok(found), Some(config)) if describes_running_kernel(found, config, &facts.release) => {
            Some(config)
        }
        _ => None,
    };

    if args.json {
        let report = json_report(&found, config.as_ref(), config_for_live, &facts);
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::from(u8::from(found.is_err())));
    }
    let stdout = io::stdout().lock();
    let colour = output::colour_wanted(
        stdout.is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let mut printer = Printer::new(stdout, colour);
    let printed = print_report(
        &mut printer,
        &found,
        config.as_ref(),
        config_for_live,
        &facts,
    );
    drop(printer);
    match printed {
        // `rlxc checkconfig | head` is not an error worth a message.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.context("writing the report")?,
    }
    match found {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(tried) => {
            report_not_found(&tried).context("writing to stderr")?;
            Ok(ExitCode::from(1))
        }
    }
}

fn print_report<W: Write>(
    printer: &mut Printer<W>,
    found: &Result<FoundConfig, Vec<Tried>>,
    config: Option<&KernelConfig>,
    config_for_live: Option<&KernelConfig>,
    facts: &LiveFacts,
) -> io::Result<()> {
    print_intro(printer, found, config, facts)?;
    for section in Section::ALL {
        printer.section(section.title())?;
        for feature in features::all().iter().filter(|f| f.section == section) {
            print_feature(printer, feature, config, config_for_live, facts)?;
        }
        if section == Section::ControlGroups {
            print_cgroup_mounts(printer, facts)?;
        }
    }
    if found.is_ok() {
        printer.line("")?;
        printer.line("Note: to check a kernel before booting it, point CONFIG at its config:")?;
        printer.line("  CONFIG=/path/to/config rlxc checkconfig")?;
    }
    Ok(())
}

/// The report as data: the config read, and per section each feature's verdicts (the
/// config's and this system's, with their tone: good, warn, bad, quiet).
fn json_report(
    found: &Result<FoundConfig, Vec<Tried>>,
    config: Option<&KernelConfig>,
    config_for_live: Option<&KernelConfig>,
    facts: &LiveFacts,
) -> serde_json::Value {
    let cell = |cell: &verdict::Cell| {
        let tone = match cell.tone {
            verdict::Tone::Good => "good",
            verdict::Tone::Warn => "warn",
            verdict::Tone::Bad => "bad",
            verdict::Tone::Quiet => "quiet",
        };
        serde_json::json!({"text": cell.text, "tone": tone})
    };
    let sections: Vec<serde_json::Value> = Section::ALL
        .iter()
        .map(|section| {
            let features: Vec<serde_json::Value> = features::all()
                .iter()
                .filter(|f| f.section == *section)
                .filter_map(|feature| {
                    let config_cell = verdict::config_cell(feature, config)?;
                    let state = config_for_live
                        .and_then(|config| verdict::main_option_state(feature, config));
                    let live_cell = verdict::live_cell(feature, state, facts);
                    Some(serde_json::json!({
                        "feature": feature.label,
                        "required": feature.need == Need::Required,
                        "config": cell(&config_cell),
                        "this_system": cell(&live_cell),
                    }))
                })
                .collect();
            serde_json::json!({"section": section.title(), "features": features})
        })
        .collect();
    serde_json::json!({
        "release": facts.release,
        "config": found.as_ref().ok().map(|found| found.path.display().to_string()),
        "sections": sections,
    })
}

fn describes_running_kernel(found: &FoundConfig, config: &KernelConfig, release: &str) -> bool {
    if !found.explicit {
        return true;
    }
    config.version.is_some_and(|version| {
        release.starts_with(&format!("{}.{}.", version.major, version.minor))
            || release == version.to_string()
    })
}

fn print_intro<W: Write>(
    printer: &mut Printer<W>,
    found: &Result<FoundConfig, Vec<Tried>>,
    config: Option<&KernelConfig>,
    facts: &LiveFacts,
) -> io::Result<()> {
    printer.line(&format!("rlxc {} checkconfig", env!("CARGO_PKG_VERSION")))?;
    match found {
        Ok(found) => {
            if let Some(tried) = found.skipped.iter().find(|tried| tried.explicit) {
                printer.line(&format!(
                    "CONFIG={}: {}; using a fallback instead",
                    tried.path.display(),
                    tried.error
                ))?;
            }
            let mut described = vec![];
            if found.gzipped {
                described.push("gzip".to_owned());
            }
            if let Some(version) = config.and_then(|config| config.version) {
                described.push(format!("Linux {version}"));
            }
            let described = if described.is_empty() {
                String::new()
            } else {
                format!(" ({})", described.join(", "))
            };
            printer.line(&format!(
                "Kernel configuration found at {}{described}",
                found.path.display()
            ))?;
        }
        Err(_) => printer.line("Kernel configuration: not found (live checks only)")?,
    }
    printer.line(&format!("Running kernel: {}", facts.release))?;
    if !facts.is_root {
        printer.line(
            "Not running as root: the namespace and link checks need CAP_SYS_ADMIN and \
             CAP_NET_ADMIN, so EPERM below may only mean that.",
        )?;
    }
    printer.line("")?;
    printer.column_titles()
}

fn print_feature<W: Write>(
    printer: &mut Printer<W>,
    feature: &Feature,
    config: Option<&KernelConfig>,
    config_for_live: Option<&KernelConfig>,
    facts: &LiveFacts,
) -> io::Result<()> {
    let Some(config_cell) = verdict::config_cell(feature, config) else {
        return Ok(());
    };
    let state = config_for_live.and_then(|config| verdict::main_option_state(feature, config));
    let live_cell = verdict::live_cell(feature, state, facts);
    let need = match feature.need {
        Need::Required => "required",
        Need::Optional => "optional",
    };
    printer.row(feature.label, need, &config_cell, &live_cell)
}

fn print_cgroup_mounts<W: Write>(printer: &mut Printer<W>, facts: &LiveFacts) -> io::Result<()> {
    let Ok(layout) = &facts.cgroups else {
        return Ok(());
    };
    if !layout.v1.is_empty() {
        printer.line("  Cgroup v1 mount points:")?;
        for hierarchy in &layout.v1 {
            printer.line(&format!(
                "   - {} ({})",
                hierarchy.mount_point.display(),
                hierarchy.controllers.join(",")
            ))?;
        }
    }
    if let Some(v2) = &layout.v2 {
        printer.line("  Cgroup v2 mount point:")?;
        let controllers = if v2.controllers.is_empty() {
            "no controllers".to_owned()
        } else {
            format!("controllers: {}", v2.controllers.join(" "))
        };
        printer.line(&format!(
            "   - {} ({controllers})",
            v2.mount_point.display()
        ))?;
    }
    Ok(())
}

fn report_not_found(tried: &[Tried]) -> io::Result<()> {
    let mut stderr = io::stderr().lock();
    writeln!(stderr)?;
    writeln!(
        stderr,
        "rlxc checkconfig: unable to find the kernel configuration"
    )?;
    for tried in tried {
        let how = if tried.explicit { "CONFIG=" } else { "" };
        writeln!(
            stderr,
            "  tried {how}{}: {}",
            tried.path.display(),
            tried.error
        )?;
    }
    if tried.is_empty() {
        writeln!(
            stderr,
            "  (CONFIG is unset and there are no fallbacks to try)"
        )?;
    }
    writeln!(
        stderr,
        "hint: the running kernel offers /proc/config.gz when built with CONFIG_IKCONFIG_PROC;"
    )?;
    writeln!(
        stderr,
        "      or name a config file: CONFIG=/path/to/config rlxc checkconfig"
    )
}
