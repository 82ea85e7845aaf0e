//! Log set-up from the common options, as LXC does it: ERROR and worse to stderr by default,
//! `-l LEVEL` to change the level, `-o FILE` to log to a file instead, `-q` to keep stderr quiet.
//! The writer is the runtime's ([`rlxc_runtime::log`]), which a container's monitor uses too.

use anyhow::Context;
use rlxc_runtime::log::{self, LogLevel, Logger};

use crate::common::CommonOpts;

/// `program` names the command in the file's lines: `rlxc start`, `lxc-stop`.
pub fn init(common: &CommonOpts, program: &str) -> anyhow::Result<()> {
    let threshold = common.logpriority.unwrap_or(LogLevel::Error);
    let logger = Logger::new(threshold, program, common.name.clone());
    let logger = match &common.logfile {
        Some(path) => logger.with_file(
            log::open_file(path)
                .with_context(|| format!("cannot open log file {}", path.display()))?,
        ),
        None if common.quiet => return Ok(()),
        None => logger.with_stderr(threshold),
    };
    logger.install();
    Ok(())
}

pub(crate) use rlxc_runtime::{log_debug, log_warn};
