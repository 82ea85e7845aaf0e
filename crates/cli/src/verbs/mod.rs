//! One module per verb. Each exposes `pub struct Args` (clap `Args`; a `Subcommand` enum for
//! `config`) and `pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode>`.
//! The table below is the only place that lists them: the `rlxc` subcommands, the `lxc-<verb>`
//! names that argv[0] dispatch accepts and the links that `compat-links` makes all come from it.

use std::process::ExitCode;

use clap::{ArgMatches, Command, FromArgMatches};

use crate::common::CommonOpts;

pub mod attach;
pub mod autostart;
pub mod cgroup;
pub mod checkconfig;
pub mod compat_links;
pub mod complete_words;
pub mod completion;
pub mod config;
pub mod console;
pub mod copy;
pub mod create;
pub mod create_debian;
pub mod create_download;
pub mod destroy;
pub mod device;
pub mod execute;
pub mod freeze;
pub mod images;
pub mod info;
pub mod install_service;
pub mod ls;
pub mod mac;
pub mod man;
pub mod monitor;
pub mod net;
pub mod shift_rootfs;
pub mod snapshot;
pub mod start;
pub mod stop;
pub mod top;
pub mod unfreeze;
pub mod unshare;
pub mod update_config;
pub mod usernsexec;
pub mod wait;

/// One verb: its name, whether LXC has an `lxc-<name>` tool for it, and how to parse and run it.
pub struct Verb {
    pub name: &'static str,
    /// LXC ships `lxc-<name>`: argv[0] dispatch accepts that name and `compat-links` makes it.
    pub lxc_tool: bool,
    pub about: &'static str,
    /// Adds the verb's own arguments (or subcommands) to its `Command`.
    pub augment: fn(Command) -> Command,
    /// Builds the verb's `Args` and the common options from the parsed matches and runs it.
    pub run: fn(&ArgMatches) -> anyhow::Result<ExitCode>,
}

/// Table row for a verb whose `Args` is a clap `Args` struct.
macro_rules! verb {
    ($name:literal, $module:ident, lxc_tool: $lxc_tool:literal, $about:literal) => {
        Verb {
            name: $name,
            lxc_tool: $lxc_tool,
            about: $about,
            augment: <$module::Args as clap::Args>::augment_args,
            run: {
                fn run(matches: &ArgMatches) -> anyhow::Result<ExitCode> {
                    run_parsed(matches, $module::run)
                }
                run
            },
        }
    };
}

pub const VERBS: &[Verb] = &[
    verb!("create", create, lxc_tool: true, "Create a container from a template"),
    verb!("start", start, lxc_tool: true, "Start a container"),
    verb!("stop", stop, lxc_tool: true, "Shut down, reboot or kill a container"),
    verb!("console", console, lxc_tool: true, "Attach to a tty or the console of a container"),
    verb!("attach", attach, lxc_tool: true, "Run a command inside a running container"),
    verb!("execute", execute, lxc_tool: true, "Run one application in a temporary container"),
    verb!("ls", ls, lxc_tool: true, "List containers"),
    verb!("info", info, lxc_tool: true, "Show the state and resource use of a container"),
    verb!("freeze", freeze, lxc_tool: true, "Freeze every process of a container"),
    verb!("unfreeze", unfreeze, lxc_tool: true, "Thaw a frozen container"),
    verb!("cgroup", cgroup, lxc_tool: true, "Read or set a cgroup file of a running container"),
    verb!("device", device, lxc_tool: true, "Add a host device node or network interface to a running container, or take it back"),
    verb!("unshare", unshare, lxc_tool: true, "Run a command in new namespaces"),
    verb!("usernsexec", usernsexec, lxc_tool: true, "Run a command as root in a new user namespace"),
    verb!("top", top, lxc_tool: true, "Show the resource use of the running containers, live"),
    verb!("wait", wait, lxc_tool: true, "Wait until a container reaches one of some states"),
    Verb {
        name: "monitor",
        lxc_tool: true,
        about: "Print the state changes of the containers whose names match, as they happen",
        augment: <monitor::Args as clap::Args>::augment_args,
        run: monitor::run_matches,
    },
    verb!("copy", copy, lxc_tool: true, "Copy or rename a container"),
    verb!("snapshot", snapshot, lxc_tool: true, "Take, list, restore or destroy snapshots of a container"),
    verb!("destroy", destroy, lxc_tool: true, "Delete a container and its storage"),
    verb!("autostart", autostart, lxc_tool: true, "Start, stop or list the autostart containers"),
    verb!("checkconfig", checkconfig, lxc_tool: true, "Check the kernel for what containers need"),
    verb!("update-config", update_config, lxc_tool: true, "Rewrite legacy keys in a config file"),
    verb!("config", config, lxc_tool: true, "Print the system config (LXC's lxc-config); list the config keys, check or show a container config"),
    verb!("images", images, lxc_tool: false, "List or remove the images the download template cached"),
    verb!("net", net, lxc_tool: false, "Start, stop or show the host bridge with DHCP, DNS and NAT (LXC's lxc-net)"),
    verb!("mac", mac, lxc_tool: false, "Print a MAC address for lxc.net.N.hwaddr"),
    verb!("shift-rootfs", shift_rootfs, lxc_tool: false, "Chown a rootfs into the container's lxc.idmap"),
    verb!("compat-links", compat_links, lxc_tool: false, "Make lxc-<verb> links to this binary"),
    verb!("install-service", install_service, lxc_tool: false, "Install the OpenRC script or the systemd units"),
    verb!("completion", completion, lxc_tool: false, "Print the bash, zsh or fish completion script"),
    verb!("man", man, lxc_tool: false, "Write the man pages into a directory"),
    verb!("complete-words", complete_words, lxc_tool: false, "Print container names or config keys for the completion scripts"),
];

pub fn find(name: &str) -> Option<&'static Verb> {
    VERBS.iter().find(|verb| verb.name == name)
}

pub fn lxc_tools() -> impl Iterator<Item = &'static Verb> {
    VERBS.iter().filter(|verb| verb.lxc_tool)
}

fn run_parsed<A: FromArgMatches>(
    matches: &ArgMatches,
    run: fn(&A, &CommonOpts) -> anyhow::Result<ExitCode>,
) -> anyhow::Result<ExitCode> {
    let args = A::from_arg_matches(matches)?;
    let common = CommonOpts::from_arg_matches(matches)?;
    run(&args, &common)
}
