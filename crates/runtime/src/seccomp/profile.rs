//! `lxc.seccomp.profile = FILE`: an LXC profile (read by `rlxc_config::seccomp_profile`)
//! compiled to BPF through libseccomp, which knows every architecture's syscall names and
//! numbers and writes the 64-bit argument comparisons a hand-built filter would get wrong.
//! The program is exported once, before any fork, and installed with the same `prctl` as the
//! default policy, so the start path never calls into libseccomp after the clone.
//!
//! As LXC does, a profile *replaces* rlxc's default policy (a user's allow list may well be
//! stricter, and a deny list may allow on purpose what the default denies); [`gaps`] lists
//! what the default would have denied and the profile lets through, for `rlxc config check`.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use rlxc_config::seccomp_profile::{
    self, Action, Arch, ArgCmp, CmpOp, Policy, Profile, ProfileError, Rule, Syscall,
};
use rlxc_config::ContainerSpec;

use super::{policy, Program};

/// Why a container's seccomp filter cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeccompError {
    // The cause is part of the message, not a `source`: the CLI prints chains, and would
    // print it twice.
    #[error("lxc.seccomp.profile: {path}: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("lxc.seccomp.profile: {path}: {reason}")]
    Parse { path: PathBuf, reason: ProfileError },
    #[error("lxc.seccomp.profile: {path}: line {line}: {why}")]
    Rule {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("lxc.seccomp.profile: {path}: building the filter: {why}")]
    Build { path: PathBuf, why: String },
    #[error("{key}: not supported: {why}")]
    Unsupported {
        key: &'static str,
        why: &'static str,
    },
}

/// The filter a container runs under: rlxc's default policy, a profile's, or none when the
/// config sets `lxc.seccomp.profile` empty on purpose.
pub fn for_spec(spec: &ContainerSpec) -> Result<Option<Program>, SeccompError> {
    let security = &spec.security;
    let unsupported = |key| SeccompError::Unsupported {
        key,
        why:
            "rlxc has no seccomp notification proxy; remove the line (notify rules are refused too)",
    };
    if security.seccomp_notify_proxy.is_some() {
        return Err(unsupported("lxc.seccomp.notify.proxy"));
    }
    if security.seccomp_notify_cookie.is_some() {
        return Err(unsupported("lxc.seccomp.notify.cookie"));
    }
    match security.seccomp_profile.as_deref() {
        None => Ok(Some(super::default_program())),
        Some("") => Ok(None),
        Some(path) => compile_file(Path::new(path)).map(|(program, _)| Some(program)),
    }
}

/// Reads, checks and compiles a profile file; also returns the profile, for [`gaps`].
pub fn compile_file(path: &Path) -> Result<(Program, Profile), SeccompError> {
    let text = std::fs::read_to_string(path).map_err(|reason| SeccompError::Read {
        path: path.to_path_buf(),
        reason,
    })?;
    let profile = seccomp_profile::parse(&text).map_err(|reason| SeccompError::Parse {
        path: path.to_path_buf(),
        reason,
    })?;
    let program = compile(&profile, path)?;
    Ok((program, profile))
}

/// The ABIs a filter covers on this host, as LXC's: on x86_64 also i386 and x32, on aarch64
/// also 32-bit arm, each with the profile's default; calls of any other ABI are killed
/// (libseccomp's bad-arch action).
fn host_arches() -> Vec<ScmpArch> {
    match ScmpArch::native() {
        ScmpArch::X8664 => vec![ScmpArch::X8664, ScmpArch::X86, ScmpArch::X32],
        ScmpArch::Aarch64 => vec![ScmpArch::Aarch64, ScmpArch::Arm],
        native => vec![native],
    }
}

fn compile(profile: &Profile, path: &Path) -> Result<Program, SeccompError> {
    let build = |why: String| SeccompError::Build {
        path: path.to_path_buf(),
        why,
    };
    if profile.default_action == Action::Notify {
        return Err(SeccompError::Rule {
            path: path.to_path_buf(),
            line: 2,
            why: NO_NOTIFY_PROXY.into(),
        });
    }
    let default = action(profile.default_action);
    let mut filter: Option<ScmpFilterContext> = None;
    for arch in host_arches() {
        let context = arch_context(profile, arch, default, path)?;
        match &mut filter {
            None => filter = Some(context),
            Some(main) => {
                main.merge(context)
                    .map_err(|e| build(format!("merging {arch:?}: {e}")))?;
            }
        }
    }
    let filter = filter.ok_or_else(|| build("no architecture".into()))?;
    export(&filter).map_err(build)
}

/// A filter of one ABI with the profile's rules for it.
fn arch_context(
    profile: &Profile,
    arch: ScmpArch,
    default: ScmpAction,
    path: &Path,
) -> Result<ScmpFilterContext, SeccompError> {
    let build = |why: String| SeccompError::Build {
        path: path.to_path_buf(),
        why,
    };
    let mut context =
        ScmpFilterContext::new(default).map_err(|e| build(format!("seccomp_init: {e}")))?;
    // We install the exported program ourselves; no_new_privs is `lxc.no_new_privs`'s call.
    context
        .set_ctl_nnp(false)
        .map_err(|e| build(format!("no_new_privs attribute: {e}")))?;
    if arch != ScmpArch::native() {
        context
            .add_arch(arch)
            .and_then(|c| c.remove_arch(ScmpArch::Native))
            .map_err(|e| build(format!("architecture {arch:?}: {e}")))?;
    }
    for rule in &profile.rules {
        if !applies(rule.arch, arch) {
            continue;
        }
        add_rule(&mut context, rule, arch, default).map_err(|why| SeccompError::Rule {
            path: path.to_path_buf(),
            line: rule.line,
            why,
        })?;
    }
    Ok(context)
}

/// Whether a rule of `section` belongs in the filter of `arch`; sections of ABIs this host
/// does not run are skipped, as LXC skips them.
fn applies(section: Arch, arch: ScmpArch) -> bool {
    let wanted = match section {
        Arch::All => return true,
        Arch::Native => ScmpArch::native(),
        Arch::X86 => ScmpArch::X86,
        Arch::X32 => ScmpArch::X32,
        Arch::X86_64 => ScmpArch::X8664,
        Arch::Arm => ScmpArch::Arm,
        Arch::Arm64 => ScmpArch::Aarch64,
        Arch::Ppc => ScmpArch::Ppc,
        Arch::Ppc64 => ScmpArch::Ppc64,
        Arch::Ppc64le => ScmpArch::Ppc64Le,
        Arch::Mips => ScmpArch::Mips,
        Arch::Mips64 => ScmpArch::Mips64,
        Arch::Mips64n32 => ScmpArch::Mips64N32,
        Arch::Mipsel => ScmpArch::Mipsel,
        Arch::Mipsel64 => ScmpArch::Mipsel64,
        Arch::Mipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::S390 => ScmpArch::S390,
        Arch::S390x => ScmpArch::S390X,
    };
    wanted == arch
}

fn add_rule(
    context: &mut ScmpFilterContext,
    rule: &Rule,
    arch: ScmpArch,
    default: ScmpAction,
) -> Result<(), String> {
    let (syscall, rule_action, comparisons) = match &rule.syscall {
        Syscall::RejectForceUmount => (
            ScmpSyscall::from_name("umount2").map_err(|e| e.to_string())?,
            ScmpAction::Errno(libc::EACCES),
            vec![ScmpArgCompare::new(
                1,
                ScmpCompareOp::MaskedEqual(libc::MNT_FORCE as u64),
                libc::MNT_FORCE as u64,
            )],
        ),
        Syscall::Number(nr) => {
            let nr = i32::try_from(*nr).map_err(|_| format!("syscall number {nr} too large"))?;
            (
                ScmpSyscall::from(nr),
                action(rule.action),
                comparisons(rule),
            )
        }
        Syscall::Name(name) => {
            // A name this host's libseccomp does not know, or one this ABI lacks (a 32-bit
            // call in the 64-bit filter), cannot be made by the container on it: LXC skips it.
            let (Ok(native), Ok(_)) = (
                ScmpSyscall::from_name(name),
                ScmpSyscall::from_name_by_arch(name, arch),
            ) else {
                return Ok(());
            };
            (native, action(rule.action), comparisons(rule))
        }
    };
    if rule.action == Action::Notify {
        return Err(NO_NOTIFY_PROXY.into());
    }
    // libseccomp refuses a rule that only repeats the default; it changes nothing anyway.
    if rule_action == default {
        return Ok(());
    }
    context
        .add_rule_conditional(rule_action, syscall, &comparisons)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", rule.syscall))
}

const NO_NOTIFY_PROXY: &str =
    "notify: rlxc has no seccomp notification proxy (lxc.seccomp.notify.proxy); use errno N";

fn comparisons(rule: &Rule) -> Vec<ScmpArgCompare> {
    rule.args.iter().map(comparison).collect()
}

fn comparison(arg: &ArgCmp) -> ScmpArgCompare {
    let op = match arg.op {
        CmpOp::Ne => ScmpCompareOp::NotEqual,
        CmpOp::Lt => ScmpCompareOp::Less,
        CmpOp::Le => ScmpCompareOp::LessOrEqual,
        CmpOp::Eq => ScmpCompareOp::Equal,
        CmpOp::Ge => ScmpCompareOp::GreaterEqual,
        CmpOp::Gt => ScmpCompareOp::Greater,
        CmpOp::MaskedEq => ScmpCompareOp::MaskedEqual(arg.mask),
    };
    ScmpArgCompare::new(u32::from(arg.index), op, arg.value)
}

/// LXC's `kill` is the whole process: a thread killed alone leaves a process half dead.
fn action(action: Action) -> ScmpAction {
    match action {
        Action::Kill => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Errno(n) => ScmpAction::Errno(i32::from(n)),
        Action::Notify => ScmpAction::Notify,
        Action::Allow => ScmpAction::Allow,
    }
}

/// The filter as BPF, through a memfd (libseccomp 2.5 exports to a file descriptor only).
fn export(filter: &ScmpFilterContext) -> Result<Program, String> {
    let fd = rustix::fs::memfd_create("rlxc-seccomp", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| format!("memfd: {e}"))?;
    let mut file = std::fs::File::from(fd);
    filter
        .export_bpf(&file)
        .map_err(|e| format!("seccomp_export_bpf: {e}"))?;
    let mut bytes = Vec::new();
    file.rewind()
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| format!("reading the exported filter: {e}"))?;
    Program::from_bytes(&bytes).ok_or_else(|| {
        format!(
            "libseccomp exported {} bytes, not a filter the kernel takes",
            bytes.len()
        )
    })
}

/// Names no ABI of this host knows (a typo, or a call of another architecture written outside
/// its section), with their lines: skipped in the filter, as LXC skips them, and reported by
/// `rlxc config check` so a misspelt deny rule does not pass unnoticed.
pub fn unknown_names(profile: &Profile) -> Vec<(usize, &str)> {
    profile
        .rules
        .iter()
        .filter_map(|rule| match &rule.syscall {
            Syscall::Name(name) if applies_here(rule.arch) => Some((rule.line, name.as_str())),
            _ => None,
        })
        .filter(|(_, name)| {
            host_arches()
                .into_iter()
                .all(|arch| ScmpSyscall::from_name_by_arch(name, arch).is_err())
        })
        .collect()
}

fn applies_here(section: Arch) -> bool {
    host_arches().into_iter().any(|arch| applies(section, arch))
}

/// The calls rlxc's default policy denies that `profile` lets through unconditionally (on
/// the host's own ABI): `rlxc config check` reports them, since the profile replaces the
/// default.
pub fn gaps(profile: &Profile) -> Vec<&'static str> {
    policy::DENIED
        .iter()
        .filter(|denied| allows(profile, denied))
        .map(|denied| denied.name)
        .collect()
}

fn allows(profile: &Profile, denied: &policy::Denied) -> bool {
    let native_rules = profile.rules.iter().filter(|r| {
        matches!(r.arch, Arch::All | Arch::Native) || applies(r.arch, ScmpArch::native())
    });
    let mut about = native_rules.filter(|r| match &r.syscall {
        Syscall::Name(name) => name == denied.name,
        Syscall::Number(nr) => {
            (super::abi::NATIVE.number)(&denied.nr).map(i64::from) == Some(i64::from(*nr))
        }
        Syscall::RejectForceUmount => false,
    });
    match profile.policy {
        // Allowed unless a rule without conditions answers it otherwise.
        Policy::Denylist => {
            profile.default_action == Action::Allow
                && !about.any(|r| r.args.is_empty() && r.action != Action::Allow)
        }
        // Allowed when some rule allows it, even under conditions.
        Policy::Allowlist => {
            profile.default_action == Action::Allow || about.any(|r| r.action == Action::Allow)
        }
    }
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod tests;
