//! `rlxc net start | stop | status`: the host side of the default network (LXC's `lxc-net`
//! service): the bridge, dnsmasq and the NAT, with the settings of `/etc/default/rlxc-net`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rlxc_hostnet::doctor::Finding;
use rlxc_hostnet::lifecycle::{self, Started, Stopped};
use rlxc_hostnet::{bridge::Removed, hosts, settings};

use crate::common::CommonOpts;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,

    /// The settings file (LXC's /etc/default/lxc-net names)
    #[arg(long, global = true, value_name = "FILE", env = "RLXC_NET_SETTINGS")]
    pub settings: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Bring up the bridge, dnsmasq and the NAT (nothing changes when they are up already)
    Start,
    /// Take them down again (the bridge stays while containers are attached to it)
    Stop,
    /// Show the bridge, its addresses, the leases, the NAT and what keeps containers offline;
    /// exits 3 when the network is not up
    Status {
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let (path, named) = match &args.settings {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(settings::DEFAULT_PATH), false),
    };
    // A stop needs no settings: it undoes what the starts recorded, so a settings file
    // broken or edited since cannot keep the network up.
    if let Action::Stop = args.action {
        return stop();
    }
    let settings = settings::load(&path, named)?;
    match args.action {
        Action::Start => {
            let containers = containers_on(&common.lxcpath, &settings.bridge);
            let (started, problems) = lifecycle::start(&settings, &containers)?;
            match started {
                Started::Disabled => println!(
                    "USE_LXC_BRIDGE is false in {}: nothing to start",
                    path.display()
                ),
                Started::AlreadyRunning => println!("{} is up already", settings.bridge),
                Started::Started { dnsmasq_pid } => {
                    let ipv6 = settings
                        .ipv6
                        .as_ref()
                        .map(|v6| format!(" and {}/{}", v6.address, v6.network.prefix))
                        .unwrap_or_default();
                    println!(
                        "{} is up: {}/{}{ipv6}, dnsmasq (pid {dnsmasq_pid}) serving {}-{}, NAT for {} in nftables table inet {}",
                        settings.bridge,
                        settings.address,
                        settings.network.prefix,
                        settings.dhcp_range.0,
                        settings.dhcp_range.1,
                        settings.network,
                        lifecycle::table_name(&settings.bridge),
                    );
                }
            }
            warn_about(&problems);
            Ok(ExitCode::SUCCESS)
        }
        // Handled above: a stop reads no settings.
        Action::Stop => stop(),
        Action::Status { json } => {
            let status = lifecycle::status(&settings)?;
            let text = if json {
                format!("{}\n", serde_json::to_string_pretty(&status)?)
            } else {
                describe(&status)
            };
            crate::common::print_all(&text)?;
            Ok(if status.running {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(3)
            })
        }
    }
}

/// The containers of `lxcpath` with a fixed MAC on `bridge`: each gets a static lease.
/// Oldest first: on a collision the container made earlier keeps the address it had, so a
/// restart of the network, which writes the leases again, gives everyone the same address.
fn containers_on(lxcpath: &Path, bridge: &str) -> Vec<(String, [u8; 6])> {
    let Ok(dirs) = std::fs::read_dir(lxcpath) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for dir in dirs.flatten() {
        let Some(name) = dir.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        // A filesystem without birth times sorts by name alone.
        let born = dir
            .metadata()
            .and_then(|meta| meta.created())
            .unwrap_or(std::time::UNIX_EPOCH);
        // A config that does not load is not this command's to report: start says why.
        for (link, mac) in macs_on_links(&dir.path().join("config")) {
            if link == bridge {
                found.push((born, name.clone(), mac));
            }
        }
    }
    found.sort();
    found
        .into_iter()
        .map(|(_, name, mac)| (name, mac))
        .collect()
}

/// `(link, MAC)` of each interface of the config at `path` with a link and a fixed MAC.
fn macs_on_links(path: &Path) -> Vec<(String, [u8; 6])> {
    let Ok(loaded) = rlxc_config::load_file(path, &[]) else {
        return Vec::new();
    };
    loaded
        .spec
        .networks
        .values()
        .filter_map(|net| Some((net.link.clone()?, net.hwaddr?.concrete()?.0)))
        .collect()
}

/// After `create`: a static lease on each bridge with a running `rlxc net` the new
/// container is on. A failure here leaves the container as made and says so.
pub fn record_new_container(name: &str, config: &Path) {
    for (link, mac) in macs_on_links(config) {
        if let Err(error) = hosts::record_if_up(&link, name, mac) {
            eprintln!("warning: no static lease for {name} on {link}: {error}");
        }
    }
}

fn stop() -> anyhow::Result<ExitCode> {
    let stopped = lifecycle::stop()?;
    if stopped.is_empty() {
        println!("no network of rlxc net is up");
    }
    for Stopped { bridge, removed } in stopped {
        match removed {
            Removed::KeptFor(ports) => eprintln!(
                "warning: {bridge} stays, for the links still on it ({}); dnsmasq and the NAT \
                 are stopped",
                ports.join(", ")
            ),
            Removed::Deleted | Removed::Absent => println!("{bridge} is down"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn warn_about(problems: &[Finding]) {
    for problem in problems {
        eprintln!("warning: {}\n  fix: {}", problem.problem, problem.fix);
    }
}

fn describe(status: &lifecycle::Status) -> String {
    let mut text = String::new();
    let line = |text: &mut String, label: &str, value: String| {
        text.push_str(&format!("{label:<10}{value}\n"))
    };
    line(
        &mut text,
        "settings:",
        status
            .settings
            .clone()
            .unwrap_or_else(|| format!("the defaults (no {})", settings::DEFAULT_PATH)),
    );
    line(
        &mut text,
        "bridge:",
        match &status.link {
            Some(link) => format!(
                "{} ({}){}{}",
                link.name,
                if link.up { "up" } else { "down" },
                if link.addresses.is_empty() {
                    String::new()
                } else {
                    format!(", {}", link.addresses.join(", "))
                },
                if link.ports.is_empty() {
                    String::new()
                } else {
                    format!("; ports {}", link.ports.join(", "))
                },
            ),
            None => format!("{} (absent)", status.bridge),
        },
    );
    line(
        &mut text,
        "dnsmasq:",
        status.dnsmasq_pid.map_or_else(
            || "not running".to_owned(),
            |pid| format!("running, pid {pid}"),
        ),
    );
    line(
        &mut text,
        "NAT:",
        match &status.nat {
            Some(nat) => format!(
                "table inet {}: masquerade IPv4 {}, IPv6 {} ({} packets)",
                nat.table,
                if nat.ipv4 { "on" } else { "missing" },
                if nat.ipv6 { "on" } else { "off" },
                nat.packets
            ),
            None => "none".to_owned(),
        },
    );
    line(
        &mut text,
        "state:",
        if status.running {
            "up".into()
        } else {
            "not up".into()
        },
    );
    if status.leases.is_empty() {
        line(&mut text, "leases:", "none".into());
    } else {
        text.push_str("leases:\n");
        let header = ["  NAME", "MAC", "ADDRESS", "EXPIRES"].map(String::from);
        let rows: Vec<[String; 4]> = status
            .leases
            .iter()
            .map(|lease| {
                [
                    format!("  {}", lease.name.as_deref().unwrap_or("-")),
                    if lease.mac.is_empty() {
                        "-".into()
                    } else {
                        lease.mac.clone()
                    },
                    lease.address.clone(),
                    expiry(lease.expires),
                ]
            })
            .collect();
        text.push_str(&crate::common::columns(&header, &rows));
    }
    if status.problems.is_empty() {
        line(&mut text, "problems:", "none found".into());
    } else {
        text.push_str("problems:\n");
        for problem in &status.problems {
            text.push_str(&format!(
                "  - {}\n    fix: {}\n",
                problem.problem, problem.fix
            ));
        }
    }
    text
}

/// A lease's expiry as seconds from now ("never" for infinite leases).
fn expiry(expires: u64) -> String {
    if expires == 0 {
        return "never".into();
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match expires.checked_sub(now) {
        Some(left) if left >= 3600 => format!("in {}h{:02}m", left / 3600, left % 3600 / 60),
        Some(left) => format!("in {}m{:02}s", left / 60, left % 60),
        None => "expired".into(),
    }
}
