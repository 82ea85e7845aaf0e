//! The markdown table and the SVG chart.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::cases::{median, quantile, Results};
use crate::tools::{Case, Target, Tool};

/// What the report says about the run besides the numbers.
pub struct Context {
    pub seq: usize,
    pub idle: usize,
    pub rounds: usize,
    pub guest_rounds: usize,
    pub image_rounds: usize,
    pub copy_rounds: usize,
    pub clone_rounds: usize,
    pub seq_rounds: usize,
    pub versions: Vec<String>,
    pub load_before: String,
    pub load_after: String,
    pub date: String,
    pub tools: Vec<Tool>,
}

/// (median, 25th, 75th percentile, n) of a case.
fn stats(res: &Results, case: Case, tool: Tool) -> Option<(f64, f64, f64, usize)> {
    let mut v = res.samples.get(&(case, tool))?.clone();
    let n = v.len();
    Some((
        median(&mut v)?,
        quantile(&mut v, 0.25)?,
        quantile(&mut v, 0.75)?,
        n,
    ))
}

fn fmt_num(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

pub fn markdown(res: &Results, ctx: &Context) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# rlxc benchmark: {}\n", ctx.date);
    let _ = writeln!(
        out,
        "Made by `bench/run.sh` (see [bench/README.md](../../bench/README.md)). Medians over \
         {} interleaved rounds (block order shuffled per round); the systemd guest over {} \
         rounds; the create from a cached image over {} rounds; the overlay clone over {} rounds; \
         the full copy over {} rounds; the sequential-start case over {} rounds; the idle set \
         once per tool. Spread: 25th–75th percentile. Load average before: {}, after: {}.\n",
        ctx.rounds,
        ctx.guest_rounds,
        ctx.image_rounds,
        ctx.clone_rounds,
        ctx.copy_rounds,
        ctx.seq_rounds,
        ctx.load_before,
        ctx.load_after
    );
    for v in &ctx.versions {
        let _ = writeln!(out, "- {v}");
    }
    out.push('\n');

    let tools: Vec<Tool> = Tool::ALL
        .iter()
        .copied()
        .filter(|t| ctx.tools.contains(t))
        .collect();
    let _ = write!(out, "| case | unit |");
    for t in &tools {
        let _ = write!(out, " {t} |");
    }
    for t in tools.iter().filter(|t| **t != Tool::Rlxc) {
        let _ = write!(out, " rlxc / {t} |");
    }
    let _ = writeln!(out, " target |");
    let _ = write!(out, "|---|---|");
    for _ in 0..(tools.len() * 2) {
        let _ = write!(out, "---:|");
    }
    let _ = writeln!(out);

    for case in Case::ALL {
        if tools
            .iter()
            .all(|t| !res.samples.contains_key(&(case, *t)) && !res.na.contains_key(&(case, *t)))
        {
            continue;
        }
        let _ = write!(
            out,
            "| {} | {} |",
            case.label(ctx.seq, ctx.idle),
            case.unit()
        );
        for t in &tools {
            match stats(res, case, *t) {
                Some((m, lo, hi, n)) => {
                    let fails = res.failures.get(&(case, *t)).copied().unwrap_or(0);
                    let fails = if fails > 0 {
                        format!(" ({fails} failed)")
                    } else {
                        String::new()
                    };
                    if n > 1 {
                        let _ = write!(
                            out,
                            " **{}** <sub>{}–{}</sub>{fails} |",
                            fmt_num(m),
                            fmt_num(lo),
                            fmt_num(hi)
                        );
                    } else {
                        let _ = write!(out, " **{}**{fails} |", fmt_num(m));
                    }
                }
                None => match res.na.get(&(case, *t)) {
                    Some(why) => {
                        let _ = write!(out, " n/a<sup>{}</sup> |", footnote(why));
                    }
                    None => out.push_str(" — |"),
                },
            }
        }
        let ours = stats(res, case, Tool::Rlxc).map(|s| s.0);
        for t in tools.iter().filter(|t| **t != Tool::Rlxc) {
            match (ours, stats(res, case, *t).map(|s| s.0)) {
                (Some(a), Some(b)) if b > 0.0 => {
                    let _ = write!(out, " {:.2}× |", a / b);
                }
                _ => out.push_str(" |"),
            }
        }
        let _ = writeln!(out, " {} |", target_cell(res, case));
    }
    out.push_str("\nn/a reasons:\n\n");
    let mut reasons: Vec<&String> = res.na.values().collect();
    reasons.sort();
    reasons.dedup();
    for why in reasons {
        let _ = writeln!(out, "- <sup>{}</sup> {}", footnote(why), why);
    }
    if !res.notes.is_empty() {
        out.push_str("\nNotes from the run:\n\n");
        for n in &res.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out.push_str("\n![chart](chart.svg)\n");
    out
}

/// A short stable tag for an n/a reason.
fn footnote(why: &str) -> String {
    let h = why
        .bytes()
        .fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
    format!("{}", h % 997)
}

fn target_cell(res: &Results, case: Case) -> String {
    let Some(target) = case.target() else {
        return String::new();
    };
    let ours = stats(res, case, Tool::Rlxc).map(|s| s.0);
    match target {
        Target::AtMost(limit) => at_most_cell(case, ours, limit),
        Target::Ratios(list) => ratios_cell(res, case, ours, list),
        Target::Both(limit, list) => format!(
            "{}; {}",
            at_most_cell(case, ours, limit),
            ratios_cell(res, case, ours, list)
        ),
    }
}

fn at_most_cell(case: Case, ours: Option<f64>, limit: f64) -> String {
    match ours {
        Some(v) => format!(
            "≤ {limit} {}: {}",
            case.unit(),
            if v <= limit { "met" } else { "**missed**" }
        ),
        None => format!("≤ {limit} {}: not measured", case.unit()),
    }
}

fn ratios_cell(res: &Results, case: Case, ours: Option<f64>, list: &[(Tool, f64)]) -> String {
    list.iter()
        .map(|(tool, ratio)| {
            let theirs = stats(res, case, *tool).map(|s| s.0);
            let verdict = match (ours, theirs) {
                (Some(a), Some(b)) if a <= ratio * b => "met",
                (Some(_), Some(_)) => "**missed**",
                _ => "not measured",
            };
            format!("≤ {ratio}× {tool}: {verdict}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

const COLOURS: [RGBColor; 5] = [
    RGBColor(0xd9, 0x48, 0x1c), // rlxc
    RGBColor(0x3b, 0x6e, 0xa8), // LXC
    RGBColor(0x4a, 0x9c, 0x5d), // crun
    RGBColor(0x8e, 0x6c, 0xb0), // runc
    RGBColor(0x88, 0x88, 0x88), // floor
];

/// One small bar panel per case: medians with the 25th–75th percentile as a whisker.
pub fn chart(res: &Results, ctx: &Context, path: &Path) -> Result<(), String> {
    let cases: Vec<Case> = Case::ALL
        .iter()
        .copied()
        .filter(|c| {
            ctx.tools
                .iter()
                .any(|t| res.samples.contains_key(&(*c, *t)))
        })
        .collect();
    let cols = 4;
    let rows = cases.len().div_ceil(cols).max(1);
    let root = SVGBackend::new(path, (1400, 300 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels = root.split_evenly((rows, cols));
    for (case, area) in cases.iter().zip(panels.iter()) {
        let bars: Vec<(usize, Tool, f64, f64, f64)> = ctx
            .tools
            .iter()
            .filter_map(|t| stats(res, *case, *t).map(|(m, lo, hi, _)| (*t, m, lo, hi)))
            .enumerate()
            .map(|(i, (t, m, lo, hi))| (i, t, m, lo, hi))
            .collect();
        let top = bars.iter().map(|b| b.4.max(b.2)).fold(0.0, f64::max) * 1.15;
        let top = if top > 0.0 { top } else { 1.0 };
        let labels: Vec<&'static str> = bars.iter().map(|b| b.1.label()).collect();
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("{} ({})", case.label(ctx.seq, ctx.idle), case.unit()),
                ("sans-serif", 14),
            )
            .margin(8)
            .x_label_area_size(22)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.5f64..(bars.len() as f64 - 0.5).max(0.5), 0f64..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len().max(1))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    labels.get(i as usize).copied().unwrap_or("").to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| fmt_num(*y))
            .label_style(("sans-serif", 11))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, tool, m, lo, hi) in &bars {
            let x = *i as f64;
            let colour = COLOURS[Tool::ALL.iter().position(|t| t == tool).unwrap_or(0)];
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.35, 0.0), (x + 0.35, *m)],
                    colour.filled(),
                )))
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, *lo), (x, *hi)],
                    BLACK.stroke_width(1),
                )))
                .map_err(|e| e.to_string())?;
        }
    }
    root.present().map_err(|e| e.to_string())
}
