//! Minimal entry point so `rlxc checkconfig` can be tried on this branch; the real verb
//! dispatch (argv[0] names, all verbs) replaces this file.

mod verbs;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "rlxc", version, about = "Linux containers, written in Rust")]
struct Cli {
    #[command(subcommand)]
    verb: Verb,
}

#[derive(Debug, Subcommand)]
enum Verb {
    Checkconfig(verbs::checkconfig::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.verb {
        Verb::Checkconfig(args) => verbs::checkconfig::run(args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("rlxc: {error:#}");
        ExitCode::FAILURE
    })
}
