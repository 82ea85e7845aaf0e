//! `rlxc cgroup` / `lxc-cgroup`: `lxc-cgroup -n web memory.max 1G`. Either spelling works on
//! any host: a v1 key where the controller is on cgroup2 (or the other way round) is
//! translated, with a notice on stderr saying to what.

use std::process::ExitCode;

use crate::common::CommonOpts;

/// Options of `lxc-cgroup`: a cgroup file, and the value to write (else it is printed).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cgroup file, e.g. memory.max or cpuset.cpus
    #[arg(value_name = "KEY")]
    pub key: String,

    /// Value to write; without it the current value is printed
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,

    /// Print the value read as one JSON object (rlxc only)
    #[arg(long, conflicts_with = "value")]
    pub json: bool,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    let notice = match &args.value {
        Some(value) => rlxc_runtime::resources::set(&paths, &args.key, value)?,
        None => {
            let (value, notice) = rlxc_runtime::resources::get(&paths, &args.key)?;
            if args.json {
                let object = serde_json::json!({
                    "name": paths.name,
                    "key": args.key,
                    "value": value.trim_end_matches('\n'),
                    "notice": notice,
                });
                println!("{object}");
                return Ok(ExitCode::SUCCESS);
            }
            print!("{value}");
            if !value.ends_with('\n') {
                println!();
            }
            notice
        }
    };
    if let Some(notice) = notice {
        eprintln!("notice: {notice}");
    }
    Ok(ExitCode::SUCCESS)
}
