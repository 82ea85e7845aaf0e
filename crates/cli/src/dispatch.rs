//! How the binary was called (`rlxc VERB ...` or through an `lxc-VERB` link), and the clap
//! `Command` for each case, built from the verb table.

use std::ffi::{OsStr, OsString};
use std::path::Path;

use clap::{Arg, ArgAction, Command};

use crate::common::CommonOpts;
use crate::verbs::{self, Verb};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Verbs whose `-f` means `--rcfile`, as in LXC (elsewhere `-f` is `--force`, `--fancy`, ...).
const RCFILE_SHORT_F: &[&str] = &["start", "attach", "execute"];

/// Verbs that take `-P` several times (LXC's lxc-monitor watches every lxcpath given).
const MANY_LXCPATHS: &[&str] = &["monitor"];

/// Verbs whose `-l` is their own (LXC's `lxc-config -l`) rather than `--logpriority`.
const LIST_SHORT_L: &[&str] = &["config"];

/// Verbs for the package and the completion scripts, left out of help, completions and man
/// pages.
const HIDDEN: &[&str] = &["man", "complete-words"];

pub fn is_hidden(verb: &Verb) -> bool {
    HIDDEN.contains(&verb.name)
}

pub enum Invocation {
    /// `rlxc VERB ...`, or any other name that is not `lxc-*`.
    Rlxc,
    /// Called as `lxc-VERB` for a verb that LXC has.
    LxcTool(&'static Verb),
    /// Called as `lxc-SOMETHING` that rlxc does not provide.
    UnknownLxcTool(String),
}

impl Invocation {
    pub fn from_argv0(argv0: Option<&OsStr>) -> Self {
        let program = argv0
            .map(Path::new)
            .and_then(Path::file_name)
            .and_then(OsStr::to_str)
            .unwrap_or("rlxc");
        let Some(tool) = program.strip_prefix("lxc-") else {
            return Self::Rlxc;
        };
        match verbs::lxc_tools().find(|verb| verb.name == tool) {
            Some(verb) => Self::LxcTool(verb),
            None => Self::UnknownLxcTool(program.to_owned()),
        }
    }
}

/// The `rlxc` command with every verb as a subcommand.
pub fn rlxc_command() -> Command {
    rlxc_command_with(verbs::VERBS)
}

/// The `rlxc` command for this argv: when the first argument names a verb, only that verb's
/// subcommand is built. Building all of them is a third of the instructions of a short verb
/// such as `rlxc info` (each verb's options and the common ones, with their help texts);
/// parsing, help and errors of the named verb come out the same either way. Anything else
/// (`--help`, a typo to suggest a verb for) gets every verb.
pub fn rlxc_command_for(argv: &[OsString]) -> Command {
    let named = argv
        .get(1)
        .and_then(|arg| arg.to_str())
        .and_then(verbs::find);
    match named {
        Some(verb) => rlxc_command_with(std::slice::from_ref(verb)),
        None => rlxc_command(),
    }
}

fn rlxc_command_with(verbs: &[Verb]) -> Command {
    rlxc_command_with_lxcpath(verbs, crate::common::default_lxcpath())
}

/// The `rlxc` command whose verbs default to `lxcpath` (the system config's `lxc.lxcpath`),
/// below `-P` and `RLXC_PATH`.
pub(crate) fn rlxc_command_with_lxcpath<'a>(
    verbs: impl IntoIterator<Item = &'a Verb>,
    lxcpath: String,
) -> Command {
    Command::new("rlxc")
        .version(VERSION)
        .about("Linux containers with LXC's configs and tools, in Rust")
        .after_help(
            "Through a link named lxc-VERB (see `rlxc compat-links`) rlxc behaves as LXC's tool.",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .disable_help_flag(true)
        .arg(help_arg())
        .subcommands(verbs.into_iter().map(|verb| {
            verb_command(verb).mut_arg("lxcpath", |arg| arg.default_value(lxcpath.clone()))
        }))
}

/// The command for one verb called through its `lxc-VERB` name: same options, LXC's name,
/// and LXC's default lxcpath (`lxc.lxcpath` of LXC's system config, see
/// [`crate::common::default_lxcpath`]).
pub fn lxc_tool_command(verb: &Verb) -> Command {
    lxc_tool_command_with_lxcpath(verb, crate::common::default_lxcpath())
}

pub(crate) fn lxc_tool_command_with_lxcpath(verb: &Verb, lxcpath: String) -> Command {
    let name = format!("lxc-{}", verb.name);
    verb_command(verb)
        .name(name.clone())
        .bin_name(name)
        .mut_arg("lxcpath", |arg| arg.default_value(lxcpath))
}

/// LXC's tools take `-?` for help; `-h` stays too.
fn help_arg() -> Arg {
    Arg::new("help")
        .short('h')
        .short_alias('?')
        .long("help")
        .action(ArgAction::Help)
        .help("Print help")
}

fn verb_command(verb: &Verb) -> Command {
    let cmd = Command::new(verb.name)
        .version(VERSION)
        .hide(HIDDEN.contains(&verb.name))
        .disable_help_flag(true)
        .arg(help_arg().global(true));
    // The verb's own options first: CommonOpts sets the "Common options" help heading for every
    // argument added after it. The table's about is set last, over the derive's doc comments.
    let cmd = <CommonOpts as clap::Args>::augment_args((verb.augment)(cmd))
        .about(verb.about)
        .long_about(None);
    let cmd = if RCFILE_SHORT_F.contains(&verb.name) {
        cmd.mut_arg("rcfile", |arg| arg.short('f'))
    } else {
        cmd
    };
    let cmd = if MANY_LXCPATHS.contains(&verb.name) {
        cmd.mut_arg("lxcpath", |arg| arg.action(ArgAction::Append))
            .mut_arg("name", |arg| {
                arg.value_name("REGEX").help(
                    "Containers to watch: a regular expression that the whole name matches \
                     (default: every container)",
                )
            })
    } else {
        cmd
    };
    if LIST_SHORT_L.contains(&verb.name) {
        // `-l` lists, as in LXC's lxc-config; the log level stays --logpriority.
        cmd.mut_arg("logpriority", |arg| arg.short(None))
    } else {
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_well_formed() {
        rlxc_command().debug_assert();
        for verb in verbs::lxc_tools() {
            lxc_tool_command(verb).debug_assert();
        }
    }

    /// The common options a verb would get, parsed the way main() parses.
    fn common_of(argv: &[&str]) -> CommonOpts {
        let mut matches = rlxc_command().try_get_matches_from(argv).expect("parses");
        let (_, verb_matches) = matches.remove_subcommand().expect("a verb");
        <CommonOpts as clap::FromArgMatches>::from_arg_matches(&verb_matches).expect("builds")
    }

    #[test]
    fn lxcpath_and_rcfile_reach_the_verb() {
        let start = common_of(&["rlxc", "start", "-n", "web", "-P", "/srv/lxc", "-d"]);
        assert_eq!(
            start.config_path().expect("path"),
            Path::new("/srv/lxc/web/config")
        );
        // -f is --rcfile for start, as in LXC.
        let rcfile = common_of(&["rlxc", "start", "-n", "web", "-f", "/etc/web.conf"]);
        assert_eq!(
            rcfile.config_path().expect("path"),
            Path::new("/etc/web.conf")
        );
        // Given after config's own subcommand, the common options still reach config.
        let nested = common_of(&["rlxc", "config", "check", "-n", "web", "-P", "/srv/lxc"]);
        assert_eq!(
            nested.config_path().expect("path"),
            Path::new("/srv/lxc/web/config")
        );
    }

    /// Built for one verb, the command says and parses the same as the full one.
    #[test]
    fn one_verb_command_behaves_as_the_full_one() {
        let outcome = |command: Command, argv: &[&str]| match command.try_get_matches_from(argv) {
            // The top level lists the subcommands it knows; the verb's own matches must agree.
            Ok(mut matches) => format!("{:?}", matches.remove_subcommand()),
            Err(error) => error.render().to_string(),
        };
        for verb in verbs::VERBS {
            for argv in [
                vec!["rlxc", verb.name, "--help"],
                vec!["rlxc", verb.name, "-n", "web", "--no-such-option"],
                vec!["rlxc", verb.name, "-n", "web", "-P", "/srv/lxc"],
            ] {
                let owned: Vec<OsString> = argv.iter().map(OsString::from).collect();
                assert_eq!(
                    outcome(rlxc_command_for(&owned), &argv),
                    outcome(rlxc_command(), &argv),
                    "{argv:?}"
                );
            }
        }
        let typo: Vec<OsString> = ["rlxc", "strat"].iter().map(OsString::from).collect();
        assert_eq!(
            rlxc_command_for(&typo).get_subcommands().count(),
            verbs::VERBS.len()
        );
    }

    #[test]
    fn argv0_picks_the_verb() {
        assert!(matches!(
            Invocation::from_argv0(Some(OsStr::new("/usr/bin/rlxc"))),
            Invocation::Rlxc
        ));
        assert!(matches!(
            Invocation::from_argv0(Some(OsStr::new("/usr/sbin/lxc-start"))),
            Invocation::LxcTool(verb) if verb.name == "start"
        ));
        assert!(matches!(
            Invocation::from_argv0(Some(OsStr::new("lxc-update-config"))),
            Invocation::LxcTool(verb) if verb.name == "update-config"
        ));
        // `rlxc config` is LXC's lxc-config (-l, KEY) too.
        assert!(matches!(
            Invocation::from_argv0(Some(OsStr::new("lxc-config"))),
            Invocation::LxcTool(verb) if verb.name == "config"
        ));
        // rlxc-only verbs have no lxc- name.
        assert!(matches!(
            Invocation::from_argv0(Some(OsStr::new("lxc-mac"))),
            Invocation::UnknownLxcTool(name) if name == "lxc-mac"
        ));
    }
}
