//! IPv4/IPv6 addresses with prefixes, gateways and veth routes.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::ValueError;

/// An `lxc.net.N.ipv4.address`: `192.168.1.2/24`, optionally followed by a broadcast address
/// (`192.168.1.2/24 192.168.1.255`).
///
/// A missing prefix: the man page only shows the `/m` form; LXC's code then falls back to
/// the old class-based default. We do the same, reading the class from the first byte:
/// 0-127 → /8, 128-191 → /16, 192-223 → /24; other addresses need an explicit prefix.
/// (LXC 5.0.2 tests the class on the address in network byte order, so on x86 it actually
/// looks at the last byte; we follow the documented intent, not that slip.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Cidr {
    pub address: Ipv4Addr,
    pub prefix: u8,
    /// `None`: computed from address and prefix when the address is added.
    pub broadcast: Option<Ipv4Addr>,
}

impl Ipv4Cidr {
    /// The broadcast address as written, else the one implied by the prefix.
    pub fn effective_broadcast(&self) -> Ipv4Addr {
        self.broadcast.unwrap_or_else(|| {
            let host_bits = u32::MAX.checked_shr(u32::from(self.prefix)).unwrap_or(0);
            Ipv4Addr::from(u32::from(self.address) | host_bits)
        })
    }
}

/// An `lxc.net.N.ipv6.address`: `2001:db8::1/64`; a missing prefix means /64, as in LXC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Cidr {
    pub address: Ipv6Addr,
    pub prefix: u8,
}

/// A host-side route to the container (`lxc.net.N.veth.ipv4.route`): a network with an
/// explicit prefix and no host bits, because the kernel refuses routes like `10.0.0.1/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv4Route {
    pub network: Ipv4Addr,
    pub prefix: u8,
}

/// IPv6 counterpart of [`Ipv4Route`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6Route {
    pub network: Ipv6Addr,
    pub prefix: u8,
}

/// `lxc.net.N.ipv4.gateway`: an address, `auto` (the bridge's primary address) or `dev`
/// (a device route, for layer-3 modes such as ipvlan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ipv4Gateway {
    Address(Ipv4Addr),
    Auto,
    Dev,
}

/// IPv6 counterpart of [`Ipv4Gateway`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ipv6Gateway {
    Address(Ipv6Addr),
    Auto,
    Dev,
}

/// Splits `addr/prefix`; the prefix is `None` when there is no slash.
fn split_prefix<'a>(input: &str, s: &'a str, max: u8) -> Result<(&'a str, Option<u8>), ValueError> {
    let Some((addr, prefix)) = s.split_once('/') else {
        return Ok((s, None));
    };
    let ok = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit());
    match prefix.parse::<u8>() {
        Ok(p) if ok && p <= max => Ok((addr, Some(p))),
        _ => Err(ValueError::new(
            input,
            format!("the prefix length after '/' must be a number from 0 to {max}"),
        )),
    }
}

fn v4(input: &str, s: &str, what: &str) -> Result<Ipv4Addr, ValueError> {
    s.parse().map_err(|_| {
        ValueError::new(
            input,
            format!(
                "'{}' is not an IPv4 {what} (expected a.b.c.d)",
                crate::limits::shorten(s)
            ),
        )
    })
}

fn v6(input: &str, s: &str, what: &str) -> Result<Ipv6Addr, ValueError> {
    s.parse().map_err(|_| {
        ValueError::new(
            input,
            format!(
                "'{}' is not an IPv6 {what} (expected e.g. 2001:db8::1)",
                crate::limits::shorten(s)
            ),
        )
    })
}

fn classful_prefix(input: &str, address: Ipv4Addr) -> Result<u8, ValueError> {
    match address.octets()[0] {
        0..=127 => Ok(8),
        128..=191 => Ok(16),
        192..=223 => Ok(24),
        _ => Err(ValueError::new(input, "add a prefix length, e.g. /24")),
    }
}

impl FromStr for Ipv4Cidr {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let mut words = input.split_whitespace();
        let first = words
            .next()
            .ok_or_else(|| ValueError::new(input, "expected an address such as 192.168.1.2/24"))?;
        let broadcast = words
            .next()
            .map(|b| v4(input, b, "broadcast address"))
            .transpose()?;
        if let Some(extra) = words.next() {
            return Err(ValueError::new(
                input,
                format!(
                    "unexpected '{}' (only an address/prefix and a broadcast address are allowed)",
                    crate::limits::shorten(extra)
                ),
            ));
        }
        let (addr, prefix) = split_prefix(input, first, 32)?;
        let address = v4(input, addr, "address")?;
        let prefix = match prefix {
            Some(p) => p,
            None => classful_prefix(input, address)?,
        };
        Ok(Ipv4Cidr {
            address,
            prefix,
            broadcast,
        })
    }
}

impl FromStr for Ipv6Cidr {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        let (addr, prefix) = split_prefix(input, s, 128)?;
        Ok(Ipv6Cidr {
            address: v6(input, addr, "address")?,
            prefix: prefix.unwrap_or(64),
        })
    }
}

impl FromStr for Ipv4Route {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let (addr, prefix) = split_prefix(input, input.trim(), 32)?;
        let network = v4(input, addr, "network")?;
        let prefix = prefix
            .ok_or_else(|| ValueError::new(input, "a route needs a prefix length, e.g. /32"))?;
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let base = Ipv4Addr::from(u32::from(network) & mask);
        if base != network {
            return Err(ValueError::new(
                input,
                format!("host bits are set; the network is {base}/{prefix}"),
            ));
        }
        Ok(Ipv4Route { network, prefix })
    }
}

impl FromStr for Ipv6Route {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let (addr, prefix) = split_prefix(input, input.trim(), 128)?;
        let network = v6(input, addr, "network")?;
        let prefix = prefix
            .ok_or_else(|| ValueError::new(input, "a route needs a prefix length, e.g. /128"))?;
        let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
        let base = Ipv6Addr::from(u128::from(network) & mask);
        if base != network {
            return Err(ValueError::new(
                input,
                format!("host bits are set; the network is {base}/{prefix}"),
            ));
        }
        Ok(Ipv6Route { network, prefix })
    }
}

impl FromStr for Ipv4Gateway {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        match input.trim() {
            s if s.eq_ignore_ascii_case("auto") => Ok(Ipv4Gateway::Auto),
            s if s.eq_ignore_ascii_case("dev") => Ok(Ipv4Gateway::Dev),
            s => v4(input, s, "gateway (or auto, dev)").map(Ipv4Gateway::Address),
        }
    }
}

impl FromStr for Ipv6Gateway {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        match input.trim() {
            s if s.eq_ignore_ascii_case("auto") => Ok(Ipv6Gateway::Auto),
            s if s.eq_ignore_ascii_case("dev") => Ok(Ipv6Gateway::Dev),
            s => v6(input, s, "gateway (or auto, dev)").map(Ipv6Gateway::Address),
        }
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)?;
        match self.broadcast {
            Some(b) => write!(f, " {b}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl fmt::Display for Ipv4Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl fmt::Display for Ipv6Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl fmt::Display for Ipv4Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ipv4Gateway::Address(a) => a.fmt(f),
            Ipv4Gateway::Auto => f.write_str("auto"),
            Ipv4Gateway::Dev => f.write_str("dev"),
        }
    }
}

impl fmt::Display for Ipv6Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ipv6Gateway::Address(a) => a.fmt(f),
            Ipv6Gateway::Auto => f.write_str("auto"),
            Ipv6Gateway::Dev => f.write_str("dev"),
        }
    }
}

serialize_display!(
    Ipv4Cidr,
    Ipv6Cidr,
    Ipv4Route,
    Ipv6Route,
    Ipv4Gateway,
    Ipv6Gateway
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ipv4_addresses() {
        let a: Ipv4Cidr = "192.168.1.2/24".parse().unwrap();
        assert_eq!(
            (a.address, a.prefix, a.broadcast),
            (Ipv4Addr::new(192, 168, 1, 2), 24, None)
        );
        assert_eq!(a.effective_broadcast(), Ipv4Addr::new(192, 168, 1, 255));
        let b: Ipv4Cidr = "10.2.3.5/24 10.2.3.255".parse().unwrap();
        assert_eq!(b.broadcast, Some(Ipv4Addr::new(10, 2, 3, 255)));
        assert_eq!(b.to_string(), "10.2.3.5/24 10.2.3.255");
        assert_eq!("10.0.0.5".parse::<Ipv4Cidr>().unwrap().prefix, 8);
        assert_eq!("172.16.0.5".parse::<Ipv4Cidr>().unwrap().prefix, 16);
        assert_eq!("192.168.1.2".parse::<Ipv4Cidr>().unwrap().prefix, 24);
        assert_eq!(
            "1.2.3.4/0"
                .parse::<Ipv4Cidr>()
                .unwrap()
                .effective_broadcast(),
            Ipv4Addr::BROADCAST
        );
        assert_eq!(
            "1.2.3.4/32"
                .parse::<Ipv4Cidr>()
                .unwrap()
                .effective_broadcast(),
            Ipv4Addr::new(1, 2, 3, 4)
        );
    }

    #[test]
    fn ipv4_rejects() {
        let why = |s: &str| s.parse::<Ipv4Cidr>().unwrap_err().0;
        assert!(why("192.168.1.2/33").contains("0 to 32"));
        assert!(why("192.168.1.2/").contains("prefix length"));
        assert!(why("192.168.1/24").contains("not an IPv4 address"));
        assert!(why("1.2.3.4/24 1.2.3").contains("broadcast"));
        assert!(why("1.2.3.4/24 1.2.3.255 x").contains("unexpected"));
        assert!(why("224.0.0.1").contains("add a prefix"));
        assert!(why("").contains("expected an address"));
    }

    #[test]
    fn ipv6_and_routes() {
        let a: Ipv6Cidr = "2003:db8:1:0:214:1234:fe0b:3597".parse().unwrap();
        assert_eq!(a.prefix, 64);
        assert_eq!("2001:db8::1/128".parse::<Ipv6Cidr>().unwrap().prefix, 128);
        assert!("2001:db8::1/129".parse::<Ipv6Cidr>().is_err());
        assert!("1.2.3.4/24".parse::<Ipv6Cidr>().is_err());
        assert_eq!(
            "10.0.0.0/24".parse::<Ipv4Route>().unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert!("10.0.0.1/24"
            .parse::<Ipv4Route>()
            .unwrap_err()
            .0
            .contains("10.0.0.0/24"));
        assert!("10.0.0.1"
            .parse::<Ipv4Route>()
            .unwrap_err()
            .0
            .contains("prefix"));
        assert!("2001:db8::1/64"
            .parse::<Ipv6Route>()
            .unwrap_err()
            .0
            .contains("2001:db8::/64"));
        assert!("2001:db8::/64".parse::<Ipv6Route>().is_ok());
        assert!("0.0.0.0/0".parse::<Ipv4Route>().is_ok());
        assert!("::/0".parse::<Ipv6Route>().is_ok());
    }

    #[test]
    fn gateways() {
        assert_eq!(
            "192.168.1.1".parse(),
            Ok(Ipv4Gateway::Address(Ipv4Addr::new(192, 168, 1, 1)))
        );
        assert_eq!("auto".parse(), Ok(Ipv4Gateway::Auto));
        assert_eq!("dev".parse(), Ok(Ipv6Gateway::Dev));
        assert!("gw"
            .parse::<Ipv4Gateway>()
            .unwrap_err()
            .0
            .contains("auto, dev"));
        assert!("1.2.3.4".parse::<Ipv6Gateway>().is_err());
    }

    proptest! {
        #[test]
        fn v4_round_trips(a in any::<u32>(), p in 0u8..=32, b in proptest::option::of(any::<u32>())) {
            let c = Ipv4Cidr { address: a.into(), prefix: p, broadcast: b.map(Into::into) };
            prop_assert_eq!(c.to_string().parse::<Ipv4Cidr>(), Ok(c));
        }

        #[test]
        fn v6_round_trips(a in any::<u128>(), p in 0u8..=128) {
            let c = Ipv6Cidr { address: a.into(), prefix: p };
            prop_assert_eq!(c.to_string().parse::<Ipv6Cidr>(), Ok(c));
        }

        #[test]
        fn routes_round_trip(a in any::<u32>(), b in any::<u128>(), p in 0u8..=32, q in 0u8..=128) {
            let r4 = Ipv4Route { network: (a & u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0)).into(), prefix: p };
            prop_assert_eq!(r4.to_string().parse::<Ipv4Route>(), Ok(r4));
            let r6 = Ipv6Route { network: (b & u128::MAX.checked_shl(128 - u32::from(q)).unwrap_or(0)).into(), prefix: q };
            prop_assert_eq!(r6.to_string().parse::<Ipv6Route>(), Ok(r6));
        }

        #[test]
        fn gateways_round_trip(a in any::<u32>(), b in any::<u128>(), k in 0u8..3) {
            let g4 = match k { 0 => Ipv4Gateway::Auto, 1 => Ipv4Gateway::Dev, _ => Ipv4Gateway::Address(a.into()) };
            prop_assert_eq!(g4.to_string().parse::<Ipv4Gateway>(), Ok(g4));
            let g6 = match k { 0 => Ipv6Gateway::Auto, 1 => Ipv6Gateway::Dev, _ => Ipv6Gateway::Address(b.into()) };
            prop_assert_eq!(g6.to_string().parse::<Ipv6Gateway>(), Ok(g6));
        }

        #[test]
        fn never_panics(s in "[0-9a-f.:/ ]{0,24}") {
            let _ = s.parse::<Ipv4Cidr>();
            let _ = s.parse::<Ipv6Cidr>();
            let _ = s.parse::<Ipv4Route>();
            let _ = s.parse::<Ipv6Route>();
        }
    }
}
