//! Turns a feature, the kernel config and the live facts into the two answers shown.

use super::features::{ConfigRule, Controller, Feature, Need, Probe};
use super::kernel_config::{KernelConfig, OptionState};
use super::probes::{LinkOutcome, LiveFacts, NamespaceProbe};
use rlxc_runtime::namespaces::Namespace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Quiet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    fn new(text: impl Into<String>, tone: Tone) -> Self {
        Self {
            text: text.into(),
            tone,
        }
    }
}

/// The "kernel config" answer; `None` when the row does not apply to this kernel version.
pub fn config_cell(feature: &Feature, config: Option<&KernelConfig>) -> Option<Cell> {
    let Some(config) = config else {
        return Some(Cell::new("unknown", Tone::Quiet));
    };
    let missing = || missing_cell(feature.need, "missing");
    Some(match feature.config {
        ConfigRule::Always => Cell::new("always built in", Tone::Good),
        ConfigRule::Option(option) => state_cell(config.state(option), feature.need),
        ConfigRule::Renamed(names) => {
            let found = names
                .iter()
                .enumerate()
                .find(|(_, name)| config.state(name) != OptionState::Absent);
            match found {
                Some((0, name)) => state_cell(config.state(name), feature.need),
                Some((_, name)) => {
                    let mut cell = state_cell(config.state(name), feature.need);
                    cell.text = format!("{} (as {})", cell.text, short(name));
                    cell
                }
                None => missing(),
            }
        }
        ConfigRule::AllOf(options) => {
            match options
                .iter()
                .find(|option| !config.state(option).is_enabled())
            {
                Some(off) => missing_cell(feature.need, &format!("missing {}", short(off))),
                None if options
                    .iter()
                    .any(|option| config.state(option) == OptionState::Module) =>
                {
                    Cell::new("module", Tone::Good)
                }
                None => Cell::new("enabled", Tone::Good),
            }
        }
        ConfigRule::BuiltInSince {
            option,
            since,
            needs,
            says,
        } => {
            if config.state(option).is_enabled() {
                state_cell(config.state(option), feature.need)
            } else if !config.is_at_least(since) {
                missing()
            } else {
                match needs.iter().find(|need| !config.state(need).is_enabled()) {
                    Some(off) => missing_cell(feature.need, &format!("missing {}", short(off))),
                    None => Cell::new(says, Tone::Good),
                }
            }
        }
        ConfigRule::OnlyFor {
            option,
            from,
            until,
        } => {
            let version = config.version?;
            if version < from || version >= until {
                return None;
            }
            state_cell(config.state(option), feature.need)
        }
    })
}

/// The state of the option that decides the feature, used to explain a live failure.
pub fn main_option_state(feature: &Feature, config: &KernelConfig) -> Option<OptionState> {
    match feature.config {
        ConfigRule::Option(option)
        | ConfigRule::OnlyFor { option, .. }
        | ConfigRule::BuiltInSince { option, .. } => Some(config.state(option)),
        ConfigRule::Renamed(names) => names
            .iter()
            .map(|name| config.state(name))
            .find(|state| *state != OptionState::Absent),
        ConfigRule::AllOf(options) => options
            .iter()
            .map(|option| config.state(option))
            .find(|state| !state.is_enabled())
            .or(Some(OptionState::BuiltIn)),
        ConfigRule::Always => Some(OptionState::BuiltIn),
    }
}

fn short(option: &str) -> &str {
    option.strip_prefix("CONFIG_").unwrap_or(option)
}

fn state_cell(state: OptionState, need: Need) -> Cell {
    match state {
        OptionState::BuiltIn | OptionState::Value => Cell::new("enabled", Tone::Good),
        OptionState::Module => Cell::new("module", Tone::Good),
        OptionState::NotSet | OptionState::Absent => missing_cell(need, "missing"),
    }
}

fn missing_cell(need: Need, text: &str) -> Cell {
    match need {
        Need::Required => Cell::new(format!("{text} (required)"), Tone::Bad),
        Need::Optional => Cell::new(text, Tone::Warn),
    }
}

/// The "this system" answer from the live probes. `config_state` is what the config says
/// about the feature's main option, used to explain a failure (a module that cannot load).
pub fn live_cell(feature: &Feature, config_state: Option<OptionState>, facts: &LiveFacts) -> Cell {
    let failed_tone = match feature.need {
        Need::Required => Tone::Bad,
        Need::Optional => Tone::Warn,
    };
    match feature.probe {
        Probe::None => Cell::new("-", Tone::Quiet),
        Probe::Namespace(kind) => match facts.namespace(kind) {
            Some(probe) => namespace_cell(kind, probe, facts, failed_tone),
            None => Cell::new("not probed", Tone::Quiet),
        },
        Probe::CgroupLayout => match &facts.cgroups {
            Ok(layout) => match layout.kind() {
                Some(kind) => Cell::new(kind.to_string(), Tone::Good),
                None => Cell::new("no cgroup filesystem mounted", failed_tone),
            },
            Err(error) => Cell::new(format!("cannot tell: {error}"), failed_tone),
        },
        Probe::Controller(controller) => controller_cell(controller, config_state, facts),
        Probe::CgroupV2Mounted => match facts.cgroups.as_ref().ok().and_then(|l| l.v2.as_ref()) {
            Some(v2) => Cell::new(
                format!("cgroup2 at {}", v2.mount_point.display()),
                Tone::Good,
            ),
            None => Cell::new("no cgroup2 mount", Tone::Warn),
        },
        Probe::Link(kind) => match &facts.links {
            Err(error) => {
                let why = errno_text(error.errno(), error);
                let needs_root = if facts.is_root { "" } else { ", needs root" };
                Cell::new(format!("untested: {why}{needs_root}"), Tone::Quiet)
            }
            Ok(outcomes) => link_cell(outcomes.get(kind), config_state, facts, failed_tone),
        },
        Probe::SwapAccounting => match facts.swap_accounting {
            Some(true) => Cell::new("v1 memory.memsw.* present", Tone::Good),
            Some(false) => Cell::new("off (booted with swapaccount=0?)", Tone::Warn),
            None => Cell::new("-", Tone::Quiet),
        },
        Probe::Seccomp if facts.seccomp => Cell::new("available", Tone::Good),
        Probe::Seccomp => Cell::new("not in the running kernel", failed_tone),
        Probe::SeccompFilter => match &facts.seccomp_actions {
            Some(actions) => Cell::new(format!("actions: {actions}"), Tone::Good),
            None => Cell::new("not in the running kernel", failed_tone),
        },
        Probe::Fuse => match (facts.fuse_filesystem, facts.fuse_device) {
            (true, true) => Cell::new("/dev/fuse present", Tone::Good),
            (true, false) => Cell::new("in kernel, but no /dev/fuse", Tone::Warn),
            (false, _) => Cell::new("not in the running kernel", failed_tone),
        },
    }
}

fn namespace_cell(
    kind: Namespace,
    probe: &NamespaceProbe,
    facts: &LiveFacts,
    failed_tone: Tone,
) -> Cell {
    match (&probe.direct, &probe.in_user_namespace) {
        (Ok(()), _) => match (&facts.idmap_helper_problem, kind) {
            (Some(problem), Namespace::User) => Cell::new(
                format!("can create; unprivileged use blocked: {problem}"),
                Tone::Warn,
            ),
            _ => Cell::new("can create", Tone::Good),
        },
        (Err(_), Some(Ok(()))) => Cell::new("can create inside a user namespace", Tone::Good),
        (Err(error), _) => Cell::new(
            format!("cannot create: {}", errno_text(error.errno(), error)),
            failed_tone,
        ),
    }
}

fn controller_cell(
    controller: Controller,
    config_state: Option<OptionState>,
    facts: &LiveFacts,
) -> Cell {
    let layout = match &facts.cgroups {
        Ok(layout) => layout,
        Err(error) => return Cell::new(format!("cannot tell: {error}"), Tone::Warn),
    };
    if let Some(hierarchy) = layout.v1_hierarchy_of(controller.v1) {
        return Cell::new(
            format!("v1 at {}", hierarchy.mount_point.display()),
            Tone::Good,
        );
    }
    if let Some(v2) = &layout.v2 {
        if controller.v2.is_some_and(|name| v2.has(name)) {
            return Cell::new(format!("v2 at {}", v2.mount_point.display()), Tone::Good);
        }
        if controller.v2_builtin {
            return Cell::new(
                format!("v2 at {} (implicit)", v2.mount_point.display()),
                Tone::Good,
            );
        }
    }
    match config_state {
        Some(state) if state.is_enabled() => Cell::new("enabled, but not mounted", Tone::Warn),
        _ => Cell::new("not available", Tone::Warn),
    }
}

fn link_cell(
    outcome: &LinkOutcome,
    config_state: Option<OptionState>,
    facts: &LiveFacts,
    failed_tone: Tone,
) -> Cell {
    match outcome {
        LinkOutcome::Created => Cell::new("can create", Tone::Good),
        LinkOutcome::NotDeleted(error) => {
            Cell::new(format!("created, but delete failed: {error}"), Tone::Warn)
        }
        LinkOutcome::NoParent => Cell::new("untested: no parent link", Tone::Quiet),
        LinkOutcome::Failed(error) => {
            let why = errno_text(error.errno(), error);
            let text = match config_state {
                Some(OptionState::Module) if !facts.has_module_tree => {
                    format!("module, not loadable: {why}")
                }
                Some(OptionState::Module) => format!("module, not loaded: {why}"),
                Some(state) if !state.is_enabled() => format!("not in kernel: {why}"),
                _ => format!("cannot create: {why}"),
            };
            Cell::new(text, failed_tone)
        }
    }
}

/// `EOPNOTSUPP` rather than "Operation not supported (os error 95)": the symbolic name is
/// what people search for. Errors without an errno keep their message.
fn errno_text(errno: Option<i32>, error: &dyn std::fmt::Display) -> String {
    match errno.and_then(errno_name) {
        Some(name) => name.to_owned(),
        None => error.to_string(),
    }
}

fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EINTR => "EINTR",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOSYS => "ENOSYS",
        libc::EUSERS => "EUSERS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        _ => return None,
    })
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
