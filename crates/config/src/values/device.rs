//! cgroup device rules (`c 1:3 rwm`, `b *:* m`, `a`).

use std::fmt;
use std::str::FromStr;

use super::ValueError;
use crate::limits::shorten;

/// Which device nodes a rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceKind {
    /// `a`: every device, character and block.
    All,
    /// `c`: character devices.
    Char,
    /// `b`: block devices.
    Block,
}

/// What a rule allows (or denies): `r`ead, `w`rite, `m`knod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DeviceAccess {
    pub read: bool,
    pub write: bool,
    pub mknod: bool,
}

impl DeviceAccess {
    /// `rwm`.
    pub const ALL: DeviceAccess = DeviceAccess {
        read: true,
        write: true,
        mknod: true,
    };
}

impl fmt::Display for DeviceAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, letter) in [(self.read, "r"), (self.write, "w"), (self.mknod, "m")] {
            if on {
                f.write_str(letter)?;
            }
        }
        Ok(())
    }
}

/// One `devices.allow` / `devices.deny` rule. `None` for major or minor means `*` (any).
///
/// `a` means every device with every access, as the kernel reads it; anything after `a` is
/// checked for typos but does not narrow the rule (the kernel ignores it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceRule {
    pub kind: DeviceKind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: DeviceAccess,
}

impl DeviceRule {
    /// `a`: all devices, all access.
    pub const ALL: DeviceRule = DeviceRule {
        kind: DeviceKind::All,
        major: None,
        minor: None,
        access: DeviceAccess::ALL,
    };
}

impl FromStr for DeviceRule {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let mut fields = input.split_whitespace();
        let kind = match fields.next() {
            Some("a") => DeviceKind::All,
            Some("c") => DeviceKind::Char,
            Some("b") => DeviceKind::Block,
            Some(other) => {
                return Err(ValueError::new(
                    input,
                    format!(
                        "unknown device type '{}' (use c for character, b for block, a for all)",
                        shorten(other)
                    ),
                ))
            }
            None => {
                return Err(ValueError::new(
                    input,
                    "expected a device rule such as 'c 1:3 rwm' or 'a'",
                ))
            }
        };
        let numbers = fields.next();
        let access = fields.next();
        if let Some(extra) = fields.next() {
            return Err(ValueError::new(
                input,
                format!("unexpected '{}' after the access letters", shorten(extra)),
            ));
        }
        if kind == DeviceKind::All {
            // Validate what is there, but `a` always means everything.
            if let Some(n) = numbers {
                parse_numbers(input, n)?;
            }
            if let Some(a) = access {
                parse_access(input, a)?;
            }
            return Ok(DeviceRule::ALL);
        }
        let numbers = numbers.ok_or_else(|| {
            ValueError::new(
                input,
                "missing 'major:minor' (use * for any, e.g. 'c 136:* rwm')",
            )
        })?;
        let (major, minor) = parse_numbers(input, numbers)?;
        let access = access.ok_or_else(|| {
            ValueError::new(
                input,
                "missing access letters (any of r, w, m, e.g. 'c 1:3 rwm')",
            )
        })?;
        let access = parse_access(input, access)?;
        Ok(DeviceRule {
            kind,
            major,
            minor,
            access,
        })
    }
}

fn parse_numbers(input: &str, field: &str) -> Result<(Option<u32>, Option<u32>), ValueError> {
    let (major, minor) = field.split_once(':').ok_or_else(|| {
        ValueError::new(
            input,
            format!(
                "'{}' needs a colon between major and minor, e.g. 1:3",
                shorten(field)
            ),
        )
    })?;
    Ok((
        device_number(input, major, "major")?,
        device_number(input, minor, "minor")?,
    ))
}

fn device_number(input: &str, field: &str, what: &str) -> Result<Option<u32>, ValueError> {
    if field == "*" {
        return Ok(None);
    }
    super::parse_u32(input, field, &format!("the {what} number (or *)")).map(Some)
}

fn parse_access(input: &str, field: &str) -> Result<DeviceAccess, ValueError> {
    let mut access = DeviceAccess::default();
    for c in field.chars() {
        match c {
            'r' => access.read = true,
            'w' => access.write = true,
            'm' => access.mknod = true,
            _ => {
                return Err(ValueError::new(
                    input,
                    format!(
                        "unknown access letter '{c}' (use r for read, w for write, m for mknod)"
                    ),
                ))
            }
        }
    }
    Ok(access)
}

impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DeviceKind::All => return f.write_str("a"),
            DeviceKind::Char => "c",
            DeviceKind::Block => "b",
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        write!(
            f,
            "{kind} {}:{} {}",
            num(self.major),
            num(self.minor),
            self.access
        )
    }
}

serialize_display!(DeviceRule);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(s: &str) -> DeviceRule {
        s.parse().unwrap_or_else(|e: ValueError| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_seed_rules() {
        assert_eq!(rule("a"), DeviceRule::ALL);
        let null = rule("c 1:3 rwm");
        assert_eq!(null.kind, DeviceKind::Char);
        assert_eq!((null.major, null.minor), (Some(1), Some(3)));
        assert_eq!(null.access, DeviceAccess::ALL);
        let any_block = rule("b *:* m");
        assert_eq!((any_block.major, any_block.minor), (None, None));
        assert_eq!(
            any_block.access,
            DeviceAccess {
                read: false,
                write: false,
                mknod: true
            }
        );
        assert_eq!(rule("c 136:* rwm").minor, None);
        assert_eq!(rule("c 5:1 rw").access.to_string(), "rw");
        assert_eq!(rule("c 10:229 rwm").to_string(), "c 10:229 rwm");
        assert_eq!(rule("  c   254:0   rwm ").to_string(), "c 254:0 rwm");
        assert_eq!(rule("a *:* rwm"), DeviceRule::ALL);
        assert_eq!(rule("c 1:3 mwr").to_string(), "c 1:3 rwm");
    }

    #[test]
    fn rejects_bad_rules() {
        let why = |s: &str| s.parse::<DeviceRule>().unwrap_err().0;
        assert!(why("x 1:3 rwm").contains("unknown device type 'x'"));
        assert!(why("c 1:3 rwx").contains("access letter 'x'"));
        assert!(why("c 13 rwm").contains("colon"));
        assert!(why("c 1:3").contains("missing access"));
        assert!(why("c").contains("missing 'major:minor'"));
        assert!(why("").contains("expected a device rule"));
        assert!(why("c a:3 rwm").contains("major"));
        assert!(why("c 1:3 rwm extra").contains("unexpected"));
        assert!(why("a 1 rwm").contains("colon"));
    }

    fn arb_rule() -> impl Strategy<Value = DeviceRule> {
        let num = proptest::option::of(any::<u32>());
        prop_oneof![
            Just(DeviceRule::ALL),
            (
                prop_oneof![Just(DeviceKind::Char), Just(DeviceKind::Block)],
                num.clone(),
                num,
                any::<(bool, bool, bool)>()
            )
                .prop_map(|(kind, major, minor, (read, write, mknod))| DeviceRule {
                    kind,
                    major,
                    minor,
                    access: DeviceAccess {
                        read,
                        write,
                        mknod: mknod || !(read || write)
                    },
                }),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(r in arb_rule()) {
            prop_assert_eq!(r.to_string().parse::<DeviceRule>(), Ok(r));
        }

        #[test]
        fn never_panics(s in "[abcx*: 0-9rwm]{0,16}") {
            let _ = s.parse::<DeviceRule>();
        }
    }
}
