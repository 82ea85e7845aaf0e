//! `lxc.arch`: the architecture name and the personality it selects.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ValueError;

/// The `personality(2)` a container's init runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Personality {
    /// `PER_LINUX32`: 32-bit `uname -m` on a 64-bit host.
    Linux32,
    /// `PER_LINUX`: the host's native personality.
    Linux64,
}

/// The names LXC 5.0.2 accepts. Newer LXC adds `loongarch64`, `loong64` and `x32`; we stay
/// with 5.0.2's list so configs remain portable to it.
const NAMES: &[(&str, Personality)] = &[
    ("arm", Personality::Linux32),
    ("armel", Personality::Linux32),
    ("armhf", Personality::Linux32),
    ("armv7l", Personality::Linux32),
    ("athlon", Personality::Linux32),
    ("i386", Personality::Linux32),
    ("i486", Personality::Linux32),
    ("i586", Personality::Linux32),
    ("i686", Personality::Linux32),
    ("linux32", Personality::Linux32),
    ("mips", Personality::Linux32),
    ("mipsel", Personality::Linux32),
    ("ppc", Personality::Linux32),
    ("powerpc", Personality::Linux32),
    ("x86", Personality::Linux32),
    ("aarch64", Personality::Linux64),
    ("amd64", Personality::Linux64),
    ("arm64", Personality::Linux64),
    ("linux64", Personality::Linux64),
    ("mips64", Personality::Linux64),
    ("mips64el", Personality::Linux64),
    ("ppc64", Personality::Linux64),
    ("ppc64el", Personality::Linux64),
    ("ppc64le", Personality::Linux64),
    ("powerpc64", Personality::Linux64),
    ("riscv64", Personality::Linux64),
    ("s390x", Personality::Linux64),
    ("x86_64", Personality::Linux64),
];

/// An `lxc.arch` value: the name as written (lower-cased) and its personality.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Arch {
    pub name: String,
    pub personality: Personality,
}

impl FromStr for Arch {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let name = input.trim().to_ascii_lowercase();
        match NAMES.iter().find(|(n, _)| *n == name) {
            Some(&(_, personality)) => Ok(Arch { name, personality }),
            None => {
                let words: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                Err(super::unknown_word(input, "architecture", &words))
            }
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_names() {
        let a: Arch = "x86_64".parse().unwrap();
        assert_eq!(a.personality, Personality::Linux64);
        assert_eq!(
            "I686".parse::<Arch>().unwrap(),
            Arch {
                name: "i686".into(),
                personality: Personality::Linux32
            }
        );
        assert_eq!(
            "amd64".parse::<Arch>().unwrap().personality,
            Personality::Linux64
        );
        assert_eq!(
            "armhf".parse::<Arch>().unwrap().personality,
            Personality::Linux32
        );
    }

    #[test]
    fn unknown_names() {
        assert!("x86-64"
            .parse::<Arch>()
            .unwrap_err()
            .0
            .contains("did you mean 'x86_64'"));
        assert!("x32".parse::<Arch>().is_err());
        assert!("".parse::<Arch>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(i in 0..NAMES.len()) {
            let a: Arch = NAMES[i].0.parse().unwrap();
            prop_assert_eq!(a.to_string().parse::<Arch>(), Ok(a));
        }
    }
}
