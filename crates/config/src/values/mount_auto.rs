//! `lxc.mount.auto`: which kernel filesystems to mount automatically.

use std::fmt;
use std::str::FromStr;

use super::ValueError;

/// `proc` (= `proc:mixed`: /proc read-write but /proc/sys and /proc/sysrq-trigger read-only)
/// or `proc:rw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcMode {
    Mixed,
    Rw,
}

/// `sys` (= `sys:mixed`: /sys read-only except /sys/devices/virtual/net), `sys:ro`, `sys:rw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SysMode {
    Mixed,
    Ro,
    Rw,
}

/// How a v1 `cgroup` / `cgroup-full` mount is made. `Default` is the bare word: LXC picks
/// `rw` when the container has CAP_SYS_ADMIN and `mixed` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CgroupMode {
    Default,
    Mixed,
    Ro,
    Rw,
}

/// The cgroup category. `cgroup`, `cgroup-full` and `cgroup2` words all set this one
/// category, as in LXC (one replaces another; a later `cgroup:mixed` replaces an earlier
/// `cgroup2:ro`). `force` mounts even when the container has its own cgroup namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CgroupAuto {
    /// `cgroup[:mode][:force]` (only the container's own cgroups) or
    /// `cgroup-full[:mode][:force]` (the host's whole hierarchy).
    V1 {
        full: bool,
        mode: CgroupMode,
        force: bool,
    },
    /// `cgroup2[:ro][:force]`.
    V2 { ro: bool, force: bool },
}

/// `shmounts:HOST[:CONTAINER]`: a shared mount tunnel from a host directory into the
/// container (`/dev/.lxc-mounts` when the container path is left out).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shmounts {
    pub host: String,
    pub container: Option<String>,
}

impl Shmounts {
    pub const DEFAULT_CONTAINER_PATH: &'static str = "/dev/.lxc-mounts";

    pub fn container_path(&self) -> &str {
        self.container
            .as_deref()
            .unwrap_or(Self::DEFAULT_CONTAINER_PATH)
    }
}

/// One `lxc.mount.auto` line, one field per category; `None` = the line does not name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MountAuto {
    pub proc: Option<ProcMode>,
    pub sys: Option<SysMode>,
    pub cgroup: Option<CgroupAuto>,
    pub shmounts: Option<Shmounts>,
}

impl MountAuto {
    /// Applies a later line: each category it names replaces ours, the others stay
    /// (so `sys:ro` after `proc cgroup` leaves proc and cgroup alone).
    pub fn merge(&mut self, later: &MountAuto) {
        if later.proc.is_some() {
            self.proc = later.proc;
        }
        if later.sys.is_some() {
            self.sys = later.sys;
        }
        if later.cgroup.is_some() {
            self.cgroup = later.cgroup;
        }
        if later.shmounts.is_some() {
            self.shmounts.clone_from(&later.shmounts);
        }
    }
}

/// Every word LXC accepts besides `shmounts:…`, for suggestions.
const WORDS: &[&str] = &[
    "proc",
    "proc:mixed",
    "proc:rw",
    "sys",
    "sys:mixed",
    "sys:ro",
    "sys:rw",
    "cgroup",
    "cgroup:mixed",
    "cgroup:ro",
    "cgroup:rw",
    "cgroup:force",
    "cgroup:mixed:force",
    "cgroup:ro:force",
    "cgroup:rw:force",
    "cgroup-full",
    "cgroup-full:mixed",
    "cgroup-full:ro",
    "cgroup-full:rw",
    "cgroup-full:force",
    "cgroup-full:mixed:force",
    "cgroup-full:ro:force",
    "cgroup-full:rw:force",
    "cgroup2",
    "cgroup2:ro",
    "cgroup2:force",
    "cgroup2:ro:force",
    "shmounts:",
];

fn parse_cgroup_v1(full: bool, rest: &str) -> Option<CgroupAuto> {
    let (mode, force) = match rest.strip_suffix(":force") {
        Some(m) => (m, true),
        None if rest == ":force" => ("", true),
        None => (rest, false),
    };
    let mode = match mode {
        "" => CgroupMode::Default,
        ":mixed" => CgroupMode::Mixed,
        ":ro" => CgroupMode::Ro,
        ":rw" => CgroupMode::Rw,
        _ => return None,
    };
    Some(CgroupAuto::V1 { full, mode, force })
}

impl FromStr for MountAuto {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let mut auto = MountAuto::default();
        for word in input.split_whitespace() {
            match word {
                "proc" | "proc:mixed" => auto.proc = Some(ProcMode::Mixed),
                "proc:rw" => auto.proc = Some(ProcMode::Rw),
                "sys" | "sys:mixed" => auto.sys = Some(SysMode::Mixed),
                "sys:ro" => auto.sys = Some(SysMode::Ro),
                "sys:rw" => auto.sys = Some(SysMode::Rw),
                "cgroup2" => {
                    auto.cgroup = Some(CgroupAuto::V2 {
                        ro: false,
                        force: false,
                    })
                }
                "cgroup2:ro" => {
                    auto.cgroup = Some(CgroupAuto::V2 {
                        ro: true,
                        force: false,
                    })
                }
                "cgroup2:force" => {
                    auto.cgroup = Some(CgroupAuto::V2 {
                        ro: false,
                        force: true,
                    })
                }
                "cgroup2:ro:force" => {
                    auto.cgroup = Some(CgroupAuto::V2 {
                        ro: true,
                        force: true,
                    })
                }
                _ => {
                    if let Some(rest) = word.strip_prefix("shmounts:") {
                        auto.shmounts = Some(parse_shmounts(input, rest)?);
                        continue;
                    }
                    let v1 = match word.strip_prefix("cgroup-full") {
                        Some(rest) => parse_cgroup_v1(true, rest),
                        None => word
                            .strip_prefix("cgroup")
                            .and_then(|r| parse_cgroup_v1(false, r)),
                    };
                    match v1 {
                        Some(c) => auto.cgroup = Some(c),
                        None => {
                            let e = super::unknown_word(word, "automatic mount", WORDS);
                            return Err(super::within(input, word, e));
                        }
                    }
                }
            }
        }
        Ok(auto)
    }
}

fn parse_shmounts(input: &str, rest: &str) -> Result<Shmounts, ValueError> {
    let (host, container) = match rest.split_once(':') {
        Some((h, "")) => (h, None),
        Some((h, c)) => (h, Some(c.to_string())),
        None => (rest, None),
    };
    if host.is_empty() {
        return Err(ValueError::new(
            input,
            "shmounts: needs a host path, e.g. shmounts:/var/lib/lxd/shmounts",
        ));
    }
    Ok(Shmounts {
        host: host.to_string(),
        container,
    })
}

impl fmt::Display for MountAuto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words: Vec<String> = Vec::new();
        if let Some(p) = self.proc {
            words.push(match p {
                ProcMode::Mixed => "proc:mixed".into(),
                ProcMode::Rw => "proc:rw".into(),
            });
        }
        if let Some(s) = self.sys {
            words.push(match s {
                SysMode::Mixed => "sys:mixed".into(),
                SysMode::Ro => "sys:ro".into(),
                SysMode::Rw => "sys:rw".into(),
            });
        }
        if let Some(c) = self.cgroup {
            words.push(c.to_string());
        }
        if let Some(s) = &self.shmounts {
            words.push(match &s.container {
                Some(c) => format!("shmounts:{}:{c}", s.host),
                None => format!("shmounts:{}", s.host),
            });
        }
        f.write_str(&words.join(" "))
    }
}

impl fmt::Display for CgroupAuto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let force = |on: bool| if on { ":force" } else { "" };
        match *self {
            CgroupAuto::V1 {
                full,
                mode,
                force: fo,
            } => {
                let base = if full { "cgroup-full" } else { "cgroup" };
                let mode = match mode {
                    CgroupMode::Default => "",
                    CgroupMode::Mixed => ":mixed",
                    CgroupMode::Ro => ":ro",
                    CgroupMode::Rw => ":rw",
                };
                write!(f, "{base}{mode}{}", force(fo))
            }
            CgroupAuto::V2 { ro, force: fo } => {
                write!(f, "cgroup2{}{}", if ro { ":ro" } else { "" }, force(fo))
            }
        }
    }
}

serialize_display!(MountAuto, CgroupAuto);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn auto(s: &str) -> MountAuto {
        s.parse().unwrap_or_else(|e: ValueError| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_categories() {
        let a = auto("proc:mixed sys:mixed cgroup:mixed");
        assert_eq!(a.proc, Some(ProcMode::Mixed));
        assert_eq!(a.sys, Some(SysMode::Mixed));
        assert_eq!(
            a.cgroup,
            Some(CgroupAuto::V1 {
                full: false,
                mode: CgroupMode::Mixed,
                force: false
            })
        );
        assert_eq!(auto("proc").proc, Some(ProcMode::Mixed));
        assert_eq!(
            auto("cgroup-full:rw:force").cgroup,
            Some(CgroupAuto::V1 {
                full: true,
                mode: CgroupMode::Rw,
                force: true
            })
        );
        assert_eq!(
            auto("cgroup:force").cgroup,
            Some(CgroupAuto::V1 {
                full: false,
                mode: CgroupMode::Default,
                force: true
            })
        );
        assert_eq!(
            auto("cgroup2:ro:force").cgroup,
            Some(CgroupAuto::V2 {
                ro: true,
                force: true
            })
        );
        let sh = auto("shmounts:/var/lib/lxd/shmounts:/dev/.lxd-mounts")
            .shmounts
            .unwrap();
        assert_eq!(
            (sh.host.as_str(), sh.container_path()),
            ("/var/lib/lxd/shmounts", "/dev/.lxd-mounts")
        );
        assert_eq!(
            auto("shmounts:/h").shmounts.unwrap().container_path(),
            "/dev/.lxc-mounts"
        );
        assert_eq!(auto(""), MountAuto::default());
        assert_eq!(auto("sys:ro cgroup2:ro").to_string(), "sys:ro cgroup2:ro");
    }

    #[test]
    fn later_lines_replace_only_their_categories() {
        let mut a = auto("sys:ro cgroup2:ro proc:rw");
        a.merge(&auto("cgroup:mixed sys:mixed"));
        assert_eq!(a.to_string(), "proc:rw sys:mixed cgroup:mixed");
        a.merge(&auto("shmounts:/x"));
        assert_eq!(a.to_string(), "proc:rw sys:mixed cgroup:mixed shmounts:/x");
    }

    #[test]
    fn rejects_unknown_words() {
        let e = "proc sys:mixd".parse::<MountAuto>().unwrap_err();
        assert_eq!(
            e.0,
            "\"proc sys:mixd\": 'sys:mixd': unknown automatic mount; did you mean 'sys:mixed'?"
        );
        assert!("cgroup:force:ro".parse::<MountAuto>().is_err());
        assert!("cgroup-fullx".parse::<MountAuto>().is_err());
        assert!("shmounts:".parse::<MountAuto>().is_err());
        assert!("mount".parse::<MountAuto>().is_err());
    }

    fn arb() -> impl Strategy<Value = MountAuto> {
        let proc_ = proptest::option::of(prop_oneof![Just(ProcMode::Mixed), Just(ProcMode::Rw)]);
        let sys = proptest::option::of(prop_oneof![
            Just(SysMode::Mixed),
            Just(SysMode::Ro),
            Just(SysMode::Rw)
        ]);
        let mode = prop_oneof![
            Just(CgroupMode::Default),
            Just(CgroupMode::Mixed),
            Just(CgroupMode::Ro),
            Just(CgroupMode::Rw)
        ];
        let cg =
            proptest::option::of(prop_oneof![
                (any::<bool>(), mode, any::<bool>())
                    .prop_map(|(full, mode, force)| CgroupAuto::V1 { full, mode, force }),
                (any::<bool>(), any::<bool>()).prop_map(|(ro, force)| CgroupAuto::V2 { ro, force }),
            ]);
        let sh = proptest::option::of(
            ("/[a-z]{1,6}", proptest::option::of("/[a-z.]{1,6}"))
                .prop_map(|(host, container)| Shmounts { host, container }),
        );
        (proc_, sys, cg, sh).prop_map(|(proc, sys, cgroup, shmounts)| MountAuto {
            proc,
            sys,
            cgroup,
            shmounts,
        })
    }

    proptest! {
        #[test]
        fn round_trips(a in arb()) {
            prop_assert_eq!(a.to_string().parse::<MountAuto>(), Ok(a));
        }
    }
}
