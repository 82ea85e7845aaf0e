//! Options every verb takes, named as in LXC's tools (`-n`, `-P`, `-o`, `-l`, `-q`, `--rcfile`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Context};

/// Where containers live when neither `-P` nor `RLXC_PATH` says otherwise.
/// Not LXC's `/var/lib/lxc`, so rlxc never touches containers that LXC manages.
pub const DEFAULT_LXCPATH: &str = "/var/lib/rlxc";

/// The common options, flattened into every verb.
///
/// They are `global` so that a verb with its own subcommands (`rlxc config check -n web`)
/// accepts them after the subcommand too.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Common options")]
pub struct CommonOpts {
    /// Name of the container
    #[arg(short = 'n', long, value_name = "NAME", global = true)]
    pub name: Option<String>,

    /// Directory that holds the containers
    #[arg(
        short = 'P',
        long,
        value_name = "PATH",
        env = "RLXC_PATH",
        default_value = DEFAULT_LXCPATH,
        global = true
    )]
    pub lxcpath: PathBuf,

    /// Write the log to FILE instead of stderr
    #[arg(short = 'o', long, value_name = "FILE", global = true)]
    pub logfile: Option<PathBuf>,

    /// Log level: TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT, FATAL (or 0..8)
    #[arg(
        short = 'l',
        long,
        value_name = "LEVEL",
        default_value = "ERROR",
        global = true
    )]
    pub logpriority: LogPriority,

    /// Do not log to stderr
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// Load this configuration file instead of $lxcpath/$name/config
    #[arg(long, value_name = "FILE", global = true)]
    pub rcfile: Option<PathBuf>,
}

impl CommonOpts {
    /// The container's name from `-n`, or an error that says how to give one.
    pub fn require_name(&self) -> anyhow::Result<&str> {
        let Some(name) = self.name.as_deref() else {
            bail!("no container named: use -n NAME");
        };
        // The name becomes a path component below lxcpath: refuse anything that would leave it.
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            bail!(
                "invalid container name {name:?}: it must not be empty, '.', '..' or contain '/'"
            );
        }
        Ok(name)
    }

    /// `$lxcpath/$name`, the container's own directory.
    pub fn container_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(self.lxcpath.join(self.require_name()?))
    }

    /// The configuration file to load: `--rcfile` wins, else `$lxcpath/$name/config`.
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        // Absolute: the path is recorded in the state file and read again from elsewhere.
        if let Some(rcfile) = &self.rcfile {
            return Ok(std::path::absolute(rcfile).unwrap_or_else(|_| rcfile.clone()));
        }
        let dir = self
            .container_dir()
            .context("cannot tell which configuration to load (give -n NAME or --rcfile FILE)")?;
        let config = dir.join("config");
        Ok(std::path::absolute(&config).unwrap_or(config))
    }

    /// The container's places on disk (its directory, run directory, socket, state file).
    pub fn container_paths(&self) -> anyhow::Result<rlxc_runtime::paths::ContainerPaths> {
        // The run directory's name depends on the lxcpath: `-P lxc` and `-P /abs/lxc` must
        // find the same container.
        let lxcpath = std::fs::canonicalize(&self.lxcpath)
            .or_else(|_| std::path::absolute(&self.lxcpath))
            .with_context(|| format!("lxcpath {}", self.lxcpath.display()))?;
        Ok(rlxc_runtime::paths::ContainerPaths::new(
            &lxcpath,
            self.require_name()?,
        ))
    }
}

/// LXC's log priorities, in LXC's numbering (TRACE = 0 ... FATAL = 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogPriority {
    Trace,
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Crit,
    Alert,
    Fatal,
}

impl LogPriority {
    const ALL: [LogPriority; 9] = [
        Self::Trace,
        Self::Debug,
        Self::Info,
        Self::Notice,
        Self::Warn,
        Self::Error,
        Self::Crit,
        Self::Alert,
        Self::Fatal,
    ];

    pub fn lxc_name(self) -> &'static str {
        match self {
            Self::Trace => "TRACE",
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Notice => "NOTICE",
            Self::Warn => "WARN",
            Self::Error => "ERROR",
            Self::Crit => "CRIT",
            Self::Alert => "ALERT",
            Self::Fatal => "FATAL",
        }
    }
}

impl FromStr for LogPriority {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(number) = text.parse::<usize>() {
            return Self::ALL
                .get(number)
                .copied()
                .ok_or_else(|| format!("log priority {number} is out of range 0..8"));
        }
        Self::ALL
            .into_iter()
            .find(|level| level.lxc_name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|l| l.lxc_name()).collect();
                format!(
                    "unknown log priority {text:?}; use one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for LogPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lxc_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn parse(argv: &[&str]) -> CommonOpts {
        let cmd = CommonOpts::augment_args(Command::new("verb"));
        let matches = cmd.try_get_matches_from(argv).expect("arguments parse");
        CommonOpts::from_arg_matches(&matches).expect("common options build")
    }

    // One test for everything that reads RLXC_PATH, so no other test races on the variable.
    #[test]
    fn lxcpath_comes_from_flag_then_env_then_default() {
        std::env::remove_var("RLXC_PATH");
        let plain = parse(&["verb", "-n", "web"]);
        assert_eq!(plain.lxcpath, PathBuf::from(DEFAULT_LXCPATH));
        assert_eq!(
            plain.config_path().expect("path"),
            PathBuf::from("/var/lib/rlxc/web/config")
        );

        std::env::set_var("RLXC_PATH", "/srv/from-env");
        let from_env = parse(&["verb", "-n", "web"]);
        assert_eq!(
            from_env.container_dir().expect("dir"),
            PathBuf::from("/srv/from-env/web")
        );
        let flag_wins = parse(&["verb", "-n", "web", "-P", "/srv/from-flag"]);
        assert_eq!(
            flag_wins.config_path().expect("path"),
            PathBuf::from("/srv/from-flag/web/config")
        );
        std::env::remove_var("RLXC_PATH");
    }

    #[test]
    fn rcfile_wins_over_lxcpath_and_needs_no_name() {
        let opts = parse(&["verb", "-P", "/srv", "--rcfile", "/etc/web.conf"]);
        assert_eq!(
            opts.config_path().expect("path"),
            PathBuf::from("/etc/web.conf")
        );
    }

    #[test]
    fn config_path_without_name_or_rcfile_says_what_to_give() {
        let err = parse(&["verb"]).config_path().expect_err("no name");
        assert!(format!("{err:#}").contains("-n NAME"), "{err:#}");
    }

    #[test]
    fn names_that_leave_lxcpath_are_refused() {
        for bad in ["..", ".", "a/b", ""] {
            assert!(
                parse(&["verb", "-n", bad]).container_dir().is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn log_priority_takes_names_any_case_and_numbers() {
        assert_eq!("trace".parse(), Ok(LogPriority::Trace));
        assert_eq!("Notice".parse(), Ok(LogPriority::Notice));
        assert_eq!("8".parse(), Ok(LogPriority::Fatal));
        assert_eq!("0".parse(), Ok(LogPriority::Trace));
        assert!("9".parse::<LogPriority>().is_err());
        assert!("verbose".parse::<LogPriority>().is_err());
        assert_eq!(parse(&["verb"]).logpriority, LogPriority::Error);
        assert_eq!(
            parse(&["verb", "-l", "debug"]).logpriority,
            LogPriority::Debug
        );
    }
}
