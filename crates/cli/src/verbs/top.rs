//! `rlxc top` / `lxc-top`: the running containers of the lxcpath with their CPU %, memory,
//! block I/O, pids and network bytes, refreshed every `--delay` seconds.
//!
//! The figures are `rlxc info -S`'s, read on cgroup v1, v2 or hybrid hosts alike (LXC's
//! lxc-top reads v1 files only). CPU % is the CPU time a container used between two
//! refreshes over the time between them; 100 is one CPU. Three ways to look:
//! - live (a terminal): the view redraws itself; a sort letter sorts by that, the same letter
//!   again or `r` reverses, `q` quits;
//! - `-b`: plain text for scripts, a table per refresh, each one measured over one delay;
//! - `--json`: one refresh, as a JSON array.
//!
//! `-n NAME` shows that container only; `-n 'web.*'` (a regex matching whole names) several.

mod rows;
mod sample;
mod table;
mod terminal;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use regex_lite::Regex;

use crate::common::CommonOpts;
use rows::{Row, SortKey};
use sample::Sample;
use terminal::{Input, LiveTerminal};

/// Options of `lxc-top`, plus `--iterations` and `--json`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Seconds between refreshes (fractions allowed)
    #[arg(short = 'd', long, value_name = "SECS", default_value = "3", value_parser = delay)]
    pub delay: Duration,

    /// Plain text, a table per refresh, for scripts and pipes
    #[arg(short = 'b', long)]
    pub batch: bool,

    /// Stop after this many refreshes (rlxc only; -n is the container name)
    #[arg(long, value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    pub iterations: Option<u64>,

    /// Sort by: n name, c cpu, b block I/O, m memory, s memory + swap, k kernel memory, p pids, N network
    #[arg(short = 's', long, value_name = "KEY", default_value = "n", value_parser = sort_key)]
    pub sort: SortKey,

    /// Reverse the order (names Z to A, smallest figures first)
    #[arg(short = 'r', long)]
    pub reverse: bool,

    /// Print one refresh as a JSON array instead (after one delay; rlxc only)
    #[arg(long, conflicts_with_all = ["batch", "iterations"])]
    pub json: bool,
}

fn delay(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds.is_finite() && seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "{text}: the delay must be above 0 and at most a day"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn sort_key(text: &str) -> Result<SortKey, String> {
    let mut letters = text.chars();
    match (
        letters.next().and_then(SortKey::from_letter),
        letters.next(),
    ) {
        (Some(key), None) => Ok(key),
        _ => Err(format!(
            "{text:?}: the sort key is one of {}",
            SortKey::ALL
                .map(|key| format!("{} ({})", key.letter(), key.label()))
                .join(", ")
        )),
    }
}

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    // The run directories are named after the absolute lxcpath.
    let lxcpath = std::fs::canonicalize(&common.lxcpath)
        .or_else(|_| std::path::absolute(&common.lxcpath))
        .with_context(|| format!("lxcpath {}", common.lxcpath.display()))?;
    // -n as in LXC's other tools names one container; a regex names several.
    let only = common
        .name
        .as_deref()
        .map(|name| {
            Regex::new(&format!("^(?:{name})$"))
                .with_context(|| format!("-n {name:?} is neither a name nor a regex"))
        })
        .transpose()?;
    let view = View {
        lxcpath,
        only,
        sort: args.sort,
        reverse: args.reverse,
    };
    if args.json {
        return json(&view, args.delay);
    }
    if args.batch {
        return batch(&view, args.delay, args.iterations);
    }
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        bail!("the live view needs a terminal: use -b for plain text or --json");
    }
    live(view, args.delay, args.iterations)
}

/// What is looked at and in which order.
struct View {
    lxcpath: PathBuf,
    /// `-n NAME|REGEX`: only the containers whose whole name matches.
    only: Option<Regex>,
    sort: SortKey,
    reverse: bool,
}

impl View {
    fn sample(&self) -> anyhow::Result<Sample> {
        let wanted = |name: &str| self.only.as_ref().is_none_or(|only| only.is_match(name));
        sample::take(&self.lxcpath, wanted)
            .with_context(|| format!("reading the containers of {}", self.lxcpath.display()))
    }

    fn rows(&self, previous: Option<&Sample>, now: &Sample) -> Vec<Row> {
        let mut rows = rows::rows(previous, now);
        rows::sort(&mut rows, self.sort, self.reverse);
        rows
    }

    /// A sort letter sorts by it; the current one again, or `r`, reverses (as lxc-top).
    /// False to quit.
    fn key(&mut self, key: char) -> bool {
        match key {
            // q, and Ctrl-C and Ctrl-\ (they arrive as keys: the view turns their signals off).
            'q' | '\x03' | '\x1c' => return false,
            'r' => self.reverse = !self.reverse,
            letter => {
                if let Some(sort) = SortKey::from_letter(letter) {
                    self.reverse = sort == self.sort && !self.reverse;
                    self.sort = sort;
                }
            }
        }
        true
    }

    fn order(&self) -> String {
        let natural = if self.sort == SortKey::Name {
            "A to Z"
        } else {
            "largest first"
        };
        let order = if self.reverse { "reversed" } else { natural };
        format!("sorted by {} ({order})", self.sort.label())
    }
}

/// A table per refresh, each measured over the delay before it, a blank line between them.
fn batch(view: &View, delay: Duration, iterations: Option<u64>) -> anyhow::Result<ExitCode> {
    let mut previous = view.sample()?;
    let mut done = 0;
    while iterations.is_none_or(|n| done < n) {
        std::thread::sleep(delay);
        let now = view.sample()?;
        let rows = view.rows(Some(&previous), &now);
        let mut text = if done > 0 {
            "\n".to_string()
        } else {
            String::new()
        };
        for line in table::render(&rows, &table::useful_columns(&rows), None) {
            text.push_str(&line);
            text.push('\n');
        }
        if !print(&text)? {
            break;
        }
        previous = now;
        done += 1;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; false once the reader has gone (`rlxc top -b | head` is no error).
fn print(text: &str) -> anyhow::Result<bool> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        other => other.map(|()| true).context("writing to stdout"),
    }
}

/// The containers after one delay, with their raw counters too.
fn json(view: &View, delay: Duration) -> anyhow::Result<ExitCode> {
    let previous = view.sample()?;
    std::thread::sleep(delay);
    let now = view.sample()?;
    let objects: Vec<serde_json::Value> = view
        .rows(Some(&previous), &now)
        .iter()
        .map(row_json)
        .collect();
    print(&format!("{}\n", serde_json::to_string_pretty(&objects)?))?;
    Ok(ExitCode::SUCCESS)
}

fn row_json(row: &Row) -> serde_json::Value {
    let stats = &row.measured.stats;
    serde_json::json!({
        "name": row.measured.name,
        "state": row.measured.state.name(),
        "pid": row.measured.init.pid,
        "cpu_percent": row.cpu_percent,
        "cpu_ns": stats.cpu_nanoseconds,
        "memory_bytes": stats.memory_bytes,
        "memory_limit_bytes": stats.memory_limit_bytes,
        "swap_bytes": stats.swap_bytes,
        "kmem_bytes": stats.kernel_memory_bytes,
        "blkio_read_bytes": stats.io.map(|io| io.read),
        "blkio_write_bytes": stats.io.map(|io| io.written),
        "pids": stats.pids,
        "pids_max": stats.pids_max,
        "net_rx_bytes": row.measured.net.map(|net| net.rx),
        "net_tx_bytes": row.measured.net.map(|net| net.tx),
    })
}

/// The live view: drawn at once (CPU % from the second refresh on), then every delay, and
/// again at once when a key changes the order or the terminal its size.
fn live(mut view: View, delay: Duration, iterations: Option<u64>) -> anyhow::Result<ExitCode> {
    let terminal = LiveTerminal::enter().context("setting up the terminal")?;
    let mut previous: Option<Sample> = None;
    let mut now = view.sample()?;
    let mut refreshes = 0;
    loop {
        draw(&terminal, &view, previous.as_ref(), &now, delay)?;
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline {
            match terminal.next_input(deadline)? {
                Input::Nothing => continue,
                Input::End => return Ok(ExitCode::SUCCESS),
                Input::Resized => {}
                Input::Keys(keys) => {
                    if !keys.into_iter().all(|key| view.key(key)) {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
            }
            draw(&terminal, &view, previous.as_ref(), &now, delay)?;
        }
        refreshes += 1;
        if iterations.is_some_and(|n| refreshes >= n) {
            return Ok(ExitCode::SUCCESS);
        }
        previous = Some(std::mem::replace(&mut now, view.sample()?));
    }
}

fn draw(
    terminal: &LiveTerminal,
    view: &View,
    previous: Option<&Sample>,
    now: &Sample,
    delay: Duration,
) -> anyhow::Result<()> {
    let rows = view.rows(previous, now);
    let (width, _) = terminal.size();
    let mut lines = vec![
        cut(
            &format!(
                "rlxc top - {} - {} active - {} - every {}s",
                view.lxcpath.display(),
                rows.len(),
                view.order(),
                delay.as_secs_f64()
            ),
            width,
        ),
        cut(
            "keys: n c b m s k p N sort (again or r: reverse), q quit",
            width,
        ),
        String::new(),
    ];
    lines.extend(table::render(
        &rows,
        &table::useful_columns(&rows),
        Some(width),
    ));
    terminal.draw(&lines).context("drawing the view")
}

fn cut(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_reverse_on_the_same_letter_and_quit() {
        let mut view = View {
            lxcpath: PathBuf::from("/var/lib/rlxc"),
            only: None,
            sort: SortKey::Name,
            reverse: false,
        };
        assert!(view.key('c'));
        assert_eq!((view.sort, view.reverse), (SortKey::Cpu, false));
        assert!(view.key('c'));
        assert_eq!((view.sort, view.reverse), (SortKey::Cpu, true));
        // Another key sorts its natural way again.
        assert!(view.key('m'));
        assert_eq!((view.sort, view.reverse), (SortKey::Memory, false));
        assert!(view.key('r'));
        assert_eq!((view.sort, view.reverse), (SortKey::Memory, true));
        assert_eq!(view.order(), "sorted by memory (reversed)");
        // Unknown keys change nothing; q and Ctrl-C quit.
        assert!(view.key('x'));
        assert_eq!((view.sort, view.reverse), (SortKey::Memory, true));
        assert!(!view.key('q'));
        assert!(!view.key('\x03'));
        assert!(!view.key('\x1c'));
    }

    #[test]
    fn delays_and_sort_keys_parse_or_say_why_not() {
        assert_eq!(delay("3"), Ok(Duration::from_secs(3)));
        assert_eq!(delay("0.5"), Ok(Duration::from_millis(500)));
        for bad in ["0", "-1", "nan", "inf", "1e9", "soon"] {
            assert!(delay(bad).is_err(), "{bad}");
        }
        assert_eq!(sort_key("N"), Ok(SortKey::Network));
        assert!(sort_key("cc").is_err());
        assert!(sort_key("").is_err());
    }
}
