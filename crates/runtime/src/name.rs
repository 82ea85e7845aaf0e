//! The one rule for a container's name, derived from what a start does with it, so that a
//! name `create` accepts always starts.
//!
//! What the name becomes:
//! - the container's hostname, when `lxc.uts.name` is unset (as in LXC): `sethostname`
//!   takes at most `HOST_NAME_MAX` = 64 bytes, which is the length bound;
//! - a directory under the lxcpath (`$lxcpath/NAME`), and the run directory
//!   `/run/rlxc/NAME` or `/run/rlxc/NAME.<16 hex>` (another lxcpath): one path component,
//!   so no `/`, not `.` or `..`; and no leading `.`, which the run root keeps for its own
//!   entries (`.removed.PID`, `.locks/`) and the lxcpath for creates in progress;
//! - the control socket `RUN_DIR/monitor.sock`, whose path must fit `sun_path` (108 bytes):
//!   `/run/rlxc/` + 64 + 17 + `/monitor.sock` is 104. A longer `RLXC_RUN_DIR` is the run
//!   directory's fault, said at start, not the name's;
//! - cgroup names `rlxc.payload.NAME[.HASH]`: 13 + 64 + 17 = 94 of the 255 bytes a name
//!   may have;
//! - words in `ps`, logs, `rlxc ls` columns and messages: no control characters (a newline
//!   would forge a line), and no space at either end, which no listing shows.
//!
//! Inner spaces, `:` and any printable Unicode work everywhere (as in LXC, which allows
//! them). A leading `-` is refused: `rlxc start -n -x` reads `-x` as an option.

use std::fmt;

/// `HOST_NAME_MAX`: the hostname a name becomes is at most this many bytes.
pub const MAX_NAME_LEN: usize = 64;

/// A container name that satisfies every rule below.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerName(String);

/// Which rule a name breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("it is empty")]
    Empty,
    #[error(
        "longer than {MAX_NAME_LEN} bytes ({length}): the container's hostname, which \
         defaults to its name, may be at most {MAX_NAME_LEN}"
    )]
    TooLong { length: usize },
    #[error("it contains '/': the name is one directory below the lxcpath")]
    Slash,
    #[error(
        "it starts with '.': '.' and '..' are not directories of their own, and names \
         starting with '.' are rlxc's own (creates in progress, removals, locks)"
    )]
    LeadingDot,
    #[error("it starts with '-', which commands read as an option")]
    LeadingDash,
    #[error("it starts or ends with whitespace, which no listing shows")]
    OuterWhitespace,
    #[error("it contains the control character {character:?} (at byte {at})")]
    ControlCharacter { character: char, at: usize },
}

impl ContainerName {
    /// Checks `name` against every rule, the first broken one named.
    pub fn parse(name: &str) -> Result<ContainerName, NameError> {
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if let Some((at, character)) = name.char_indices().find(|(_, c)| c.is_control()) {
            return Err(NameError::ControlCharacter { character, at });
        }
        if name.starts_with('.') {
            return Err(NameError::LeadingDot);
        }
        if name.contains('/') {
            return Err(NameError::Slash);
        }
        if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
            return Err(NameError::OuterWhitespace);
        }
        if name.starts_with('-') {
            return Err(NameError::LeadingDash);
        }
        if name.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong { length: name.len() });
        }
        Ok(ContainerName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `invalid container name "NAME": RULE`, the name cut if long (it may be anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid container name {}: {rule}", quoted(.name))]
pub struct InvalidName {
    pub name: String,
    pub rule: NameError,
}

fn quoted(name: &str) -> String {
    rlxc_config::limits::quote(name)
}

/// [`ContainerName::parse`], with the name in the error.
pub fn check(name: &str) -> Result<ContainerName, InvalidName> {
    ContainerName::parse(name).map_err(|rule| InvalidName {
        name: name.to_string(),
        rule,
    })
}

/// The longest start of `text` of at most `bytes` bytes that ends between characters: what a
/// process name (`PR_SET_NAME`, 15 bytes) can hold of a container name without cutting a
/// character in two (the kernel cuts at 15 bytes, and the half character made
/// `/proc/PID/stat` unreadable as text: "cannot read the monitor's own /proc entry").
pub fn prefix_within(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_at_the_bounds() {
        assert!(ContainerName::parse(&"a".repeat(64)).is_ok());
        assert_eq!(
            ContainerName::parse(&"a".repeat(65)),
            Err(NameError::TooLong { length: 65 })
        );
        // 62 ASCII bytes and a 2-byte character: 64 bytes, 63 characters.
        assert!(ContainerName::parse(&format!("{}é", "a".repeat(62))).is_ok());
        assert_eq!(
            ContainerName::parse(&format!("{}é", "a".repeat(63))),
            Err(NameError::TooLong { length: 65 })
        );
        for good in ["web", "web 1", "a:b", "контейнер", "容器-1", "x.y", "a-"] {
            assert!(ContainerName::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn each_rule_is_named() {
        let cases = [
            ("", NameError::Empty),
            (".", NameError::LeadingDot),
            ("..", NameError::LeadingDot),
            (".hidden", NameError::LeadingDot),
            ("a/b", NameError::Slash),
            ("-x", NameError::LeadingDash),
            (" web", NameError::OuterWhitespace),
            ("web\u{a0}", NameError::OuterWhitespace),
            (
                "we\nb",
                NameError::ControlCharacter {
                    character: '\n',
                    at: 2,
                },
            ),
            (
                "web\u{7f}",
                NameError::ControlCharacter {
                    character: '\u{7f}',
                    at: 3,
                },
            ),
        ];
        for (name, rule) in cases {
            assert_eq!(ContainerName::parse(name), Err(rule), "{name:?}");
        }
        let message = check(&"a".repeat(70)).unwrap_err().to_string();
        assert!(
            message.starts_with("invalid container name \"aaaa")
                && message.ends_with(
                    "longer than 64 bytes (70): the container's hostname, which defaults \
                     to its name, may be at most 64"
                ),
            "{message}"
        );
    }

    #[test]
    fn process_names_end_between_characters() {
        assert_eq!(prefix_within("rlxc-mon контейнер", 15), "rlxc-mon кон");
        assert_eq!(prefix_within("rlxc-mon web", 15), "rlxc-mon web");
        assert_eq!(prefix_within("rlxc-mon 容器", 15), "rlxc-mon 容器");
        assert_eq!(prefix_within("rlxc-mon a容器", 15), "rlxc-mon a容");
    }

    proptest! {
        /// Whatever is accepted satisfies every constraint a start puts on the name; whatever
        /// is refused breaks the rule its error names.
        #[test]
        fn accepted_names_fit_every_use_and_refusals_name_a_broken_rule(name in "\\PC{0,3}[\\x00-\\x7f\\PC ./-]{0,70}") {
            match ContainerName::parse(&name) {
                Ok(parsed) => {
                    let name = parsed.as_str();
                    prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_LEN);
                    prop_assert!(!name.contains('/') && !name.starts_with('.'));
                    prop_assert!(!name.chars().any(char::is_control));
                    prop_assert!(!name.starts_with('-'));
                    prop_assert!(name.trim() == name);
                    // The control socket fits sun_path under the default run root, for the
                    // default lxcpath and (with `.HASH`) any other.
                    let socket = format!("/run/rlxc/{name}.0123456789abcdef/monitor.sock");
                    prop_assert!(socket.len() < 108);
                    let cgroup = format!("rlxc.payload.{name}.0123456789abcdef");
                    prop_assert!(cgroup.len() <= 255);
                }
                Err(rule) => {
                    let broken = match rule {
                        NameError::Empty => name.is_empty(),
                        NameError::TooLong { length } => length == name.len() && length > MAX_NAME_LEN,
                        NameError::Slash => name.contains('/'),
                        NameError::LeadingDot => name.starts_with('.'),
                        NameError::LeadingDash => name.starts_with('-'),
                        NameError::OuterWhitespace => name.trim() != name,
                        NameError::ControlCharacter { character, at } => {
                            character.is_control() && name[at..].starts_with(character)
                        }
                    };
                    prop_assert!(broken, "{:?}: {:?}", name, rule);
                }
            }
        }
    }
}
