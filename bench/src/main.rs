//! rlxc-bench: rlxc side by side with LXC, crun, runc and the unshare floor, in one run.
//!
//! The recipe:
//! 1. make a private world (`Env::setup`): a busybox rootfs from `rlxc create -t busybox`,
//!    the same lxc.conf for rlxc and LXC, one OCI bundle for crun and runc;
//! 2. `--rounds` rounds; each runs every (block, tool) pair once, in a shuffled order, so
//!    load from elsewhere on the machine falls on every tool alike;
//! 3. `--guest-rounds` rounds of the systemd guest (rlxc and LXC, shuffled): boot to
//!    `running` and graceful stop, each from a fresh overlay of the cached Debian guest;
//! 4. `--clone-rounds` rounds of an overlay clone of a container holding 1 GiB (rlxc copy -s
//!    and lxc-copy -s, shuffled; see `clone`);
//! 5. `--image-rounds` rounds of a create from a cached Debian image (rlxc and LXC's
//!    download template, shuffled; see `image`);
//! 6. `--copy-rounds` rounds of a full copy of a container holding the Debian guest (rlxc
//!    copy and lxc-copy, shuffled; see `copy`);
//! 7. `--seq-rounds` rounds of N sequential starts, tools shuffled;
//! 8. once per tool (shuffled): the idle set, N long-running containers at once;
//! 9. write `results.md` and `chart.svg` into `--out`; clean up (also on error or Ctrl-C).

mod cases;
mod clone;
mod configs;
mod copy;
mod dbus;
mod env;
mod guest;
mod image;
mod report;
mod rounds;
mod sys;
mod tools;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use cases::{Block, Results};
use env::{Env, PREFIX};
use tools::Case;
use tools::Tool;

const USAGE: &str = "\
usage: rlxc-bench [--rlxc PATH] [--rounds N] [--guest-rounds N] [--image-rounds N]
                  [--clone-rounds N] [--copy-rounds N] [--seq N] [--seq-rounds N] [--idle N] [--tools rlxc,lxc,crun,runc,floor] [--out DIR]

Run as root. Measures rlxc against LXC, crun, runc (those installed) and the unshare floor in
interleaved, shuffled rounds, and writes DIR/results.md and DIR/chart.svg.

  --rlxc PATH      the rlxc binary (default: rlxc on PATH)
  --rounds N       rounds of the per-command cases (default 15)
  --guest-rounds N rounds of the systemd guest's boot and stop, rlxc and LXC (default 10;
                   0 skips it; the first run debootstraps the guest, once per machine)
  --image-rounds N rounds of a create from a cached Debian image, rlxc and LXC (default 5;
                   0 skips it)
  --clone-rounds N rounds of an overlay clone of a container holding 1 GiB, rlxc and LXC
                   (default 5; 0 skips it)
  --copy-rounds N  rounds of a full copy of a container holding the Debian guest, rlxc and
                   LXC (default 5; 0 skips it)
  --seq N          containers in the sequential-start case (default 50; 0 skips it)
  --seq-rounds N   rounds of the sequential-start case (default 3)
  --idle N         containers in the idle set (default 200; 0 skips it)
  --tools LIST     only these tools (rlxc and the floor are always kept)
  --out DIR        where results.md and chart.svg go (default docs/benchmarks)

rlxc-bench --guest-state PID   prints the SystemState of the systemd whose pid is PID, as the
                               guest case polls it (a check of the poll, for any guest)";

struct Args {
    rlxc: PathBuf,
    rounds: usize,
    guest_rounds: usize,
    image_rounds: usize,
    clone_rounds: usize,
    copy_rounds: usize,
    seq: usize,
    seq_rounds: usize,
    idle: usize,
    tools: Option<Vec<String>>,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rlxc: PathBuf::from("rlxc"),
        rounds: 15,
        guest_rounds: 10,
        image_rounds: 5,
        clone_rounds: 5,
        copy_rounds: 5,
        seq: 50,
        seq_rounds: 3,
        idle: 200,
        tools: None,
        out: PathBuf::from("docs/benchmarks"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--rlxc" => args.rlxc = PathBuf::from(&value),
            "--rounds" => args.rounds = number()?.max(1),
            "--guest-rounds" => args.guest_rounds = number()?,
            "--image-rounds" => args.image_rounds = number()?,
            "--clone-rounds" => args.clone_rounds = number()?,
            "--copy-rounds" => args.copy_rounds = number()?,
            "--seq" => args.seq = number()?,
            "--seq-rounds" => args.seq_rounds = number()?,
            "--idle" => args.idle = number()?,
            "--tools" => args.tools = Some(value.split(',').map(str::to_lowercase).collect()),
            "--out" => args.out = PathBuf::from(&value),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if args.rlxc.components().count() == 1 {
        args.rlxc = which(&args.rlxc.to_string_lossy())
            .ok_or("no rlxc on PATH: give --rlxc PATH (bench/run.sh builds one)")?;
    }
    Ok(args)
}

fn which(bin: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// A small xorshift generator: the shuffles need no more.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

fn version(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(format!("{cmd}: {}", text.lines().next()?.trim()))
}

fn main() -> ExitCode {
    if let Some(state) = guest_state_query() {
        return state;
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rlxc-bench: {e}");
            return ExitCode::from(2);
        }
    };
    // SAFETY: geteuid only reads the caller's credentials.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("rlxc-bench: run as root (containers, cgroups and namespaces need it)");
        return ExitCode::from(2);
    }
    sys::catch_interrupts();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rlxc-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--guest-state PID`: one poll of the guest case, printed.
fn guest_state_query() -> Option<ExitCode> {
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() != Some("--guest-state") {
        return None;
    }
    let pid = argv.next().and_then(|p| p.parse().ok());
    let Some(pid) = pid else {
        eprintln!("rlxc-bench: --guest-state needs a pid");
        return Some(ExitCode::from(2));
    };
    let began = std::time::Instant::now();
    Some(match dbus::system_state(pid) {
        Ok(state) => {
            println!("{state} (asked in {:?})", began.elapsed());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rlxc-bench: {e}");
            ExitCode::FAILURE
        }
    })
}

fn run(args: &Args) -> Result<(), String> {
    let many = args.seq.max(args.idle);
    let mut names: Vec<String> = (0..many).map(|i| format!("{PREFIX}{i}")).collect();
    names.push(format!("{PREFIX}true"));
    names.push(format!("{PREFIX}life"));
    let load_before = sys::loadavg();
    let env = Env::setup(&args.rlxc, &names)?;
    let tools: Vec<Tool> = env
        .tools
        .iter()
        .copied()
        .filter(|t| match &args.tools {
            Some(list) => {
                matches!(t, Tool::Rlxc | Tool::Floor) || list.contains(&t.label().to_lowercase())
            }
            None => true,
        })
        .collect();
    eprintln!(
        "rlxc-bench: scratch {}, tools: {}",
        env.dir.display(),
        tools
            .iter()
            .map(|t| t.label())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut rng = Rng(sys::now_secs() | 1);
    let mut res = Results::default();
    let blocks = [
        Block::OneShot,
        Block::Execute,
        Block::Lifecycle,
        Block::ParseConfig,
    ];
    // Warm-up: one untimed pass so first-run costs (page cache, lazy binding) hit nobody.
    let mut warm = Results::default();
    for tool in &tools {
        for block in blocks {
            if block.applies(*tool) {
                cases::run_block(&env, &mut warm, block, *tool);
            }
        }
    }
    for round in 0..args.rounds {
        let mut order: Vec<(Block, Tool)> = blocks
            .iter()
            .flat_map(|b| tools.iter().map(move |t| (*b, *t)))
            .filter(|(b, t)| b.applies(*t))
            .collect();
        rng.shuffle(&mut order);
        for (block, tool) in order {
            if sys::interrupted() {
                return Err("interrupted".into());
            }
            sys::settle();
            cases::run_block(&env, &mut res, block, tool);
        }
        eprintln!("rlxc-bench: round {}/{} done", round + 1, args.rounds);
    }

    if args.guest_rounds > 0 {
        guest_rounds(&env, &mut res, &tools, args.guest_rounds, &mut rng)?;
    }
    // Before the image and copy cases: their clean-ups delete thousands of inodes per
    // container, which slows the allocation of new ones for half a minute (see `rounds`).
    if args.clone_rounds > 0 {
        clone::clone_rounds(&env, &mut res, &tools, args.clone_rounds, &mut rng)?;
    }
    if args.image_rounds > 0 {
        image::image_rounds(&env, &mut res, &tools, args.image_rounds, &mut rng)?;
    }
    if args.copy_rounds > 0 {
        copy::copy_rounds(&env, &mut res, &tools, args.copy_rounds, &mut rng)?;
    }

    let runtimes: Vec<Tool> = tools.iter().copied().filter(|t| t.is_runtime()).collect();
    if args.seq > 0 {
        for round in 0..args.seq_rounds {
            let mut order = runtimes.clone();
            rng.shuffle(&mut order);
            for tool in order {
                if sys::interrupted() {
                    return Err("interrupted".into());
                }
                cases::start_many(&env, &mut res, tool, &names[..args.seq], false);
            }
            eprintln!(
                "rlxc-bench: {} sequential starts, round {}/{} done",
                args.seq,
                round + 1,
                args.seq_rounds
            );
        }
    }
    if args.idle > 0 {
        let mut order = runtimes.clone();
        rng.shuffle(&mut order);
        for tool in order {
            if sys::interrupted() {
                return Err("interrupted".into());
            }
            cases::start_many(&env, &mut res, tool, &names[..args.idle], true);
            eprintln!("rlxc-bench: {} idle containers, {tool} done", args.idle);
        }
    }

    let mut versions = vec![format!(
        "rlxc: {} ({})",
        args.rlxc.display(),
        Command::new("git")
            .args(["describe", "--always", "--dirty"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    )];
    versions.extend(version("lxc-start", &["--version"]).map(|v| format!("LXC {v}")));
    versions.extend(version("crun", &["--version"]));
    versions.extend(version("runc", &["--version"]));
    versions.extend(version("uname", &["-sr"]));
    versions.push(format!(
        "{} CPUs",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    ));
    let ctx = report::Context {
        seq: args.seq,
        idle: args.idle,
        rounds: args.rounds,
        guest_rounds: args.guest_rounds,
        image_rounds: args.image_rounds,
        clone_rounds: args.clone_rounds,
        copy_rounds: args.copy_rounds,
        seq_rounds: args.seq_rounds,
        versions,
        load_before,
        load_after: sys::loadavg(),
        date: Command::new("date")
            .args(["-u", "+%Y-%m-%d %H:%M UTC"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default(),
        tools,
    };
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let md = report::markdown(&res, &ctx);
    std::fs::write(args.out.join("results.md"), &md).map_err(|e| e.to_string())?;
    report::chart(&res, &ctx, &args.out.join("chart.svg"))?;
    println!("{md}");
    drop(env);
    Ok(())
}

/// The systemd guest's rounds: each boots and stops the guest once per tool that reads
/// lxc.conf, in a shuffled order, after an untimed boot per tool (the guest's files come
/// into the page cache once, for whichever tool went first).
fn guest_rounds(
    env: &Env,
    res: &mut Results,
    tools: &[Tool],
    rounds: usize,
    rng: &mut Rng,
) -> Result<(), String> {
    let guest_tools = Tool::lxc_conf_tools(tools);
    let lower = match guest::cached_rootfs() {
        Ok(lower) => lower,
        Err(e) => {
            res.not_available(&[Case::GuestBoot, Case::GuestStop], &guest_tools, &e);
            eprintln!("rlxc-bench: no systemd guest: {e}");
            return Ok(());
        }
    };
    let mut warm = Results::default();
    for tool in &guest_tools {
        cases::systemd_guest(env, &mut warm, *tool, &lower, 0);
    }
    for round in 1..=rounds {
        let mut order = guest_tools.clone();
        rng.shuffle(&mut order);
        for tool in order {
            if sys::interrupted() {
                return Err("interrupted".into());
            }
            cases::systemd_guest(env, res, tool, &lower, round);
        }
        eprintln!("rlxc-bench: systemd guest, round {round}/{rounds} done");
    }
    Ok(())
}
