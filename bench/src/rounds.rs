//! The rounds of the cases that make a new container each time (create from a cached image,
//! full copy): an untimed warm-up per tool, then each round once per tool in a shuffled
//! order, each after a `sync` and a quiet machine. Nothing is destroyed until the end: on
//! this host's ext4 (no journal), inodes freed in the last half minute are skipped over one by
//! one when new ones are allocated (`recently_deleted` in ext4's inode allocator: a create
//! right after a 250 MB destroy took five times as long), for whichever tool came next.

use std::process::Command;

use crate::cases::Results;
use crate::env::{Env, PREFIX};
use crate::tools::{Case, Tool};
use crate::{sys, Rng};

/// Times `make(tool, name)` (None: the tool cannot) for `case`; containers are named
/// `PREFIX{kind}-TOOL-ROUND` and `label` names the case in the progress lines.
#[allow(clippy::too_many_arguments)]
pub fn making_rounds(
    env: &Env,
    res: &mut Results,
    case: Case,
    kind: &str,
    label: &str,
    tools: &[Tool],
    rounds: usize,
    rng: &mut Rng,
    make: impl Fn(Tool, &str) -> Option<Command>,
) -> Result<(), String> {
    let mut made = Vec::new();
    let mut make_once = |res: &mut Results, tool: Tool, round: usize| {
        let name = format!("{PREFIX}{kind}-{}-{round}", tool.label().to_lowercase());
        let Some(command) = make(tool, &name) else {
            return;
        };
        let _ = Command::new("sync").status();
        sys::settle();
        made.push((tool, name));
        res.add_time(case, tool, env.time(command));
    };
    for tool in tools {
        make_once(&mut Results::default(), *tool, 0);
    }
    for round in 1..=rounds {
        let mut order = tools.to_vec();
        rng.shuffle(&mut order);
        for tool in order {
            if sys::interrupted() {
                break;
            }
            make_once(res, tool, round);
        }
        eprintln!("rlxc-bench: {label}, round {round}/{rounds} done");
    }
    for (tool, name) in made {
        if let Some(destroy) = env.destroy_command(tool, &name) {
            if let Err(e) = env.run(destroy) {
                res.fail(case, tool, format!("destroy {name}: {e}"));
            }
        }
    }
    if sys::interrupted() {
        return Err("interrupted".into());
    }
    Ok(())
}
