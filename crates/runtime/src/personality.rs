//! `lxc.arch` and `attach -a`: the `personality(2)` a container's processes run under, and
//! whether this host can run the architecture at all.
//!
//! As in LXC, a 32-bit architecture means `PER_LINUX32` (so `uname -m` says `i686` on an
//! x86_64 host) and a 64-bit one `PER_LINUX`. An architecture the host's kernel cannot run
//! (aarch64 on x86_64) is refused rather than started under a personality that would
//! pretend otherwise.

use rlxc_config::values::{Arch, Personality};

/// `PER_LINUX`: the host's native personality.
pub const PER_LINUX: u32 = 0x0000;
/// `PER_LINUX32`: a 32-bit `uname -m` on a 64-bit kernel.
pub const PER_LINUX32: u32 = 0x0008;

/// Why an architecture cannot be run here. `what` is where the name came from: `lxc.arch`
/// or `attach -a`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArchError {
    #[error("{what} = {arch}: this host ({host}) cannot run {arch} programs; it runs {runs}")]
    NotRunnable {
        what: &'static str,
        arch: String,
        host: &'static str,
        /// The names this host accepts, space-separated.
        runs: String,
    },
    #[error("{what}: {reason}")]
    Unknown { what: &'static str, reason: String },
}

/// The `lxc.arch` names this host's kernel runs natively (`native`) and in its 32-bit
/// compat mode (`compat`), by the architecture this binary was built for (a kernel runs its
/// own binaries' architecture). `linux32` and `linux64` are accepted everywhere: they name a
/// personality, not an instruction set.
struct HostArches {
    native: &'static [&'static str],
    compat: &'static [&'static str],
}

const LITTLE_ENDIAN: bool = cfg!(target_endian = "little");

fn host_arches(host: &str) -> HostArches {
    let (native, compat): (&[&str], &[&str]) = match host {
        "x86_64" => (
            &["x86_64", "amd64"],
            &["i386", "i486", "i586", "i686", "athlon", "x86"],
        ),
        "x86" => (&["i386", "i486", "i586", "i686", "athlon", "x86"], &[]),
        "aarch64" => (&["aarch64", "arm64"], &["arm", "armel", "armhf", "armv7l"]),
        "arm" => (&["arm", "armel", "armhf", "armv7l"], &[]),
        "powerpc64" if LITTLE_ENDIAN => (&["ppc64el", "ppc64le"], &[]),
        "powerpc64" => (&["ppc64", "powerpc64"], &["ppc", "powerpc"]),
        "powerpc" => (&["ppc", "powerpc"], &[]),
        "s390x" => (&["s390x"], &[]),
        "mips64" if LITTLE_ENDIAN => (&["mips64el"], &["mipsel"]),
        "mips64" => (&["mips64"], &["mips"]),
        "mips" if LITTLE_ENDIAN => (&["mipsel"], &[]),
        "mips" => (&["mips"], &[]),
        "riscv64" => (&["riscv64"], &[]),
        // A host LXC has no name for: only the generic personalities.
        _ => (&[], &[]),
    };
    HostArches { native, compat }
}

/// The personality for `arch` on this host, or why the host cannot run it.
pub fn of(arch: &Arch, what: &'static str) -> Result<u32, ArchError> {
    of_on(arch, what, std::env::consts::ARCH)
}

fn of_on(arch: &Arch, what: &'static str, host: &'static str) -> Result<u32, ArchError> {
    let known = host_arches(host);
    let generic = ["linux32", "linux64"];
    let runs = generic.contains(&arch.name.as_str())
        || known.native.contains(&arch.name.as_str())
        || known.compat.contains(&arch.name.as_str());
    if !runs {
        let names: Vec<&str> = known
            .native
            .iter()
            .chain(known.compat)
            .chain(generic.iter())
            .copied()
            .collect();
        return Err(ArchError::NotRunnable {
            what,
            arch: arch.name.clone(),
            host,
            runs: names.join(" "),
        });
    }
    Ok(match arch.personality {
        Personality::Linux32 => PER_LINUX32,
        Personality::Linux64 => PER_LINUX,
    })
}

/// An architecture name as `attach -a` takes it (LXC's names), with its personality here.
pub fn parse(name: &str, what: &'static str) -> Result<u32, ArchError> {
    let arch: Arch =
        name.parse()
            .map_err(|e: rlxc_config::values::ValueError| ArchError::Unknown {
                what,
                reason: e.to_string(),
            })?;
    of(&arch, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(name: &str) -> Arch {
        name.parse().expect("arch")
    }

    #[test]
    fn an_x86_64_host_runs_both_x86_widths() {
        assert_eq!(of_on(&arch("i686"), "lxc.arch", "x86_64"), Ok(PER_LINUX32));
        assert_eq!(of_on(&arch("x86"), "lxc.arch", "x86_64"), Ok(PER_LINUX32));
        assert_eq!(of_on(&arch("amd64"), "lxc.arch", "x86_64"), Ok(PER_LINUX));
        assert_eq!(
            of_on(&arch("linux32"), "lxc.arch", "x86_64"),
            Ok(PER_LINUX32)
        );
    }

    #[test]
    fn a_foreign_architecture_is_refused_with_what_runs() {
        let error = of_on(&arch("aarch64"), "lxc.arch", "x86_64").unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("lxc.arch = aarch64: this host (x86_64)"),
            "{text}"
        );
        assert!(text.contains("x86_64 amd64 i386"), "{text}");
        assert!(of_on(&arch("armhf"), "lxc.arch", "aarch64").is_ok());
        assert!(of_on(&arch("x86_64"), "lxc.arch", "x86").is_err());
        assert!(of_on(&arch("s390x"), "lxc.arch", "loongarch64").is_err());
        assert!(of_on(&arch("linux64"), "lxc.arch", "loongarch64").is_ok());
    }

    #[test]
    fn attach_names_are_lxcs() {
        assert!(parse("sparc", "attach -a").is_err());
        assert!(parse("nonsense", "attach -a")
            .unwrap_err()
            .to_string()
            .starts_with("attach -a: "));
    }
}
