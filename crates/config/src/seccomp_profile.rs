//! LXC's seccomp profile files (`lxc.seccomp.profile = FILE`), versions 1 and 2, read into
//! rules. Only the text is read here: syscall names are resolved, and the filter built, by the
//! runtime through libseccomp, so this crate (and `rlxc config check` through it) finds every
//! mistake in the file's shape without linking a C library.
//!
//! ```text
//! 2                        version: 1 or 2
//! denylist errno 38        the policy: allowlist/whitelist or denylist/blacklist, and an
//!                          optional default action
//! [x86_64]                 rules below apply to this architecture only ([all]: every one)
//! mkdir errno 13           syscall, optional action, optional argument comparisons
//! ioctl errno 1 [1,0x5412,SCMP_CMP_EQ]
//! ```
//! Version 1 is a plain allow list of syscall numbers of the host's own architecture.

use std::fmt;

/// A whole profile: how unlisted calls are answered and the rules, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub version: u8,
    pub policy: Policy,
    /// What a call no rule matches gets.
    pub default_action: Action,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Everything not listed is refused (LXC: `allowlist`, formerly `whitelist`).
    Allowlist,
    /// Everything not listed is allowed (LXC: `denylist`, formerly `blacklist`).
    Denylist,
}

/// What a rule (or the policy's default) does with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The process is killed (SIGSYS).
    Kill,
    /// The thread gets SIGSYS and may handle it.
    Trap,
    /// The call fails with this errno without running (0: it "succeeds" doing nothing).
    Errno(u16),
    /// A supervisor decides (seccomp user notification).
    Notify,
    Allow,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Kill => f.write_str("kill"),
            Action::Trap => f.write_str("trap"),
            Action::Errno(n) => write!(f, "errno {n}"),
            Action::Notify => f.write_str("notify"),
            Action::Allow => f.write_str("allow"),
        }
    }
}

/// Which architecture a rule applies to: a `[section]` of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Rules before any section, or under `[all]`: every ABI the host runs (on x86_64 also
    /// i386 and x32, as LXC does).
    All,
    /// The host's own ABI only (version 1's numbers).
    Native,
    X86,
    X32,
    X86_64,
    Arm,
    Arm64,
    Ppc,
    Ppc64,
    Ppc64le,
    Mips,
    Mips64,
    Mips64n32,
    Mipsel,
    Mipsel64,
    Mipsel64n32,
    S390,
    S390x,
}

/// Section names as LXC spells them (lower case; LXC also takes the upper-case spelling).
const SECTIONS: &[(&str, Arch)] = &[
    ("all", Arch::All),
    ("x86", Arch::X86),
    ("x32", Arch::X32),
    ("x86_64", Arch::X86_64),
    ("arm", Arch::Arm),
    ("arm64", Arch::Arm64),
    ("ppc", Arch::Ppc),
    ("ppc64", Arch::Ppc64),
    ("ppc64le", Arch::Ppc64le),
    ("mips", Arch::Mips),
    ("mips64", Arch::Mips64),
    ("mips64n32", Arch::Mips64n32),
    ("mipsel", Arch::Mipsel),
    ("mipsel64", Arch::Mipsel64),
    ("mipsel64n32", Arch::Mipsel64n32),
    ("s390", Arch::S390),
    ("s390x", Arch::S390x),
];

/// The call a rule is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Syscall {
    Name(String),
    /// A number of the host's own ABI (version 1, or a number written in version 2).
    Number(u32),
    /// LXC's shorthand: `umount2` with `MNT_FORCE` in its flags fails with EACCES.
    RejectForceUmount,
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Syscall::Name(name) => f.write_str(name),
            Syscall::Number(nr) => write!(f, "{nr}"),
            Syscall::RejectForceUmount => f.write_str("reject_force_umount"),
        }
    }
}

/// `[index,value,op]` or `[index,value,op,mask]`: the call's argument `index` compared with
/// `value` (for `SCMP_CMP_MASKED_EQ`: `arg & mask == value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgCmp {
    pub index: u8,
    pub op: CmpOp,
    pub value: u64,
    pub mask: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

const OPERATORS: &[(&str, &str, CmpOp)] = &[
    ("SCMP_CMP_NE", "!=", CmpOp::Ne),
    ("SCMP_CMP_LT", "<", CmpOp::Lt),
    ("SCMP_CMP_LE", "<=", CmpOp::Le),
    ("SCMP_CMP_EQ", "==", CmpOp::Eq),
    ("SCMP_CMP_GE", ">=", CmpOp::Ge),
    ("SCMP_CMP_GT", ">", CmpOp::Gt),
    ("SCMP_CMP_MASKED_EQ", "&=", CmpOp::MaskedEq),
];

/// One rule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Line number in the profile file (1-based), for errors found later (an unknown name).
    pub line: usize,
    pub arch: Arch,
    pub syscall: Syscall,
    pub action: Action,
    pub args: Vec<ArgCmp>,
}

/// A mistake in a profile, at a line of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {why}")]
pub struct ProfileError {
    pub line: usize,
    pub why: String,
}

fn error<T>(line: usize, why: impl Into<String>) -> Result<T, ProfileError> {
    Err(ProfileError {
        line,
        why: why.into(),
    })
}

/// The kernel passes at most 4095 as an errno (`MAX_ERRNO`).
const MAX_ERRNO: u16 = 4095;
/// A syscall has six arguments.
const MAX_ARGS: usize = 6;

/// Reads a profile's text.
pub fn parse(text: &str) -> Result<Profile, ProfileError> {
    let mut lines = text.lines().enumerate().map(|(i, line)| (i + 1, line));
    let (_, first) = lines.next().unwrap_or((1, ""));
    let version = match first.trim() {
        "1" => 1,
        "2" => 2,
        other => return error(1, format!("expected the version (1 or 2), found {other:?}")),
    };
    let Some((_, second)) = lines.next() else {
        return error(
            2,
            "expected the policy (allowlist or denylist), found the end of the file",
        );
    };
    if second.contains("debug") {
        return error(
            2,
            "`debug` is not supported (LXC does not implement it either)",
        );
    }
    if version == 1 {
        if !(second.contains("allowlist") || second.contains("whitelist")) {
            return error(
                2,
                "version 1 profiles are allow lists: expected `allowlist`",
            );
        }
        return parse_v1(lines);
    }
    let (policy, default_action) = parse_policy_line(second)?;
    parse_v2(lines, policy, default_action)
}

fn parse_v1<'a>(lines: impl Iterator<Item = (usize, &'a str)>) -> Result<Profile, ProfileError> {
    let mut rules = Vec::new();
    for (number, line) in lines {
        let text = strip_comment(line);
        if text.is_empty() {
            continue;
        }
        let Ok(nr) = text.parse::<u32>() else {
            return error(number, format!("expected a syscall number, found {text:?}"));
        };
        rules.push(Rule {
            line: number,
            arch: Arch::Native,
            syscall: Syscall::Number(nr),
            action: Action::Allow,
            args: Vec::new(),
        });
    }
    Ok(Profile {
        version: 1,
        policy: Policy::Allowlist,
        default_action: Action::Kill,
        rules,
    })
}

/// `denylist [ACTION]` or `allowlist [ACTION]`; the default is to allow everything unlisted
/// (denylist) or to kill (allowlist), as LXC does.
fn parse_policy_line(line: &str) -> Result<(Policy, Action), ProfileError> {
    let text = strip_comment(line);
    let mut words = text.split_whitespace();
    let policy = match words.next() {
        Some("denylist" | "blacklist") => Policy::Denylist,
        Some("allowlist" | "whitelist") => Policy::Allowlist,
        _ => {
            return error(
                2,
                format!("expected the policy (allowlist or denylist), found {text:?}"),
            )
        }
    };
    let rest: Vec<&str> = words.collect();
    let default_action = match rest.as_slice() {
        [] => match policy {
            Policy::Denylist => Action::Allow,
            Policy::Allowlist => Action::Kill,
        },
        words => parse_action(2, words)?,
    };
    Ok((policy, default_action))
}

fn parse_v2<'a>(
    lines: impl Iterator<Item = (usize, &'a str)>,
    policy: Policy,
    default_action: Action,
) -> Result<Profile, ProfileError> {
    let rule_default = match policy {
        Policy::Denylist => Action::Kill,
        Policy::Allowlist => Action::Allow,
    };
    let mut arch = Arch::All;
    let mut rules = Vec::new();
    for (number, line) in lines {
        let text = strip_comment(line);
        if text.is_empty() {
            continue;
        }
        if let Some(section) = text.strip_prefix('[').filter(|_| !text.contains(',')) {
            arch = parse_section(number, section)?;
            continue;
        }
        rules.push(parse_rule(number, text, arch, rule_default)?);
    }
    Ok(Profile {
        version: 2,
        policy,
        default_action,
        rules,
    })
}

fn parse_section(number: usize, section: &str) -> Result<Arch, ProfileError> {
    let Some(name) = section.strip_suffix(']') else {
        return error(number, format!("unclosed section [{section}"));
    };
    let lower = name.to_ascii_lowercase();
    // LXC takes `[x86_64]` and `[X86_64]`, not mixed case.
    if name != lower && name != name.to_ascii_uppercase() {
        return error(number, format!("unknown architecture section [{name}]"));
    }
    SECTIONS
        .iter()
        .find(|(spelling, _)| *spelling == lower)
        .map(|(_, arch)| *arch)
        .map_or_else(
            || {
                let known: Vec<&str> = SECTIONS.iter().map(|(s, _)| *s).collect();
                error(
                    number,
                    format!(
                        "unknown architecture section [{name}] (known: {})",
                        known.join(", ")
                    ),
                )
            },
            Ok,
        )
}

/// `NAME [ACTION] [ARG]...`
fn parse_rule(
    number: usize,
    text: &str,
    arch: Arch,
    rule_default: Action,
) -> Result<Rule, ProfileError> {
    let (head, args_text) = match text.find('[') {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    };
    let mut words = head.split_whitespace();
    let name = words.next().unwrap_or_default();
    let syscall = parse_syscall(number, name)?;
    let rest: Vec<&str> = words.collect();
    let action = match rest.as_slice() {
        [] if !args_text.is_empty() => return error(
            number,
            "argument comparisons need an action before them (e.g. `errno 1 [0,1,SCMP_CMP_EQ]`)",
        ),
        [] => rule_default,
        words => parse_action(number, words)?,
    };
    let args = parse_args(number, args_text)?;
    if syscall == Syscall::RejectForceUmount && !args.is_empty() {
        return error(number, "reject_force_umount takes no argument comparisons");
    }
    Ok(Rule {
        line: number,
        arch,
        syscall,
        action,
        args,
    })
}

fn parse_syscall(number: usize, name: &str) -> Result<Syscall, ProfileError> {
    if name == "reject_force_umount" {
        return Ok(Syscall::RejectForceUmount);
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return error(number, format!("{name:?} is not a syscall name"));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return name
            .parse()
            .map(Syscall::Number)
            .or_else(|_| error(number, format!("syscall number {name} is too large")));
    }
    Ok(Syscall::Name(name.to_string()))
}

fn parse_action(number: usize, words: &[&str]) -> Result<Action, ProfileError> {
    match words {
        ["kill"] => Ok(Action::Kill),
        ["trap"] => Ok(Action::Trap),
        ["allow"] => Ok(Action::Allow),
        ["notify"] => Ok(Action::Notify),
        ["errno", value] => match value.parse::<u16>() {
            Ok(n) if n <= MAX_ERRNO => Ok(Action::Errno(n)),
            _ => error(
                number,
                format!("errno {value}: expected a number from 0 to {MAX_ERRNO}"),
            ),
        },
        ["errno"] => error(number, "errno needs a number (e.g. `errno 1`)"),
        _ => error(
            number,
            format!(
                "unknown action {:?} (kill, trap, errno N, notify or allow)",
                words.join(" ")
            ),
        ),
    }
}

/// `[i,v,op]` or `[i,v,op,mask]`, up to six, spaces allowed.
fn parse_args(number: usize, text: &str) -> Result<Vec<ArgCmp>, ProfileError> {
    let mut args = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some(body) = rest.strip_prefix('[') else {
            return error(
                number,
                format!("expected `[index,value,op]`, found {rest:?}"),
            );
        };
        let Some((inside, after)) = body.split_once(']') else {
            return error(number, format!("unclosed argument comparison [{body}"));
        };
        args.push(parse_arg(number, inside)?);
        if args.len() > MAX_ARGS {
            return error(number, "more than six argument comparisons");
        }
        rest = after.trim_start();
    }
    Ok(args)
}

fn parse_arg(number: usize, inside: &str) -> Result<ArgCmp, ProfileError> {
    let fields: Vec<&str> = inside.split(',').map(str::trim).collect();
    let (index, value, op, mask) = match fields.as_slice() {
        [index, value, op] => (*index, *value, *op, None),
        [index, value, op, mask] => (*index, *value, *op, Some(*mask)),
        _ => {
            return error(
                number,
                format!("[{inside}]: expected [index,value,op] or [index,value,op,mask]"),
            )
        }
    };
    let index = match index.parse::<u8>() {
        Ok(i) if usize::from(i) < MAX_ARGS => i,
        _ => {
            return error(
                number,
                format!("[{inside}]: argument index {index:?} is not 0 to 5"),
            )
        }
    };
    let op = OPERATORS
        .iter()
        .find(|(name, symbol, _)| *name == op || *symbol == op)
        .map(|(_, _, op)| *op)
        .map_or_else(
            || {
                error(
                    number,
                    format!("[{inside}]: unknown operator {op:?} (SCMP_CMP_EQ, ==, ...)"),
                )
            },
            Ok,
        )?;
    let value = parse_u64(value).map_or_else(
        || error(number, format!("[{inside}]: bad value {value:?}")),
        Ok,
    )?;
    let mask = match mask {
        Some(mask) => parse_u64(mask).map_or_else(
            || error(number, format!("[{inside}]: bad mask {mask:?}")),
            Ok,
        )?,
        None => 0,
    };
    if op == CmpOp::MaskedEq && mask == 0 && value != 0 {
        return error(
            number,
            format!("[{inside}]: SCMP_CMP_MASKED_EQ needs a mask ([index,value,op,mask])"),
        );
    }
    Ok(ArgCmp {
        index,
        op,
        value,
        mask,
    })
}

/// A number as C's `strtoull(s, NULL, 0)` reads it: `0x` hex, a leading `0` octal, else
/// decimal; nothing negative, nothing trailing.
fn parse_u64(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    if text.len() > 1 && text.starts_with('0') {
        return u64::from_str_radix(&text[1..], 8).ok();
    }
    text.parse().ok()
}

/// The line without a `#` comment and surrounding blanks.
fn strip_comment(line: &str) -> &str {
    match line.find('#') {
        Some(at) => line[..at].trim(),
        None => line.trim(),
    }
}

#[cfg(test)]
#[path = "seccomp_profile_tests.rs"]
mod tests;
