//! `rlxc`: one binary for every verb, also callable as `lxc-<verb>` through a link.
//!
//! This is the only place where errors are printed: once, as `<program>: <message>: <cause>...`,
//! with exit status 1 (LXC's convention; verbs that need other codes return them).

mod arg_values;
mod common;
mod completions;
mod console_client;
mod dispatch;
mod logging;
mod manpages;
mod verbs;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{ArgMatches, FromArgMatches};

use crate::common::CommonOpts;
use crate::dispatch::Invocation;
use crate::verbs::Verb;

/// glibc's malloc, except in a monitor and its /proc view server from the server's fork on:
/// each allocates from a heap of its own so that neither copies the heap pages they share
/// (see `rlxc_procview::ServerHeap`).
#[global_allocator]
static ALLOCATOR: rlxc_procview::ServerHeap = rlxc_procview::ServerHeap;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let invocation = Invocation::from_argv0(argv.first().map(OsString::as_os_str));
    // Before any command is built: the lxcpath's default comes from the system config.
    common::set_flavor(match invocation {
        Invocation::Rlxc => rlxc_config::system::Flavor::Rlxc,
        _ => rlxc_config::system::Flavor::Lxc,
    });
    let parsed = match invocation {
        Invocation::Rlxc => dispatch::rlxc_command_for(&argv)
            .try_get_matches_from(&argv)
            .map(|mut matches| {
                let (name, sub) = matches
                    .remove_subcommand()
                    .expect("clap requires a subcommand");
                let verb = verbs::find(&name).expect("every subcommand comes from the verb table");
                ("rlxc".to_owned(), verb, sub)
            }),
        Invocation::LxcTool(verb) => dispatch::lxc_tool_command(verb)
            .try_get_matches_from(&argv)
            .map(|matches| (format!("lxc-{}", verb.name), verb, matches)),
        Invocation::UnknownLxcTool(program) => {
            let known: Vec<String> = verbs::lxc_tools()
                .map(|verb| format!("lxc-{}", verb.name))
                .collect();
            eprintln!(
                "rlxc: called as {program}, which rlxc does not provide; it knows: {}",
                known.join(", ")
            );
            return ExitCode::FAILURE;
        }
    };
    match parsed {
        Ok((program, verb, matches)) => run_verb(&program, verb, &matches),
        Err(err) => exit_after_clap(&err),
    }
}

fn run_verb(program: &str, verb: &Verb, matches: &ArgMatches) -> ExitCode {
    let result = CommonOpts::from_arg_matches(matches)
        .map_err(anyhow::Error::from)
        .and_then(|common| {
            // No -P and no RLXC_PATH: the lxcpath is the system config's, and a system config
            // that does not load is an error rather than a silent fall back to the default.
            if matches.value_source("lxcpath") == Some(clap::parser::ValueSource::DefaultValue) {
                common::system_config()?;
            }
            let command = match program {
                "rlxc" => format!("rlxc {}", verb.name),
                lxc_tool => lxc_tool.to_owned(),
            };
            logging::init(&common, &command)?;
            logging::log_debug!(
                "running {} with lxcpath {} and config {:?}",
                verb.name,
                common.lxcpath.display(),
                common.config_path().ok()
            );
            (verb.run)(matches)
        });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("{program}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout with status 0; usage errors to stderr with status 1, as in
/// LXC (clap's own 2 would read as lxc-stop's "was not running").
fn exit_after_clap(err: &clap::Error) -> ExitCode {
    // If even stderr is gone there is no one left to tell.
    let _ = err.print();
    if err.use_stderr() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
