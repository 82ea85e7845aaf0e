//! `rlxc ls` / `lxc-ls`.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use regex_lite::Regex;
use rlxc_runtime::create::{self, ContainerEntry};
use rlxc_runtime::state::State;
use serde_json::{json, Value};

use crate::arg_values::{word_list, Words};
use crate::common::CommonOpts;

/// Columns that `-F` accepts, as in LXC.
const COLUMNS: &[&str] = &[
    "NAME",
    "STATE",
    "PID",
    "RAM",
    "SWAP",
    "AUTOSTART",
    "GROUPS",
    "INTERFACE",
    "IPV4",
    "IPV6",
    "UNPRIVILEGED",
];

/// LXC's `-f` columns.
const FANCY_COLUMNS: &[&str] = &[
    "NAME",
    "STATE",
    "AUTOSTART",
    "GROUPS",
    "IPV4",
    "IPV6",
    "UNPRIVILEGED",
];

/// Options of `lxc-ls`, plus `--json`. State filters combine with OR, the other filters
/// with AND.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One name per line (the default when stdout is not a terminal)
    #[arg(short = '1', long)]
    pub line: bool,

    /// Columns: NAME STATE AUTOSTART GROUPS IPV4 IPV6 UNPRIVILEGED
    #[arg(short = 'f', long, conflicts_with = "line")]
    pub fancy: bool,

    /// Comma-separated columns for the fancy output (implies -f)
    #[arg(short = 'F', long = "fancy-format", value_name = "COLUMNS", value_parser = columns, conflicts_with = "line")]
    pub fancy_format: Option<Words>,

    /// Only running or frozen containers
    #[arg(long)]
    pub active: bool,

    /// Only running containers
    #[arg(long)]
    pub running: bool,

    /// Only frozen containers
    #[arg(long)]
    pub frozen: bool,

    /// Only stopped containers
    #[arg(long)]
    pub stopped: bool,

    /// Only defined containers
    #[arg(long)]
    pub defined: bool,

    /// Only containers in all of these comma-separated groups
    #[arg(short = 'g', long, value_name = "GROUPS", value_delimiter = ',')]
    pub groups: Vec<String>,

    /// Only names that match REGEX (also accepted as a bare argument)
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,

    #[arg(value_name = "REGEX", conflicts_with = "filter", hide = true)]
    pub filter_positional: Option<String>,

    /// List nested containers down to NUM levels
    #[arg(long, value_name = "NUM", num_args = 0..=1, require_equals = true, default_missing_value = "5")]
    pub nesting: Option<u32>,

    /// Print a JSON array of objects instead of a table (rlxc only)
    #[arg(long, conflicts_with_all = ["line", "fancy", "fancy_format"])]
    pub json: bool,
}

fn columns(text: &str) -> Result<Words, String> {
    word_list(text, ',', COLUMNS)
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let pattern = args.filter.as_ref().or(args.filter_positional.as_ref());
    let regex = pattern
        .map(|p| Regex::new(p).with_context(|| format!("invalid --filter regex {p:?}")))
        .transpose()?;
    for name in create::names(&common.lxcpath)? {
        common.clear_leftovers(&common.paths_of(&name)?, "rlxc ls");
    }
    // What a killed create or copy left (hidden, never listed) goes too.
    for dir in create::clear_abandoned(&common.lxcpath, None) {
        if !common.quiet {
            eprintln!(
                "removed {}, left by an interrupted create or copy",
                dir.display()
            );
        }
    }
    let mut containers = create::list(&common.lxcpath)?;
    containers.retain(|c| wanted(args, regex.as_ref(), c));
    for container in &containers {
        warn_about(container);
    }
    let mut rows: Vec<Row> = Vec::new();
    for row in containers.iter().map(Row::from) {
        let below = match (args.nesting, row.state, row.pid) {
            (Some(levels), State::Running, Some(pid)) => {
                nesting::rows_below(&row.name, pid, levels)
            }
            _ => Vec::new(),
        };
        rows.push(row);
        rows.extend(below);
    }
    let shown = |column: &str| {
        args.json
            || args
                .fancy_format
                .as_ref()
                .is_some_and(|columns| columns.iter().any(|c| c == column))
    };
    if ["RAM", "SWAP", "INTERFACE"].into_iter().any(shown) {
        // Nested ones (`OUTER/INNER`) are not this host's to measure.
        for row in rows.iter_mut().filter(|row| !row.name.contains('/')) {
            row.measure(&common.paths_of(&row.name)?);
        }
    }
    let text = if args.json {
        let objects: Vec<Value> = rows.iter().map(Row::json).collect();
        format!("{}\n", serde_json::to_string_pretty(&objects)?)
    } else if args.fancy || args.fancy_format.is_some() {
        let columns: Vec<&str> = match &args.fancy_format {
            Some(columns) => columns.iter().map(String::as_str).collect(),
            None => FANCY_COLUMNS.to_vec(),
        };
        table(&columns, &rows)
    } else if args.line || !std::io::stdout().is_terminal() {
        rows.iter().map(|row| format!("{}\n", row.name)).collect()
    } else {
        name_columns(&rows, terminal_width())
    };
    crate::common::print_all(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn wanted(args: &Args, regex: Option<&Regex>, container: &ContainerEntry) -> bool {
    let state = container.state;
    let state_filters = [
        (args.running, state == State::Running),
        (
            args.frozen,
            matches!(state, State::Frozen | State::Freezing),
        ),
        (args.stopped, state == State::Stopped),
        (args.active, state != State::Stopped),
        // Every container listed has a config, so every one is defined.
        (args.defined, true),
    ];
    let any_state_filter = state_filters.iter().any(|(asked, _)| *asked);
    if any_state_filter && !state_filters.iter().any(|(asked, holds)| *asked && *holds) {
        return false;
    }
    if !args.groups.is_empty() {
        let Ok(spec) = &container.config else {
            return false;
        };
        let has_all = args
            .groups
            .iter()
            .filter(|g| !g.is_empty())
            .all(|g| spec.autostart.groups.contains(g));
        if !has_all {
            return false;
        }
    }
    match regex {
        Some(re) => re.is_match(&container.name),
        None => true,
    }
}

/// LXC leaves out containers whose config does not load; rlxc lists them and says why.
fn warn_about(container: &ContainerEntry) {
    if let Err(failure) = &container.config {
        let first = failure
            .errors
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        eprintln!(
            "rlxc ls: warning: {}: config does not load: {first}",
            container.name
        );
    }
    if let Some(error) = &container.state_error {
        eprintln!("rlxc ls: warning: {}: {error}", container.name);
    }
}

mod nesting;

/// One container's values (sent as JSON from the child that lists nested ones).
#[derive(serde::Serialize, serde::Deserialize)]
struct Row {
    name: String,
    state: State,
    pid: Option<i32>,
    /// `None` when the config does not load.
    autostart: Option<bool>,
    groups: Vec<String>,
    unprivileged: Option<bool>,
    config_error: Option<String>,
    ipv4: Vec<String>,
    ipv6: Vec<String>,
    /// Memory and swap in use, interfaces: read only when a column or --json shows them.
    ram: Option<u64>,
    swap: Option<u64>,
    interfaces: Vec<String>,
}

impl From<&ContainerEntry> for Row {
    fn from(container: &ContainerEntry) -> Row {
        let spec = container.config.as_ref().ok();
        Row {
            name: container.name.clone(),
            state: container.state,
            pid: container.init.map(|init| init.pid),
            autostart: spec.map(|s| s.autostart.auto.unwrap_or(false)),
            groups: spec.map(|s| s.autostart.groups.clone()).unwrap_or_default(),
            unprivileged: spec.map(|s| !s.idmaps.is_empty()),
            config_error: container.config.as_ref().err().map(ToString::to_string),
            ipv4: ips(container, true),
            ipv6: ips(container, false),
            ram: None,
            swap: None,
            interfaces: Vec::new(),
        }
    }
}

impl Row {
    /// Fills RAM, SWAP and INTERFACE of a running container (its cgroups, its namespace).
    fn measure(&mut self, paths: &rlxc_runtime::paths::ContainerPaths) {
        let Some(pid) = self.pid else {
            return;
        };
        if let Ok(stats) = rlxc_runtime::resources::stats(paths) {
            self.ram = stats.memory_bytes;
            self.swap = stats.swap_bytes;
        }
        self.interfaces = rlxc_net::container::interfaces_of(pid).unwrap_or_default();
        // In name order, as lxc-ls shows them.
        self.interfaces.sort();
    }
}

/// LXC's RAM and SWAP cells: mebibytes with two decimals (`0.88MB`).
fn megabytes(bytes: u64) -> String {
    format!("{:.2}MB", bytes as f64 / (1024.0 * 1024.0))
}

fn ips(container: &ContainerEntry, v4: bool) -> Vec<String> {
    container
        .addresses
        .iter()
        .filter(|ip| ip.is_ipv4() == v4)
        .map(ToString::to_string)
        .collect()
}

impl Row {
    fn cell(&self, column: &str) -> String {
        let dash = || "-".to_string();
        match column {
            "NAME" => self.name.clone(),
            "STATE" => self.state.name().to_string(),
            "PID" => self.pid.map_or_else(dash, |pid| pid.to_string()),
            "AUTOSTART" => self
                .autostart
                .map_or_else(dash, |a| u8::from(a).to_string()),
            "GROUPS" if !self.groups.is_empty() => self.groups.join(","),
            "IPV4" if !self.ipv4.is_empty() => self.ipv4.join(", "),
            "IPV6" if !self.ipv6.is_empty() => self.ipv6.join(", "),
            "UNPRIVILEGED" => self.unprivileged.map_or_else(dash, |u| u.to_string()),
            "RAM" => self.ram.map_or_else(dash, megabytes),
            "SWAP" => self.swap.map_or_else(dash, megabytes),
            "INTERFACE" if !self.interfaces.is_empty() => self.interfaces.join(", "),
            _ => dash(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "state": self.state.name(),
            "pid": self.pid,
            "ram": self.ram,
            "swap": self.swap,
            "autostart": self.autostart,
            "groups": self.groups,
            "interface": self.interfaces,
            "ipv4": self.ipv4,
            "ipv6": self.ipv6,
            "unprivileged": self.unprivileged,
            "config_error": self.config_error,
        })
    }
}

/// LXC's fancy table: a header, then one line per container, each column as wide as its
/// widest cell.
fn table(columns: &[&str], rows: &[Row]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| row.cell(c)).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, header)| {
            cells
                .iter()
                .map(|r| r[i].len())
                .fold(header.len(), usize::max)
        })
        .collect();
    let header: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    std::iter::once(&header)
        .chain(cells.iter())
        .map(|line| {
            let padded: Vec<String> = line
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            format!("{}\n", padded.join(" ").trim_end())
        })
        .collect()
}

/// Names across the terminal as LXC prints them: each padded to the longest name, row by row.
fn name_columns(rows: &[Row], width: usize) -> String {
    let longest = rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let per_line = (width / (longest + 1)).max(1);
    rows.chunks(per_line)
        .map(|line| {
            let names: Vec<String> = line
                .iter()
                .map(|r| format!("{:<longest$}", r.name))
                .collect();
            format!("{}\n", names.join(" ").trim_end())
        })
        .collect()
}

fn terminal_width() -> usize {
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|size| usize::from(size.ws_col))
        .filter(|cols| *cols > 0)
        .unwrap_or(80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> Row {
        Row {
            name: name.into(),
            state: State::Stopped,
            pid: None,
            autostart: Some(false),
            groups: vec![],
            unprivileged: Some(false),
            config_error: None,
            ipv4: vec![],
            ipv6: vec![],
            ram: Some(922_747),
            swap: Some(0),
            interfaces: vec!["eth0".into(), "lo".into()],
        }
    }

    #[test]
    fn ram_swap_and_interfaces_as_lxc_ls_shows_them() {
        let mut row = row("web");
        assert_eq!(row.cell("RAM"), "0.88MB");
        assert_eq!(row.cell("SWAP"), "0.00MB");
        assert_eq!(row.cell("INTERFACE"), "eth0, lo");
        (row.ram, row.interfaces) = (None, vec![]);
        assert_eq!(
            (row.cell("RAM"), row.cell("INTERFACE")),
            ("-".into(), "-".into())
        );
    }

    #[test]
    fn names_fill_the_terminal_row_by_row() {
        let rows = [row("a"), row("bbb"), row("cc")];
        assert_eq!(name_columns(&rows, 8), "a   bbb\ncc\n");
        assert_eq!(name_columns(&rows, 80), "a   bbb cc\n");
    }

    #[test]
    fn fancy_columns_are_as_wide_as_their_widest_cell() {
        let text = table(&["NAME", "STATE", "GROUPS"], &[row("web")]);
        assert_eq!(text, "NAME STATE   GROUPS\nweb  STOPPED -\n");
    }
}
