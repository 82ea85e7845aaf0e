//! The monitor's log, resolved as `lxc-start` resolves it: the command's `-o FILE` and
//! `-l LEVEL` over `lxc.log.file` and `lxc.log.level`; ERROR by default; `lxc.log.syslog`
//! as well. Opened by the CLI before anything of the start exists, so a file that cannot be
//! opened fails the start with nothing to undo; installed by the monitor when it is forked.
//!
//! Where nothing names a file, the log goes where LXC puts it when given only `-l`:
//! `/var/log/lxc/NAME.log` for root's containers in the default lxcpath where that directory
//! exists, else `LXCPATH/NAME/NAME.log`. LXC writes no log at all then; rlxc does, because a
//! detached monitor has no other place to say that a stop hook or a reboot failed.

use std::path::{Path, PathBuf};

use crate::log::{self, LogLevel, Logger, Syslog};
use crate::paths::ContainerPaths;
use crate::unwritten::{check_room, LogKind, Recorder};

use super::launch::{Launch, LaunchError};

/// Who writes the monitor's lines.
const PROGRAM: &str = "rlxc-monitor";

/// The command's own `-o FILE`, `-l LEVEL` and `-q`, which the monitor's log follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogRequest {
    pub file: Option<PathBuf>,
    pub level: Option<LogLevel>,
    /// No copy of the errors on the terminal of a foreground start.
    pub quiet: bool,
}

/// The monitor's logger, opened and not yet installed.
#[derive(Debug)]
pub(super) struct MonitorLog {
    logger: Logger,
    /// What could not be set up but need not stop the start (syslog, the default file).
    notices: Vec<String>,
}

impl MonitorLog {
    /// Opens the log `launch` asks for; an unopenable file that the command or the config
    /// names fails the start.
    pub fn open(launch: &Launch) -> Result<MonitorLog, LaunchError> {
        let spec_log = &launch.spec.log;
        let level = launch
            .log
            .level
            .or(spec_log.level)
            .unwrap_or(LogLevel::Error);
        let mut logger = Logger::new(level, PROGRAM, Some(launch.paths.name.clone()));
        let mut notices = Vec::new();
        let named = match (&launch.log.file, &spec_log.file) {
            (Some(path), _) => Some(("-o", path.clone())),
            (None, Some(path)) => Some(("lxc.log.file =", PathBuf::from(path))),
            (None, None) => None,
        };
        match named {
            Some((origin, path)) => {
                let file = open_checked(&path).map_err(|reason| LaunchError::LogFile {
                    origin,
                    path: path.clone(),
                    reason,
                })?;
                logger = logger.with_file(file).with_recorder(Recorder::new(
                    &launch.paths,
                    LogKind::Monitor,
                    &path,
                ));
            }
            None => {
                let path = default_file(&launch.paths);
                match open_checked(&path) {
                    Ok(file) => {
                        logger = logger.with_file(file).with_recorder(Recorder::new(
                            &launch.paths,
                            LogKind::Monitor,
                            &path,
                        ))
                    }
                    Err(e) => notices.push(format!(
                        "no monitor log: {}: {e} (give -o FILE or lxc.log.file)",
                        path.display()
                    )),
                }
            }
        }
        if let Some(facility) = spec_log.syslog {
            match Syslog::connect(facility) {
                Ok(syslog) => logger = logger.with_syslog(syslog),
                Err(e) => notices.push(format!(
                    "lxc.log.syslog = {facility}: {}: {e}; not logging to syslog",
                    log::SYSLOG_SOCKET
                )),
            }
        }
        // Only the terminal of a foreground start sees it; LXC shows it errors only.
        if !launch.daemonize && !launch.log.quiet {
            logger = logger.with_stderr(LogLevel::Error);
        }
        Ok(MonitorLog { logger, notices })
    }

    /// Makes this the monitor's logger and logs what could not be set up, once; returns
    /// that, for the start's warnings.
    pub fn install(self) -> Vec<String> {
        self.logger.install();
        for notice in &self.notices {
            crate::log_warn!("{notice}");
        }
        self.notices
    }
}

/// Opens the log file and checks that it has room for lines: a log on a full filesystem
/// would otherwise stay empty without a word.
fn open_checked(path: &Path) -> std::io::Result<std::fs::File> {
    let file = log::open_file(path)?;
    check_room(&file)?;
    Ok(file)
}

/// LXC's log file for a container when only `-l` is given (`lxc_log_init`): root's
/// containers of the default lxcpath log to the system's log directory if it exists (LXC
/// does not make it), all others into their own directory.
fn default_file(paths: &ContainerPaths) -> PathBuf {
    const SYSTEM_LOG_DIRS: [(&str, &str); 2] = [
        ("/var/lib/lxc", "/var/log/lxc"),
        (crate::paths::DEFAULT_LXCPATH, "/var/log/rlxc"),
    ];
    let file_name = format!("{}.log", paths.name);
    if rustix::process::geteuid().is_root() {
        let system = SYSTEM_LOG_DIRS
            .iter()
            .find(|(lxcpath, dir)| paths.lxcpath == Path::new(lxcpath) && Path::new(dir).is_dir());
        if let Some((_, dir)) = system {
            return Path::new(dir).join(file_name);
        }
    }
    paths.dir().join(file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_is_in_the_containers_directory_elsewhere() {
        let paths = ContainerPaths::with_run_root(Path::new("/srv/lxc"), "web", Path::new("/run"));
        assert_eq!(default_file(&paths), Path::new("/srv/lxc/web/web.log"));
    }
}
