//! Options every verb takes, named as in LXC's tools (`-n`, `-P`, `-o`, `-l`, `-q`, `--rcfile`).

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{bail, Context};
use rlxc_config::system::{self, Flavor, SystemConfig, SystemConfigError};
use rlxc_runtime::log::LogLevel;

/// Where containers live when neither `-P`, `RLXC_PATH` nor the system config says otherwise
/// and rlxc is called by its own name. Not LXC's `/var/lib/lxc`, so `rlxc` never touches
/// containers that LXC manages; called as `lxc-VERB`, rlxc looks where LXC would.
pub const DEFAULT_LXCPATH: &str = system::RLXC_DEFAULT_LXCPATH;

/// LXC's default lxcpath.
#[cfg(test)]
pub const LXC_DEFAULT_LXCPATH: &str = system::LXC_DEFAULT_LXCPATH;

/// Writes a verb's whole output to stdout; a reader that went away (`rlxc ls | head`) is not
/// an error.
pub fn print_all(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

static FLAVOR: OnceLock<Flavor> = OnceLock::new();
static SYSTEM_CONFIG: OnceLock<Result<SystemConfig, SystemConfigError>> = OnceLock::new();

/// Whose system config this process reads: set once by `main` from the name it was called
/// by, before any command is built (unset, as in unit tests: rlxc's).
/// Rows under a header in left-aligned columns, one space apart, no trailing blanks.
pub fn columns<const N: usize>(header: &[String; N], rows: &[[String; N]]) -> String {
    let mut widths = header.clone().map(|h| h.len());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        text.push_str(cells.join(" ").trim_end());
        text.push('\n');
    }
    text
}

pub fn set_flavor(flavor: Flavor) {
    // A second call (none is made) would change nothing already read.
    let _ = FLAVOR.set(flavor);
}

fn flavor() -> Flavor {
    FLAVOR.get().copied().unwrap_or(Flavor::Rlxc)
}

/// Whether this is rlxc or an `lxc-VERB` link (whose system config and lxcpath are LXC's).
pub fn current_flavor() -> Flavor {
    flavor()
}

/// The system config (`RLXC_CONF`, else `/etc/rlxc/rlxc.conf`, or LXC's `/etc/lxc/lxc.conf`
/// when called as `lxc-VERB`), read once. An error is the caller's to report, only where a
/// value of it is needed.
pub fn system_config() -> anyhow::Result<&'static SystemConfig> {
    SYSTEM_CONFIG
        .get_or_init(|| {
            let flavor = flavor();
            SystemConfig::load(&flavor.path(std::env::var_os(system::CONF_ENV)), flavor)
        })
        .as_ref()
        .map_err(|error| anyhow::anyhow!("{error}"))
}

/// The lxcpath when neither `-P` nor `RLXC_PATH` gives one: the system config's
/// `lxc.lxcpath`. A system config that does not load gives the flavour's default here, and
/// `main` reports it before a verb that uses this default runs.
pub fn default_lxcpath() -> String {
    match system_config() {
        Ok(config) => config.lxcpath().to_string_lossy().into_owned(),
        Err(_) => SystemConfig::defaults(PathBuf::new(), flavor())
            .lxcpath()
            .to_string_lossy()
            .into_owned(),
    }
}

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

    /// Directory that holds the containers (default: lxc.lxcpath of the system config,
    /// $RLXC_CONF or /etc/rlxc/rlxc.conf, else /var/lib/rlxc)
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

    /// Log level: TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT, FATAL (or 0..8);
    /// default ERROR (a container's monitor: lxc.log.level)
    #[arg(short = 'l', long, value_name = "LEVEL", global = true)]
    pub logpriority: Option<LogLevel>,

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
        // Every verb asks here, before it makes or touches anything: the one rule, which
        // start's uses of the name (hostname, run directory, socket, cgroups) decide.
        rlxc_runtime::name::check(name)?;
        Ok(name)
    }

    /// `-o`, `-l` and `-q`, which a container's monitor follows too.
    pub fn log_request(&self) -> rlxc_runtime::monitor::LogRequest {
        rlxc_runtime::monitor::LogRequest {
            file: self.logfile.clone(),
            level: self.logpriority,
            quiet: self.quiet,
        }
    }

    /// `$lxcpath/$name`, the container's own directory.
    pub fn container_dir(&self) -> anyhow::Result<PathBuf> {
        Ok(self.lxcpath.join(self.require_name()?))
    }

    /// The configuration file to load: `--rcfile` wins, else `$lxcpath/$name/config`, else
    /// the seed's `$lxcpath/$name.config` where only that exists (with a notice, once).
    pub fn config_path(&self) -> anyhow::Result<PathBuf> {
        // Absolute: the path is recorded in the state file and read again from elsewhere.
        if let Some(rcfile) = &self.rcfile {
            return Ok(std::path::absolute(rcfile).unwrap_or_else(|_| rcfile.clone()));
        }
        let dir = self
            .container_dir()
            .context("cannot tell which configuration to load (give -n NAME or --rcfile FILE)")?;
        let config = dir.join("config");
        let config = match self.flat_config() {
            Some(flat) if !config.exists() => {
                self.notice_flat_config(&flat, &config);
                flat
            }
            _ => config,
        };
        Ok(std::path::absolute(&config).unwrap_or(config))
    }

    /// `$lxcpath/$name.config`, the layout of the seed (and of LXC's oldest releases), if
    /// it is a file.
    fn flat_config(&self) -> Option<PathBuf> {
        let flat = self
            .lxcpath
            .join(format!("{}.config", self.name.as_deref()?));
        flat.is_file().then_some(flat)
    }

    fn notice_flat_config(&self, flat: &std::path::Path, config: &std::path::Path) {
        static SAID: std::sync::Once = std::sync::Once::new();
        if self.quiet {
            return;
        }
        SAID.call_once(|| {
            eprintln!(
                "notice: using {} (the seed's layout); LXC today reads {}: \
                 `mkdir {} && mv {} {}` moves it there",
                flat.display(),
                config.display(),
                config.parent().unwrap_or(config).display(),
                flat.display(),
                config.display()
            );
        });
    }

    /// The container's places on disk (its directory, run directory, socket, state file).
    /// The container's operation lock, for a verb that changes it (`what`: `rlxc stop`),
    /// waited for while another verb holds it: saying so first, unless `-q`.
    pub fn operation_lock(
        &self,
        paths: &rlxc_runtime::paths::ContainerPaths,
        what: &str,
    ) -> anyhow::Result<rlxc_runtime::lock::OperationLock> {
        let quiet = self.quiet;
        rlxc_runtime::lock::OperationLock::take(paths, what, |holder| {
            if !quiet {
                eprintln!(
                    "{}: busy with {holder}; waiting for it to finish",
                    paths.name
                );
            }
        })
        .with_context(|| format!("{}: taking its lock", paths.name))
    }

    pub fn container_paths(&self) -> anyhow::Result<rlxc_runtime::paths::ContainerPaths> {
        self.paths_of(self.require_name()?)
    }

    /// What a look at a container that is not running removes after a crashed run of it
    /// (`ls`, `info`): said once, on stderr.
    pub fn clear_leftovers(&self, paths: &rlxc_runtime::paths::ContainerPaths, what: &str) {
        match rlxc_runtime::leftovers::clear_if_idle(paths, what) {
            Some(Ok(cleared)) if !self.quiet => eprintln!("{}: {cleared}", paths.name),
            Some(Err(error)) => eprintln!("warning: {}: {error}", paths.name),
            _ => {}
        }
    }

    /// The places of the container `name` in this lxcpath.
    pub fn paths_of(&self, name: &str) -> anyhow::Result<rlxc_runtime::paths::ContainerPaths> {
        // The run directory's name depends on the lxcpath: `-P lxc` and `-P /abs/lxc` must
        // find the same container.
        let lxcpath = std::fs::canonicalize(&self.lxcpath)
            .or_else(|_| std::path::absolute(&self.lxcpath))
            .with_context(|| format!("lxcpath {}", self.lxcpath.display()))?;
        Ok(rlxc_runtime::paths::ContainerPaths::new(&lxcpath, name))
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

        // Called as rlxc, the system config's lxc.lxcpath is the default, below RLXC_PATH and -P.
        let start = crate::verbs::find("start").expect("start");
        let rlxc_start = |argv: &[&str]| {
            let command = crate::dispatch::rlxc_command_with_lxcpath(
                std::slice::from_ref(start),
                "/srv/from-system-config".into(),
            );
            let mut matches = command.try_get_matches_from(argv).expect("parses");
            let (_, verb) = matches.remove_subcommand().expect("a verb");
            CommonOpts::from_arg_matches(&verb).expect("builds").lxcpath
        };
        assert_eq!(
            rlxc_start(&["rlxc", "start", "-n", "web"]),
            PathBuf::from("/srv/from-system-config")
        );

        std::env::set_var("RLXC_PATH", "/srv/from-env");
        assert_eq!(
            rlxc_start(&["rlxc", "start", "-n", "web"]),
            PathBuf::from("/srv/from-env")
        );
        assert_eq!(
            rlxc_start(&["rlxc", "start", "-n", "web", "-P", "/srv/from-flag"]),
            PathBuf::from("/srv/from-flag")
        );
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

        // Called as lxc-VERB: LXC's default, or what the system config names; -P over it.
        let lxc_start = |lxcpath: &str, argv: &[&str]| {
            let command = crate::dispatch::lxc_tool_command_with_lxcpath(start, lxcpath.into());
            let matches = command.try_get_matches_from(argv).expect("parses");
            CommonOpts::from_arg_matches(&matches)
                .expect("builds")
                .lxcpath
        };
        let seed = ["lxc-start", "-n", "funtoo0", "-d"];
        assert_eq!(
            lxc_start(LXC_DEFAULT_LXCPATH, &seed),
            PathBuf::from("/var/lib/lxc")
        );
        assert_eq!(lxc_start("/srv/lxc", &seed), PathBuf::from("/srv/lxc"));
        let with_flag = ["lxc-start", "-n", "web", "-P", "/elsewhere"];
        assert_eq!(
            lxc_start("/srv/lxc", &with_flag),
            PathBuf::from("/elsewhere")
        );
    }

    #[test]
    fn a_flat_name_config_is_found_where_no_name_dir_holds_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lxcpath = dir.path().to_str().expect("utf-8");
        std::fs::write(dir.path().join("funtoo0.config"), "lxc.uts.name = x\n").expect("write");
        let opts = parse(&["verb", "-q", "-n", "funtoo0", "-P", lxcpath]);
        assert_eq!(
            opts.config_path().expect("path"),
            dir.path().join("funtoo0.config")
        );
        // NAME/config, where it exists, wins.
        std::fs::create_dir(dir.path().join("funtoo0")).expect("mkdir");
        std::fs::write(dir.path().join("funtoo0/config"), "").expect("write");
        assert_eq!(
            opts.config_path().expect("path"),
            dir.path().join("funtoo0/config")
        );
        // Nothing at all: the modern place, for the error to name.
        let other = parse(&["verb", "-n", "web", "-P", lxcpath]);
        assert_eq!(
            other.config_path().expect("path"),
            dir.path().join("web/config")
        );
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
        assert_eq!(parse(&["verb"]).logpriority, None);
        for (given, level) in [
            ("debug", LogLevel::Debug),
            ("Notice", LogLevel::Notice),
            ("0", LogLevel::Trace),
            ("8", LogLevel::Fatal),
        ] {
            assert_eq!(parse(&["verb", "-l", given]).logpriority, Some(level));
        }
        let cmd = CommonOpts::augment_args(Command::new("verb"));
        for bad in ["9", "verbose"] {
            assert!(cmd
                .clone()
                .try_get_matches_from(["verb", "-l", bad])
                .is_err());
        }
    }
}
