//! Typed values of `lxc.*` configuration keys.
//!
//! Every type here parses one raw value string (`FromStr`, error [`ValueError`]) and prints a
//! canonical spelling (`Display`) that parses back to the same value. The key table decides
//! what an *empty* value means (usually "clear the list"); the types only see non-empty values
//! unless their docs say otherwise.
//!
//! Errors say why a value was rejected, in words a user can act on. They never name the file,
//! line or key: the caller knows those and adds them.

// Tests may unwrap; library code may not (workspace lint).
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::fmt;

use crate::limits::{quote, shorten};

/// Builds a plain keyword enum: the enum itself, `name()`, `ALL`, `from_word()` (case
/// insensitive, with aliases), `Display` and a `Serialize` that writes the name.
///
/// `FromStr` is left to [`keyword_from_str!`] so that types with extra spellings (numbers,
/// prefixes) can write their own.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling.
            pub fn name(&self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// Looks up a spelling or alias, ignoring ASCII case.
            pub fn from_word(word: &str) -> Option<Self> {
                $(
                    if word.eq_ignore_ascii_case($word) $(|| word.eq_ignore_ascii_case($alias))* {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// Canonical spellings, for error messages and suggestions.
            #[allow(dead_code)]
            pub(crate) const WORDS: &'static [&'static str] = &[$($word),+];
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

/// `FromStr` for a [`keyword_enum!`] type: trims, looks the word up, suggests on failure.
macro_rules! keyword_from_str {
    ($name:ident, $what:literal) => {
        impl ::std::str::FromStr for $name {
            type Err = $crate::values::ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::from_word(s.trim())
                    .ok_or_else(|| $crate::values::unknown_word(s, $what, $name::WORDS))
            }
        }
    };
}

/// `Serialize` through `Display`, for types whose canonical string is the friendliest form.
macro_rules! serialize_display {
    ($($name:ty),+ $(,)?) => {$(
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )+};
}

mod arch;
mod boolean;
mod capability;
mod cgroup_value;
mod cpulist;
mod device;
mod idmap;
mod inet;
mod log;
mod mac;
mod mount;
mod mount_auto;
mod namespace;
mod net;
mod prlimit;
mod signal;
mod size;
mod time_offset;

pub use arch::{Arch, Personality};
pub use boolean::Bool01;
pub use capability::{CapKeep, Capability, CapabilityList};
pub use cgroup_value::validate_cgroup_value;
pub use cpulist::CpuList;
pub use device::{DeviceAccess, DeviceKind, DeviceRule};
pub use idmap::{check_id_maps, host_id, IdKind, IdMap, MAX_MAP_LINES};
pub use inet::{Ipv4Cidr, Ipv4Gateway, Ipv4Route, Ipv6Cidr, Ipv6Gateway, Ipv6Route};
pub use log::{LogLevel, SyslogFacility};
pub use mac::{HwAddr, MacAddr};
pub use mount::{CreateKind, MountEntry, MountFlag, MountOption, Propagation};
pub use mount_auto::{CgroupAuto, CgroupMode, MountAuto, ProcMode, Shmounts, SysMode};
pub use namespace::{Namespace, NamespaceSet};
pub use net::{
    BridgeVlan, IpvlanIsolation, IpvlanMode, MacvlanMode, Mtu, NetFlags, NetType, VethMode, VlanId,
};
pub use prlimit::{Limit, PrLimit, Resource};
pub use signal::Signal;
pub use size::{ByteSize, CgroupLimit};
pub use time_offset::TimeOffset;

/// Why a value was rejected; the caller adds the file, line and key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

impl ValueError {
    /// `"<input>": <why>` — the input is quoted so stray spaces and empty strings show, and cut
    /// to its first characters (see [`crate::limits::quote`]).
    pub(crate) fn new(input: &str, why: impl fmt::Display) -> Self {
        ValueError(format!("{}: {why}", quote(input)))
    }
}

/// The closest known word to `word`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Short words tolerate one slip, longer ones about one per three letters, at most 3: the
    // distance is at least the difference in length, so only candidates of about the word's
    // length are measured (a long word is compared with none).
    let length = word.chars().count();
    let limit = (length / 3).clamp(1, 3);
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .filter(|c| length.abs_diff(c.chars().count()) <= limit)
        .map(|c| (strsim::osa_distance(&word, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "unknown <what>" with a did-you-mean when one is close, else the list of valid words.
pub(crate) fn unknown_word(input: &str, what: &str, candidates: &[&str]) -> ValueError {
    let word = input.trim();
    if word.is_empty() {
        return ValueError::new(
            input,
            format!("expected a {what} ({})", candidates.join(", ")),
        );
    }
    match suggest(word, candidates) {
        Some(s) => ValueError::new(input, format!("unknown {what}; did you mean '{s}'?")),
        None => ValueError::new(
            input,
            format!(
                "unknown {what} (expected one of: {})",
                candidates.join(", ")
            ),
        ),
    }
}

/// Rewrites the error for one word of a list so it quotes the whole line once and names the
/// word: `"net mnt pdi": 'pdi': unknown namespace; did you mean 'pid'?`.
pub(crate) fn within(input: &str, word: &str, e: ValueError) -> ValueError {
    if input.trim() == word {
        return e;
    }
    let prefix = format!("{}: ", quote(word));
    let why = e.0.strip_prefix(&prefix).unwrap_or(&e.0);
    ValueError::new(input, format!("'{}': {why}", shorten(word)))
}

/// Parses an unsigned decimal number with a reason on failure (`what` names the field).
pub(crate) fn parse_u32(input: &str, field: &str, what: &str) -> Result<u32, ValueError> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::new(
            input,
            format!("{what} must be a whole number, not {}", quote(field)),
        ));
    }
    field.parse::<u32>().map_err(|_| {
        ValueError::new(
            input,
            format!(
                "{what} {} is too large (at most {})",
                shorten(field),
                u32::MAX
            ),
        )
    })
}

#[cfg(test)]
mod serialize_tests {
    use super::*;

    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap()
    }

    /// Numbers and switches stay JSON numbers/booleans; everything else is its canonical
    /// config spelling, so `rlxc config --json` output can be pasted back into a config.
    #[test]
    fn serialized_forms() {
        assert_eq!(json(&ByteSize(1024)), "1024");
        assert_eq!(json(&"1024M".parse::<CgroupLimit>().unwrap()), "\"1G\"");
        assert_eq!(
            json(&"c 1:3 rwm".parse::<DeviceRule>().unwrap()),
            "\"c 1:3 rwm\""
        );
        assert_eq!(json(&Capability::SysAdmin), "\"sys_admin\"");
        assert_eq!(
            json(&"sys_admin chown".parse::<CapabilityList>().unwrap()),
            "[\"sys_admin\",\"chown\"]"
        );
        assert_eq!(json(&Signal(37)), "\"SIGRTMIN+3\"");
        assert_eq!(
            json(&"192.168.1.2/24".parse::<Ipv4Cidr>().unwrap()),
            "\"192.168.1.2/24\""
        );
        assert_eq!(json(&Bool01(true)), "true");
        assert_eq!(json(&Mtu(1500)), "1500");
        assert_eq!(json(&NetType::Veth), "\"veth\"");
        assert_eq!(
            json(&"u 0 100000 65536".parse::<IdMap>().unwrap()),
            "{\"kind\":\"uid\",\"container_first\":0,\"host_first\":100000,\"count\":65536}"
        );
        assert_eq!(
            json(&"x86_64".parse::<Arch>().unwrap()),
            "{\"name\":\"x86_64\",\"personality\":\"linux64\"}"
        );
    }
}
