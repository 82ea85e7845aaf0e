//! MAC addresses (`00:16:3e:12:34:56`) and `hwaddr` templates (`00:16:3e:xx:xx:xx`).

use std::fmt;
use std::str::FromStr;

use super::ValueError;

/// A concrete unicast MAC address. Displays as lower-case `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

/// An `lxc.net.N.hwaddr` value: a MAC address in which any hex digit may be `x`, to be
/// filled in when the container starts. Kept as written (lower case) so it round-trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HwAddr {
    /// Twelve hex digits, most significant first; `None` is an `x`.
    nibbles: [Option<u8>; 12],
}

impl HwAddr {
    /// True if any digit is still an `x`.
    pub fn is_template(&self) -> bool {
        self.nibbles.iter().any(Option::is_none)
    }

    /// A concrete address: each `x` digit takes the low four bits of the next value from
    /// `next_byte` (random, or derived from the container name for stable addresses).
    ///
    /// If the multicast digit (second digit of the first byte) is an `x`, its multicast bit
    /// is cleared, so the result is always a unicast address.
    pub fn fill(&self, mut next_byte: impl FnMut() -> u8) -> MacAddr {
        let mut out = [0u8; 6];
        for (i, nibble) in self.nibbles.iter().enumerate() {
            let mut v = nibble.unwrap_or_else(|| next_byte() & 0x0f);
            if i == 1 && nibble.is_none() {
                v &= 0x0e;
            }
            out[i / 2] |= if i % 2 == 0 { v << 4 } else { v };
        }
        MacAddr(out)
    }

    /// The address itself when it has no `x` digits.
    pub fn concrete(&self) -> Option<MacAddr> {
        (!self.is_template()).then(|| self.fill(|| 0))
    }
}

impl From<MacAddr> for HwAddr {
    fn from(mac: MacAddr) -> Self {
        let mut nibbles = [None; 12];
        for (i, b) in mac.0.iter().enumerate() {
            nibbles[2 * i] = Some(b >> 4);
            nibbles[2 * i + 1] = Some(b & 0x0f);
        }
        HwAddr { nibbles }
    }
}

/// Splits `aa:bb:..` into 12 digits (`None` for `x` when `allow_x`), with the reasons.
fn parse_digits(input: &str, allow_x: bool) -> Result<[Option<u8>; 12], ValueError> {
    let s = input.trim();
    let groups: Vec<&str> = s.split(':').collect();
    if groups.len() != 6 {
        return Err(ValueError::new(
            input,
            format!(
                "a MAC address has 6 groups of two hex digits separated by ':' (found {})",
                groups.len()
            ),
        ));
    }
    let mut nibbles = [None; 12];
    for (g, group) in groups.iter().enumerate() {
        // One digit is a leading zero left out: the seed's hwaddr.sh prints `02:00:a:0:3:5`
        // (printf `%x`), and LXC and `ip` read that as 02:00:0a:00:03:05.
        let padded: String = match group.chars().count() {
            1 => format!("0{group}"),
            2 => group.to_string(),
            _ => {
                return Err(ValueError::new(
                    input,
                    format!(
                        "group {} ('{}') must be one or two hex digits",
                        g + 1,
                        crate::limits::shorten(group)
                    ),
                ))
            }
        };
        for (d, c) in padded.chars().enumerate() {
            nibbles[2 * g + d] = match c {
                'x' | 'X' if allow_x => None,
                _ => Some(
                    c.to_digit(16)
                        .and_then(|v| u8::try_from(v).ok())
                        .ok_or_else(|| {
                            let also = if allow_x { " or x" } else { "" };
                            ValueError::new(
                                input,
                                format!("'{c}' is not a hex digit (0-9, a-f{also})"),
                            )
                        })?,
                ),
            };
        }
    }
    if nibbles[1].is_some_and(|v| v & 1 == 1) {
        return Err(ValueError::new(
            input,
            "this is a multicast address (lowest bit of the first byte set); a network interface \
             needs a unicast address, so the second digit must be even (e.g. 00:16:3e:...)",
        ));
    }
    Ok(nibbles)
}

impl FromStr for MacAddr {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let mac = HwAddr {
            nibbles: parse_digits(input, false)?,
        }
        .fill(|| 0);
        if mac.0 == [0; 6] {
            return Err(ValueError::new(
                input,
                "00:00:00:00:00:00 is not a usable address",
            ));
        }
        Ok(mac)
    }
}

impl FromStr for HwAddr {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let hw = HwAddr {
            nibbles: parse_digits(input, true)?,
        };
        if hw.concrete().is_some_and(|m| m.0 == [0; 6]) {
            return Err(ValueError::new(
                input,
                "00:00:00:00:00:00 is not a usable address",
            ));
        }
        Ok(hw)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Display for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.nibbles.iter().enumerate() {
            if i > 0 && i % 2 == 0 {
                f.write_str(":")?;
            }
            match n {
                Some(v) => write!(f, "{v:x}")?,
                None => f.write_str("x")?,
            }
        }
        Ok(())
    }
}

serialize_display!(MacAddr, HwAddr);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_concrete_addresses() {
        let m: MacAddr = "00:16:3E:aB:cd:EF".parse().unwrap();
        assert_eq!(m.0, [0x00, 0x16, 0x3e, 0xab, 0xcd, 0xef]);
        assert_eq!(m.to_string(), "00:16:3e:ab:cd:ef");
    }

    #[test]
    fn rejects_bad_addresses() {
        let why = |s: &str| s.parse::<MacAddr>().unwrap_err().0;
        assert!(why("01:00:5e:00:00:01").contains("multicast"));
        assert!(why("00:16:3e:00:00").contains("6 groups"));
        assert!(why("00:16:3e:00:00:00:00").contains("6 groups"));
        assert!(why("00:16:3e:0g:00:00").contains("'g' is not a hex digit"));
        assert!(why("00:16:3e:000:00:00").contains("one or two"));
        assert!(why("00:16:3e::00:00").contains("one or two"));
        assert!(why("00:16:3e:xx:00:00").contains("not a hex digit"));
        assert!(why("00:00:00:00:00:00").contains("not a usable"));
        assert!(why("").contains("6 groups"));
    }

    #[test]
    fn one_digit_groups_are_a_left_out_zero() {
        // What the seed's hwaddr.sh prints for 10.0.3.5.
        let m: MacAddr = "02:00:a:0:3:5".parse().unwrap();
        assert_eq!(m.to_string(), "02:00:0a:00:03:05");
    }

    #[test]
    fn templates() {
        let t: HwAddr = "00:16:3E:xx:XX:xx".parse().unwrap();
        assert!(t.is_template());
        assert_eq!(t.to_string(), "00:16:3e:xx:xx:xx");
        let mut n = 0u8;
        let m = t.fill(|| {
            n += 1;
            n
        });
        assert_eq!(m.0, [0x00, 0x16, 0x3e, 0x12, 0x34, 0x56]);
        // An x in the multicast digit never yields a multicast address.
        let any: HwAddr = "xx:xx:xx:xx:xx:xx".parse().unwrap();
        assert_eq!(any.fill(|| 0xff).0[0] & 1, 0);
        assert!("01:xx:xx:xx:xx:xx"
            .parse::<HwAddr>()
            .unwrap_err()
            .0
            .contains("multicast"));
        let c: HwAddr = "00:16:3e:12:34:56".parse().unwrap();
        assert!(!c.is_template());
        assert_eq!(
            c.concrete().map(|m| m.to_string()).as_deref(),
            Some("00:16:3e:12:34:56")
        );
    }

    fn arb_mac() -> impl Strategy<Value = MacAddr> {
        any::<[u8; 6]>().prop_map(|mut b| {
            b[0] &= 0xfe;
            b[5] |= 1;
            MacAddr(b)
        })
    }

    proptest! {
        #[test]
        fn mac_round_trips(m in arb_mac()) {
            prop_assert_eq!(m.to_string().parse::<MacAddr>(), Ok(m));
        }

        #[test]
        fn template_round_trips(m in arb_mac(), mask in any::<u16>()) {
            let mut hw = HwAddr::from(m);
            for i in 0..12 {
                if mask & (1 << i) != 0 {
                    hw.nibbles[i] = None;
                }
            }
            prop_assert_eq!(hw.to_string().parse::<HwAddr>(), Ok(hw));
        }

        #[test]
        fn never_panics(s in "[0-9a-fxX:]{0,20}") {
            let _ = s.parse::<MacAddr>();
            let _ = s.parse::<HwAddr>();
        }
    }
}
