//! `rlxc info` / `lxc-info`.

use std::process::ExitCode;

use anyhow::bail;
use rlxc_runtime::status::current;

use crate::common::CommonOpts;

/// Options of `lxc-info`, plus `--json`. With no selection it shows everything.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the state
    #[arg(short = 's', long)]
    pub state: bool,

    /// Show the pid of the container's init
    #[arg(short = 'p', long)]
    pub pid: bool,

    /// Show the IP addresses
    #[arg(short = 'i', long)]
    pub ips: bool,

    /// Show CPU, block I/O and memory use
    #[arg(short = 'S', long)]
    pub stats: bool,

    /// Print raw numbers instead of human-readable sizes
    #[arg(short = 'H', long = "no-humanize")]
    pub no_humanize: bool,

    /// Show config KEY of the running container as 'KEY = VALUE' (repeatable)
    #[arg(short = 'c', long = "config", value_name = "KEY")]
    pub config: Vec<String>,

    /// Print one JSON object instead of text (rlxc only)
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    common.clear_leftovers(&paths, "rlxc info");
    let (state, file) = current(&paths);
    let config_path = match &file {
        Some(file) => file.config.clone(),
        None => common.config_path()?,
    };
    if file.is_none() && !config_path.exists() {
        bail!("{} doesn't exist", paths.name);
    }
    if !args.config.is_empty() {
        // A running container's config is the one it started with (`start -s` included).
        let rendered = match file.as_ref().and_then(|f| f.effective.as_ref()) {
            Some(effective) => effective.config.clone(),
            None => rlxc_config::keys::render(&rlxc_config::load_file(&config_path, &[])?.spec),
        };
        return print_config_keys(&rendered, &args.config);
    }
    // No pid once init is gone (a container still being torn down is STOPPING).
    let pid = file
        .as_ref()
        .filter(|_| state != rlxc_runtime::state::State::Stopping)
        .map(|f| f.init.pid);
    let everything = !(args.state || args.pid || args.ips || args.stats);
    // Shown without options too, as lxc-info shows them.
    let stats = if args.stats || everything || (args.json && file.is_some()) {
        file.as_ref()
            .and_then(|_| rlxc_runtime::resources::stats(&paths).ok())
    } else {
        None
    };
    // Logs the monitor could not write to: only a running container's are recorded.
    let unwritten = match &file {
        Some(_) => rlxc_runtime::unwritten::warnings(&paths),
        None => Vec::new(),
    };
    if args.json {
        let mut value = serde_json::json!({
            "name": paths.name,
            "state": state.name(),
            "pid": pid,
            "ips": addresses(pid).iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        if let Some(stats) = &stats {
            value["stats"] = stats_json(stats);
            value["stats"]["links"] = pid
                .and_then(|pid| rlxc_net::container::traffic_of(pid).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|t| serde_json::json!({"name": t.name, "rx_bytes": t.rx_bytes, "tx_bytes": t.tx_bytes}))
                .collect();
        }
        if !unwritten.is_empty() {
            value["unwritten_logs"] = unwritten
                .iter()
                .map(|(_, u)| serde_json::json!({"path": u.path, "since": u.since, "error": u.error}))
                .collect();
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut lines: Vec<(&str, String)> = Vec::new();
    if everything {
        lines.push(("Name:", paths.name.clone()));
    }
    if everything || args.state {
        lines.push(("State:", state.name().to_string()));
    }
    if everything || args.pid {
        if let Some(pid) = pid {
            lines.push(("PID:", pid.to_string()));
        }
    }
    if everything || args.ips {
        lines.extend(addresses(pid).into_iter().map(|ip| ("IP:", ip.to_string())));
    }
    if let (true, Some(stats)) = (everything || args.stats, &stats) {
        lines.extend(stats_lines(stats, args.no_humanize));
    }
    if everything || args.stats {
        let host_links = file
            .as_ref()
            .map(|f| f.host_links.as_slice())
            .unwrap_or_default();
        lines.extend(traffic_lines(pid, host_links, args.no_humanize));
    }
    if everything {
        lines.extend(
            unwritten
                .iter()
                .map(|(kind, u)| (kind.label(), u.warning())),
        );
    }
    // -H with a single selection prints the bare values, for scripts (as LXC).
    let only_ips = args.ips && !lines.is_empty() && lines.iter().all(|(label, _)| *label == "IP:");
    let bare = args.no_humanize && !everything && (lines.len() == 1 || only_ips);
    for (label, value) in lines {
        if bare {
            println!("{value}");
        } else {
            println!("{label:<15} {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The container's addresses (LXC's `IP:` lines): global ones, loopback and link-local left
/// out. A container that cannot be looked into shows none.
fn addresses(pid: Option<i32>) -> Vec<std::net::IpAddr> {
    pid.and_then(|pid| rlxc_net::container::addresses_of(pid).ok())
        .unwrap_or_default()
}

/// LXC's `-S` lines; a figure the host does not account is left out.
fn stats_lines(stats: &rlxc_cgroup::Stats, raw: bool) -> Vec<(&'static str, String)> {
    let bytes = |n: u64| if raw { n.to_string() } else { humanize(n) };
    let mut lines = Vec::new();
    if let Some(ns) = stats.cpu_nanoseconds {
        let text = if raw {
            ns.to_string()
        } else {
            format!("{:.2} seconds", ns as f64 / 1e9)
        };
        lines.push(("CPU use:", text));
    }
    if let Some(io) = stats.io_bytes {
        lines.push(("BlkIO use:", bytes(io)));
    }
    if let Some(memory) = stats.memory_bytes {
        lines.push(("Memory use:", bytes(memory)));
    }
    if let Some(kmem) = stats.kernel_memory_bytes {
        lines.push(("KMem use:", bytes(kmem)));
    }
    if let Some(pids) = stats.pids {
        lines.push(("Pids:", pids.to_string()));
    }
    lines
}

/// LXC's per-interface lines: `Link:`, then TX, RX and total bytes. As LXC's: for a veth, its
/// host side (the name to give tcpdump on the host) and that side's counters; an interface
/// with no host side (macvlan, phys, ...) as the container sees it.
fn traffic_lines(
    pid: Option<i32>,
    host_links: &[String],
    raw: bool,
) -> Vec<(&'static str, String)> {
    let bytes = |n: u64| if raw { n.to_string() } else { humanize(n) };
    let Some(pid) = pid else {
        return Vec::new();
    };
    let host: Vec<rlxc_net::container::Traffic> = rlxc_net::Netlink::open()
        .and_then(|mut netlink| rlxc_net::link::list(&mut netlink))
        .unwrap_or_default()
        .into_iter()
        .filter(|link| host_links.contains(&link.name))
        .map(|link| rlxc_net::container::Traffic {
            name: link.name,
            rx_bytes: link.rx_bytes,
            tx_bytes: link.tx_bytes,
        })
        .collect();
    let traffic = match host.is_empty() {
        true => rlxc_net::container::traffic_of(pid).unwrap_or_default(),
        false => host,
    };
    let mut lines = Vec::new();
    for link in traffic {
        lines.push(("Link:", link.name));
        lines.push((" TX bytes:", bytes(link.tx_bytes)));
        lines.push((" RX bytes:", bytes(link.rx_bytes)));
        lines.push((" Total bytes:", bytes(link.tx_bytes + link.rx_bytes)));
    }
    lines
}

fn stats_json(stats: &rlxc_cgroup::Stats) -> serde_json::Value {
    serde_json::json!({
        "cpu_ns": stats.cpu_nanoseconds,
        "blkio_bytes": stats.io_bytes,
        "memory_bytes": stats.memory_bytes,
        "swap_bytes": stats.swap_bytes,
        "kmem_bytes": stats.kernel_memory_bytes,
        "pids": stats.pids,
    })
}

/// `1.20 MiB`, as LXC prints sizes.
fn humanize(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// `-c KEY`: `KEY = VALUE` from the container's config, or `KEY invalid` (LXC's wording).
fn print_config_keys(rendered: &[(String, String)], keys: &[String]) -> anyhow::Result<ExitCode> {
    for key in keys {
        let values: Vec<&str> = rendered
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        if values.is_empty() && rlxc_config::keys::lookup(key).is_none() {
            println!("{key} invalid");
        } else {
            println!("{key} = {}", values.join("\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
