//! Log set-up from the common options, as LXC does it: ERROR and worse to stderr by default,
//! `-l LEVEL` to change the level, `-o FILE` to log to a file instead, `-q` to keep stderr quiet.

use std::fs::OpenOptions;
use std::io::IsTerminal;
use std::sync::Mutex;

use anyhow::Context;

use crate::common::CommonOpts;

pub fn init(common: &CommonOpts) -> anyhow::Result<()> {
    let level = common.logpriority.tracing_level();
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);

    if let Some(path) = &common.logfile {
        // Appended, like LXC's log file, so a restart keeps the previous run's story.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open log file {}", path.display()))?;
        builder
            .with_ansi(false)
            .with_writer(Mutex::new(file))
            .init();
    } else if !common.quiet {
        // A terminal already has its own clock: no timestamps on stderr.
        builder
            .without_time()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init();
    }
    Ok(())
}
