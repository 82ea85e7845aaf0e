//! Linux capabilities (`sys_admin`, `CAP_SYS_ADMIN`, `21`) and the lists in
//! `lxc.cap.drop` / `lxc.cap.keep`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ValueError;

keyword_enum! {
    /// A Linux capability, numbered as in `<linux/capability.h>` (declaration order = number).
    /// Names are lower case without `cap_`, as LXC writes them.
    pub enum Capability {
        Chown = "chown",
        DacOverride = "dac_override",
        DacReadSearch = "dac_read_search",
        Fowner = "fowner",
        Fsetid = "fsetid",
        Kill = "kill",
        Setgid = "setgid",
        Setuid = "setuid",
        Setpcap = "setpcap",
        LinuxImmutable = "linux_immutable",
        NetBindService = "net_bind_service",
        NetBroadcast = "net_broadcast",
        NetAdmin = "net_admin",
        NetRaw = "net_raw",
        IpcLock = "ipc_lock",
        IpcOwner = "ipc_owner",
        SysModule = "sys_module",
        SysRawio = "sys_rawio",
        SysChroot = "sys_chroot",
        SysPtrace = "sys_ptrace",
        SysPacct = "sys_pacct",
        SysAdmin = "sys_admin",
        SysBoot = "sys_boot",
        SysNice = "sys_nice",
        SysResource = "sys_resource",
        SysTime = "sys_time",
        SysTtyConfig = "sys_tty_config",
        Mknod = "mknod",
        Lease = "lease",
        AuditWrite = "audit_write",
        AuditControl = "audit_control",
        Setfcap = "setfcap",
        MacOverride = "mac_override",
        MacAdmin = "mac_admin",
        Syslog = "syslog",
        WakeAlarm = "wake_alarm",
        BlockSuspend = "block_suspend",
        AuditRead = "audit_read",
        Perfmon = "perfmon",
        Bpf = "bpf",
        CheckpointRestore = "checkpoint_restore",
    }
}

impl Capability {
    /// The kernel's number for this capability (0..=40).
    pub fn number(&self) -> u8 {
        *self as u8
    }

    /// The capability with this kernel number, if this build knows it.
    pub fn from_number(n: u32) -> Option<Capability> {
        usize::try_from(n)
            .ok()
            .and_then(|i| Capability::ALL.get(i))
            .copied()
    }
}

impl FromStr for Capability {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<u32>()
                .ok()
                .and_then(Capability::from_number)
                .ok_or_else(|| {
                    ValueError::new(
                        input,
                        format!(
                            "no capability has number {s} (known: 0-{})",
                            Capability::ALL.len() - 1
                        ),
                    )
                });
        }
        // LXC itself only takes lower case without the prefix; the other spellings cost
        // nothing and are what capabilities(7) prints.
        let bare = match s.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("cap_") => &s[4..],
            _ => s,
        };
        Capability::from_word(bare)
            .ok_or_else(|| super::unknown_word(input, "capability", Capability::WORDS))
    }
}

/// The capabilities of one `lxc.cap.drop` line, in the order written (duplicates kept).
///
/// An empty or blank string gives an empty list; whether an empty value clears earlier lines
/// is the key table's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct CapabilityList(pub Vec<Capability>);

impl FromStr for CapabilityList {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        input
            .split_whitespace()
            .map(|word| {
                if word == "none" {
                    Err(ValueError::new(
                        input,
                        "'none' only has a meaning in lxc.cap.keep (to drop every capability)",
                    ))
                } else {
                    word.parse::<Capability>()
                        .map_err(|e| super::within(input, word, e))
                }
            })
            .collect::<Result<_, _>>()
            .map(CapabilityList)
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, caps: &[Capability]) -> fmt::Result {
    for (i, c) in caps.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        f.write_str(c.name())?;
    }
    Ok(())
}

impl fmt::Display for CapabilityList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.0)
    }
}

/// One `lxc.cap.keep` line.
///
/// LXC reads the words left to right and `none` forgets every capability kept so far, by
/// earlier lines too. So a line is "maybe forget what came before, then keep these":
/// `none` alone keeps nothing at all; `none sys_admin` (or `chown none sys_admin`) keeps only
/// `sys_admin` whatever earlier lines said; `sys_admin` adds to earlier lines.
///
/// A struct rather than an enum because `none` followed by names is valid and means both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub struct CapKeep {
    /// The line contains `none`: capabilities kept by earlier lines are forgotten.
    pub clear_earlier: bool,
    /// Capabilities written after the last `none`, in order.
    pub caps: Vec<Capability>,
}

impl CapKeep {
    /// `none` alone: drop every capability.
    pub fn is_none(&self) -> bool {
        self.clear_earlier && self.caps.is_empty()
    }
}

impl FromStr for CapKeep {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let mut keep = CapKeep::default();
        for word in input.split_whitespace() {
            if word == "none" {
                keep.clear_earlier = true;
                keep.caps.clear();
            } else {
                let cap = word
                    .parse::<Capability>()
                    .map_err(|e| super::within(input, word, e))?;
                keep.caps.push(cap);
            }
        }
        Ok(keep)
    }
}

impl fmt::Display for CapKeep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.clear_earlier {
            f.write_str("none")?;
            if !self.caps.is_empty() {
                f.write_str(" ")?;
            }
        }
        write_list(f, &self.caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_and_names_agree() {
        assert_eq!(Capability::ALL.len(), 41);
        assert_eq!(Capability::Chown.number(), 0);
        assert_eq!(Capability::SysAdmin.number(), 21);
        assert_eq!(Capability::MacOverride.name(), "mac_override");
        assert_eq!(Capability::CheckpointRestore.number(), 40);
        for (i, c) in Capability::ALL.iter().enumerate() {
            assert_eq!(usize::from(c.number()), i);
        }
    }

    #[test]
    fn accepts_every_spelling() {
        for s in [
            "sys_admin",
            "SYS_ADMIN",
            "cap_sys_admin",
            "CAP_SYS_ADMIN",
            "21",
            " 21 ",
        ] {
            assert_eq!(s.parse::<Capability>(), Ok(Capability::SysAdmin), "{s}");
        }
    }

    #[test]
    fn rejects_with_suggestion() {
        let e = "sys_admn".parse::<Capability>().unwrap_err();
        assert!(e.0.contains("did you mean 'sys_admin'"), "{e}");
        assert!("41"
            .parse::<Capability>()
            .unwrap_err()
            .0
            .contains("no capability has number 41"));
        assert!("cap_".parse::<Capability>().is_err());
        assert!("".parse::<Capability>().is_err());
    }

    #[test]
    fn parses_seed_drop_list() {
        let seed = "sys_module mac_admin mac_override sys_time audit_control audit_write syslog sys_admin sys_rawio";
        let list: CapabilityList = seed.parse().unwrap();
        assert_eq!(list.0.len(), 9);
        assert_eq!(list.0[0], Capability::SysModule);
        assert_eq!(list.to_string(), seed);
        let e = "sys_module bogus".parse::<CapabilityList>().unwrap_err();
        assert!(
            e.0.starts_with("\"sys_module bogus\": 'bogus': unknown capability"),
            "{e}"
        );
        assert!("none".parse::<CapabilityList>().is_err());
        assert_eq!("".parse::<CapabilityList>(), Ok(CapabilityList::default()));
    }

    #[test]
    fn keep_none_semantics() {
        let none: CapKeep = "none".parse().unwrap();
        assert!(none.is_none());
        assert_eq!(none.to_string(), "none");
        let k: CapKeep = "chown none sys_admin".parse().unwrap();
        assert_eq!(
            k,
            CapKeep {
                clear_earlier: true,
                caps: vec![Capability::SysAdmin]
            }
        );
        assert_eq!(k.to_string(), "none sys_admin");
        let add: CapKeep = "sys_admin net_raw".parse().unwrap();
        assert!(!add.clear_earlier);
        assert_eq!(add.to_string(), "sys_admin net_raw");
    }

    fn arb_cap() -> impl Strategy<Value = Capability> {
        proptest::sample::select(Capability::ALL)
    }

    proptest! {
        #[test]
        fn capability_round_trips(c in arb_cap()) {
            prop_assert_eq!(c.to_string().parse::<Capability>(), Ok(c));
            prop_assert_eq!(c.number().to_string().parse::<Capability>(), Ok(c));
        }

        #[test]
        fn list_round_trips(v in proptest::collection::vec(arb_cap(), 0..10)) {
            let l = CapabilityList(v);
            prop_assert_eq!(l.to_string().parse::<CapabilityList>(), Ok(l));
        }

        #[test]
        fn keep_round_trips(clear in any::<bool>(), v in proptest::collection::vec(arb_cap(), 0..10)) {
            let k = CapKeep { clear_earlier: clear, caps: v };
            prop_assert_eq!(k.to_string().parse::<CapKeep>(), Ok(k));
        }
    }
}
