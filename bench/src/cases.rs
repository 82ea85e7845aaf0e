//! The blocks a round is made of. Each block runs one tool through one or more cases and
//! records a sample per case; a round runs every (block, tool) pair once, in shuffled order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::env::{Env, Step, PREFIX};
use crate::guest::Overlay;
use crate::tools::{Case, Tool};
use crate::{dbus, sys};

/// Samples per (case, tool), and why a case has none.
#[derive(Default)]
pub struct Results {
    pub samples: BTreeMap<(Case, Tool), Vec<f64>>,
    pub na: BTreeMap<(Case, Tool), String>,
    pub failures: BTreeMap<(Case, Tool), usize>,
    pub notes: Vec<String>,
}

impl Results {
    /// `cases` cannot be measured for `tools`, for the reason `why`.
    pub fn not_available(&mut self, cases: &[Case], tools: &[Tool], why: &str) {
        for tool in tools {
            for case in cases {
                self.na.insert((*case, *tool), why.to_string());
            }
        }
    }

    fn add(&mut self, case: Case, tool: Tool, value: f64) {
        self.samples.entry((case, tool)).or_default().push(value);
    }

    pub fn add_time(&mut self, case: Case, tool: Tool, took: Result<Duration, String>) -> bool {
        match took {
            Ok(d) => {
                self.add(case, tool, ms(d));
                true
            }
            Err(e) => {
                self.fail(case, tool, e);
                false
            }
        }
    }

    pub fn fail(&mut self, case: Case, tool: Tool, why: String) {
        *self.failures.entry((case, tool)).or_default() += 1;
        self.na.entry((case, tool)).or_insert(why);
    }

    /// A verb the tool does not have is not tried again.
    fn unavailable(&self, case: Case, tool: Tool) -> bool {
        self.na
            .get(&(case, tool))
            .is_some_and(|why| why.contains("not available"))
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A block of a round.
#[derive(Clone, Copy, Debug)]
pub enum Block {
    /// `/bin/true` as the container's init, foreground, cleaned up (the floor too).
    OneShot,
    /// `/bin/true` through the execute verb (rlxc, LXC).
    Execute,
    /// One long-running container: start, helper memory, info, attach, cgroup set, freeze,
    /// unfreeze, hard stop; start again, graceful stop.
    Lifecycle,
    /// `config check` of a 100,000-line config (rlxc only: no other tool has the verb).
    ParseConfig,
}

impl Block {
    pub fn applies(self, tool: Tool) -> bool {
        match self {
            Block::OneShot => true,
            Block::Execute => matches!(tool, Tool::Rlxc | Tool::Lxc),
            Block::Lifecycle => tool.is_runtime(),
            Block::ParseConfig => tool == Tool::Rlxc,
        }
    }
}

pub fn run_block(env: &Env, res: &mut Results, block: Block, tool: Tool) {
    match block {
        Block::OneShot => {
            let name = format!("{PREFIX}true");
            if let Some(cmd) = env.command(tool, Step::OneShot, &name) {
                res.add_time(Case::OneShot, tool, env.time(cmd));
            }
        }
        Block::Execute => {
            let name = format!("{PREFIX}true");
            if let Some(cmd) = env.command(tool, Step::Execute, &name) {
                res.add_time(Case::Execute, tool, env.time(cmd));
            }
        }
        Block::Lifecycle => lifecycle(env, res, tool),
        Block::ParseConfig => {
            if let Some(cmd) = env.command(tool, Step::ParseConfig, "") {
                res.add_time(Case::ParseConfig, tool, env.time(cmd));
            }
        }
    }
}

/// Samples of each verb (info, attach, cgroup set, freeze, unfreeze) per lifecycle block: a
/// verb takes a millisecond or two, so one sample per round would leave its median to a few
/// dozen draws of whatever else the machine did at that moment.
const VERB_REPEATS: usize = 5;

fn lifecycle(env: &Env, res: &mut Results, tool: Tool) {
    let name = format!("{PREFIX}life");
    let Some(start) = env.command(tool, Step::Start, &name) else {
        return;
    };
    env.mark_live(tool, &name, true);
    if !res.add_time(Case::Start, tool, env.time(start)) {
        stop_quietly(env, tool, &name);
        return;
    }
    helper_memory(env, res, tool, &name);
    for _ in 0..VERB_REPEATS {
        for (case, step) in [
            (Case::Info, Step::Info),
            (Case::Attach, Step::Attach),
            (Case::CgroupSet, Step::CgroupSet),
            (Case::Freeze, Step::Freeze),
            (Case::Unfreeze, Step::Unfreeze),
        ] {
            if res.unavailable(case, tool) {
                continue;
            }
            if let Some(cmd) = env.command(tool, step, &name) {
                res.add_time(case, tool, env.time(cmd));
            }
        }
    }
    let hard = env
        .command(tool, Step::HardStop, &name)
        .map(|c| env.time(c));
    if let Some(took) = hard {
        if res.add_time(Case::HardStop, tool, took) {
            env.mark_live(tool, &name, false);
        } else {
            stop_quietly(env, tool, &name);
        }
    }

    // Graceful: start again (not timed), then time the halt and see when init exits.
    let Some(start) = env.command(tool, Step::Start, &name) else {
        return;
    };
    env.mark_live(tool, &name, true);
    if let Err(e) = env.time(start) {
        res.fail(Case::GracefulStop, tool, format!("second start: {e}"));
        stop_quietly(env, tool, &name);
        return;
    }
    match graceful_stop(env, tool, &name) {
        Ok((took, tail)) => {
            res.add(Case::GracefulStop, tool, ms(took));
            res.add(Case::StopTail, tool, ms(tail));
            env.mark_live(tool, &name, false);
        }
        Err(e) => {
            res.fail(Case::GracefulStop, tool, e);
            stop_quietly(env, tool, &name);
        }
    }
}

/// USS and PSS of the process that stays behind for a running container: init's parent for
/// rlxc (`rlxc-mon`) and LXC (`[lxc monitor]`). crun and runc leave none: init's parent is
/// the host's init once they exit.
fn helper_memory(env: &Env, res: &mut Results, tool: Tool, name: &str) {
    match helper_pid(env, tool, name) {
        Ok(helper) => match helpers_memory(helper, init_of(env, tool, name)) {
            Some((uss, pss)) => {
                res.add(Case::HelperUss, tool, uss);
                res.add(Case::HelperPss, tool, pss);
            }
            None => res.fail(Case::HelperUss, tool, "no smaps_rollup".into()),
        },
        Err(why) => {
            res.na.entry((Case::HelperUss, tool)).or_insert(why.clone());
            res.na.entry((Case::HelperPss, tool)).or_insert(why);
        }
    }
}

fn helper_pid(env: &Env, tool: Tool, name: &str) -> Result<i32, String> {
    if !matches!(tool, Tool::Rlxc | Tool::Lxc) {
        return Err("no helper process (init is reparented)".into());
    }
    let init = env
        .init_pid(tool, name)
        .ok_or_else(|| "init pid unknown".to_string())?;
    helper_of(tool, init)
}

fn init_of(env: &Env, tool: Tool, name: &str) -> Option<i32> {
    env.init_pid(tool, name)
}

/// (USS, PSS) of a container's helper processes: the monitor (init's parent) and its other
/// children (rlxc's /proc view server; LXC's monitor has none). The USS is that of the group,
/// pages no process outside it maps: each one's own USS, summed, would miss the pages a
/// forked helper still shares with its monitor, which the container's stop frees as well.
fn helpers_memory(monitor: i32, init: Option<i32>) -> Option<(f64, f64)> {
    let mut group = vec![monitor];
    group.extend(
        sys::children(monitor)
            .into_iter()
            .filter(|c| Some(*c) != init),
    );
    let mut pss = 0.0;
    for pid in &group {
        pss += sys::pss_kib(*pid)?;
    }
    Some((sys::unique_kib(&group)?, pss))
}

fn helper_of(tool: Tool, init: i32) -> Result<i32, String> {
    if !matches!(tool, Tool::Rlxc | Tool::Lxc) {
        return Err("no helper process (init is reparented)".into());
    }
    match sys::ppid(init) {
        Some(p) if p > 1 => Ok(p),
        _ => Err("init has no helper parent".into()),
    }
}

/// The graceful stop command's time, and how long after init's exit it returned.
fn graceful_stop(env: &Env, tool: Tool, name: &str) -> Result<(Duration, Duration), String> {
    let init = env
        .init_pid(tool, name)
        .ok_or_else(|| "init pid unknown".to_string())?;
    let pidfd = sys::pidfd_open(init).map_err(|e| format!("pidfd of init: {e}"))?;
    let watcher = std::thread::spawn(move || {
        sys::wait_pidfd(&pidfd, 120_000);
        Instant::now()
    });
    let began = Instant::now();
    let stop = env
        .command(tool, Step::GracefulStop, name)
        .ok_or_else(|| "no stop verb".to_string())?;
    env.time(stop)?;
    if matches!(tool, Tool::Crun | Tool::Runc) {
        // kill PWR has returned; the caller waits for init, then deletes.
        let exited = watcher.join().map_err(|_| "watcher panicked")?;
        let _ = exited;
        env.time(env.oci_delete(tool, name))?;
        let done = Instant::now();
        return Ok((done - began, done - exited));
    }
    let done = Instant::now();
    let exited = watcher.join().map_err(|_| "watcher panicked")?;
    Ok((done - began, done.saturating_duration_since(exited)))
}

fn stop_quietly(env: &Env, tool: Tool, name: &str) {
    if let Some(cmd) = env.command(tool, Step::HardStop, name) {
        if env.run(cmd).is_ok() {
            env.mark_live(tool, name, false);
        }
    }
}

/// How long a guest may take to boot or stop before the bench gives up on it.
const GUEST_LIMIT: Duration = Duration::from_secs(60);
/// How often the guest's systemd is asked for its state while it boots: a query takes about
/// a millisecond (two forks, a round trip), the boot hundreds.
const GUEST_POLL: Duration = Duration::from_millis(10);

/// The systemd guest, once with `tool` (rlxc or LXC): a fresh overlay of the cached guest,
/// `start -d` until systemd says `running`, then a graceful stop until the command returns
/// with init gone and the overlay unmountable (nothing of the container left in it).
pub fn systemd_guest(
    env: &Env,
    res: &mut Results,
    tool: Tool,
    lower: &std::path::Path,
    boot: usize,
) {
    let name = format!("{PREFIX}guest");
    let dir = env.dir.join(format!("guest-{}-{boot}", tool.label()));
    let overlay = match Overlay::new(lower, dir) {
        Ok(overlay) => overlay,
        Err(e) => return res.fail(Case::GuestBoot, tool, e),
    };
    if let Err(e) = env.write_guest_config(tool, &name, &overlay.rootfs()) {
        return res.fail(Case::GuestBoot, tool, e);
    }
    let Some(start) = env.command(tool, Step::Start, &name) else {
        return;
    };
    sys::settle();
    env.mark_live(tool, &name, true);
    match boot_guest(env, tool, &name, start) {
        Ok(took) => res.add(Case::GuestBoot, tool, ms(took)),
        Err(e) => {
            res.fail(Case::GuestBoot, tool, e);
            stop_quietly(env, tool, &name);
            return;
        }
    }
    sys::settle();
    match stop_guest(env, tool, &name) {
        Ok(took) => {
            env.mark_live(tool, &name, false);
            match overlay.remove() {
                Ok(()) => res.add(Case::GuestStop, tool, ms(took)),
                Err(e) => res.fail(Case::GuestStop, tool, e),
            }
        }
        Err(e) => {
            res.fail(Case::GuestStop, tool, e);
            stop_quietly(env, tool, &name);
        }
    }
}

/// From spawning the start command until the guest's systemd reports `running`, asked over
/// its private socket from the host (see `dbus`). Init's pid comes from the tool's own info
/// verb after the start returned, while systemd boots: a few milliseconds of a boot of
/// hundreds.
fn boot_guest(
    env: &Env,
    tool: Tool,
    name: &str,
    start: std::process::Command,
) -> Result<Duration, String> {
    let began = Instant::now();
    env.time(start)?;
    let init = env
        .init_pid(tool, name)
        .ok_or_else(|| "init pid unknown after start".to_string())?;
    loop {
        let last = match dbus::system_state(init) {
            Ok(state) if state == "running" => return Ok(began.elapsed()),
            Ok(state) if state == "degraded" => {
                return Err(format!(
                    "booted degraded: failed units: {}",
                    failed_units(env, tool, name)
                ))
            }
            Ok(state) => state,
            Err(e) => e.to_string(),
        };
        if sys::interrupted() {
            return Err("interrupted".into());
        }
        if began.elapsed() > GUEST_LIMIT {
            return Err(format!("not running after {GUEST_LIMIT:?} (last: {last})"));
        }
        std::thread::sleep(GUEST_POLL);
    }
}

/// `systemctl --failed` inside, for the report of a degraded boot.
fn failed_units(env: &Env, tool: Tool, name: &str) -> String {
    let Some(cmd) = env.attach(
        tool,
        name,
        &["systemctl", "--failed", "--plain", "--no-legend"],
    ) else {
        return "?".into();
    };
    match env.run(cmd) {
        Ok(out) => out
            .split_whitespace()
            .filter(|w| w.contains('.'))
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => e,
    }
}

/// The graceful stop command's time; an error if init still runs when it returned.
fn stop_guest(env: &Env, tool: Tool, name: &str) -> Result<Duration, String> {
    let init = env
        .init_pid(tool, name)
        .ok_or_else(|| "init pid unknown".to_string())?;
    let pidfd = sys::pidfd_open(init).map_err(|e| format!("pidfd of init: {e}"))?;
    let stop = env
        .command(tool, Step::GracefulStop, name)
        .ok_or_else(|| "no stop verb".to_string())?;
    let took = env.time(stop)?;
    if !sys::exited(&pidfd) {
        return Err("the stop command returned while init still ran".into());
    }
    Ok(took)
}

/// Start `names` one after another; the total time, then (when `idle`) the host memory they
/// use and their helpers' memory; then hard-stop them all.
pub fn start_many(env: &Env, res: &mut Results, tool: Tool, names: &[String], idle: bool) {
    let start_case = if idle {
        Case::IdleStart
    } else {
        Case::SeqStarts
    };
    let before = sys::host_mem_used_kib();
    let began = Instant::now();
    let mut started = Vec::new();
    let mut error = None;
    for name in names {
        let Some(cmd) = env.command(tool, Step::Start, name) else {
            return;
        };
        env.mark_live(tool, name, true);
        match env.time(cmd) {
            Ok(_) => started.push(name.clone()),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let took = began.elapsed().as_secs_f64();
    let after = sys::host_mem_used_kib();
    if let Some(e) = error {
        res.notes.push(format!(
            "{tool}: {} of {} containers started, then: {e}",
            started.len(),
            names.len()
        ));
        res.fail(
            start_case,
            tool,
            format!("{} of {} started", started.len(), names.len()),
        );
    } else {
        res.add(start_case, tool, took);
        if idle {
            res.add(Case::IdleMem, tool, (after - before) / 1024.0);
            let mut uss = Vec::new();
            let mut pss = Vec::new();
            let mut total = 0.0;
            for name in &started {
                let Some(init) = env.init_pid(tool, name) else {
                    continue;
                };
                total += sys::pss_kib(init).unwrap_or(0.0);
                let helper = helper_of(tool, init).ok();
                if let Some((u, p)) = helper.and_then(|helper| helpers_memory(helper, Some(init))) {
                    total += p;
                    uss.push(u);
                    pss.push(p);
                }
            }
            res.add(Case::IdlePssTotal, tool, total / 1024.0);
            if let (Some(u), Some(p)) = (median(&mut uss), median(&mut pss)) {
                res.add(Case::IdleUss, tool, u);
                res.add(Case::IdlePss, tool, p);
            }
        }
    }
    let began = Instant::now();
    for name in &started {
        stop_quietly(env, tool, name);
    }
    if idle {
        res.add(Case::IdleStop, tool, began.elapsed().as_secs_f64());
    }
}

pub fn median(v: &mut [f64]) -> Option<f64> {
    quantile(v, 0.5)
}

/// The q-quantile, linearly interpolated.
pub fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}
