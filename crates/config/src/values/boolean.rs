//! LXC's `0`/`1` switches.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ValueError;

/// A switch written `0` or `1` (as LXC does). `true/false`, `yes/no` and `on/off` are
/// accepted too; Display always writes `0` or `1`. Serializes as a JSON boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(transparent)]
pub struct Bool01(pub bool);

impl FromStr for Bool01 {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        match input.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Bool01(true)),
            "0" | "false" | "no" | "off" => Ok(Bool01(false)),
            _ => Err(ValueError::new(input, "expected 0 or 1")),
        }
    }
}

impl fmt::Display for Bool01 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "1" } else { "0" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings() {
        for t in ["1", "true", "Yes", "ON", " 1 "] {
            assert_eq!(t.parse(), Ok(Bool01(true)), "{t}");
        }
        for f in ["0", "false", "no", "off"] {
            assert_eq!(f.parse(), Ok(Bool01(false)), "{f}");
        }
        assert!("2"
            .parse::<Bool01>()
            .unwrap_err()
            .0
            .contains("expected 0 or 1"));
        assert!("".parse::<Bool01>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(b in any::<bool>()) {
            prop_assert_eq!(Bool01(b).to_string().parse::<Bool01>(), Ok(Bool01(b)));
        }
    }
}
