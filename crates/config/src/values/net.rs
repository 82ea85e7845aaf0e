//! Small network values: interface type, flags, modes, VLAN ids, MTU.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ValueError;

keyword_enum! {
    /// `lxc.net.N.type`.
    pub enum NetType {
        /// Loopback only.
        Empty = "empty",
        Veth = "veth",
        Macvlan = "macvlan",
        Ipvlan = "ipvlan",
        Vlan = "vlan",
        /// Move a host interface into the container.
        Phys = "phys",
        /// Share the host's network namespace.
        None = "none",
    }
}
keyword_from_str!(NetType, "network type");

keyword_enum! {
    /// `lxc.net.N.veth.mode`.
    pub enum VethMode {
        Bridge = "bridge",
        Router = "router",
    }
}
keyword_from_str!(VethMode, "veth mode");

keyword_enum! {
    /// `lxc.net.N.macvlan.mode`.
    pub enum MacvlanMode {
        Private = "private",
        Vepa = "vepa",
        Bridge = "bridge",
        Passthru = "passthru",
    }
}
keyword_from_str!(MacvlanMode, "macvlan mode");

keyword_enum! {
    /// `lxc.net.N.ipvlan.mode`.
    pub enum IpvlanMode {
        L3 = "l3",
        L3s = "l3s",
        L2 = "l2",
    }
}
keyword_from_str!(IpvlanMode, "ipvlan mode");

keyword_enum! {
    /// `lxc.net.N.ipvlan.isolation`.
    pub enum IpvlanIsolation {
        Bridge = "bridge",
        Private = "private",
        Vepa = "vepa",
    }
}
keyword_from_str!(IpvlanIsolation, "ipvlan isolation");

/// `lxc.net.N.flags`: `up` is the only flag; an empty value means "leave it down".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct NetFlags {
    pub up: bool,
}

impl FromStr for NetFlags {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        match input.trim() {
            "" => Ok(NetFlags { up: false }),
            s if s.eq_ignore_ascii_case("up") => Ok(NetFlags { up: true }),
            _ => Err(super::unknown_word(input, "interface flag", &["up"])),
        }
    }
}

impl fmt::Display for NetFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.up { "up" } else { "" })
    }
}

/// Parses a whole number in `range`, saying `what` and the range when it is not.
fn number_in<T>(
    input: &str,
    range: std::ops::RangeInclusive<T>,
    what: &str,
) -> Result<T, ValueError>
where
    T: FromStr + PartialOrd + fmt::Display,
{
    let s = input.trim();
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match s.parse::<T>() {
        Ok(v) if ok && range.contains(&v) => Ok(v),
        _ => Err(ValueError::new(
            input,
            format!(
                "{what} must be a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// `lxc.net.N.vlan.id`: 0..=4094 (4095 is reserved by 802.1Q).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct VlanId(pub u16);

impl FromStr for VlanId {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        number_in(input, 0..=4094, "a VLAN id").map(VlanId)
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `lxc.net.N.veth.vlan.id`: the untagged VLAN of the bridge port, or `none`.
/// VLAN 0 means "no VLAN" on a bridge, hence ids 1..=4094.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BridgeVlan {
    None,
    Id(u16),
}

impl FromStr for BridgeVlan {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        if input.trim().eq_ignore_ascii_case("none") {
            return Ok(BridgeVlan::None);
        }
        number_in(input, 1..=4094, "a bridge VLAN id (or none)").map(BridgeVlan::Id)
    }
}

impl fmt::Display for BridgeVlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BridgeVlan::None => f.write_str("none"),
            BridgeVlan::Id(id) => write!(f, "{id}"),
        }
    }
}

/// `lxc.net.N.mtu`: 68 (the IPv4 minimum) to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Mtu(pub u32);

impl FromStr for Mtu {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        number_in(input, 68..=65535, "the MTU").map(Mtu)
    }
}

impl fmt::Display for Mtu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

serialize_display!(BridgeVlan);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keywords() {
        assert_eq!("veth".parse(), Ok(NetType::Veth));
        assert_eq!("none".parse(), Ok(NetType::None));
        assert!("vet"
            .parse::<NetType>()
            .unwrap_err()
            .0
            .contains("did you mean 'veth'"));
        assert_eq!("router".parse(), Ok(VethMode::Router));
        assert_eq!("passthru".parse(), Ok(MacvlanMode::Passthru));
        assert_eq!("l3s".parse(), Ok(IpvlanMode::L3s));
        assert_eq!("vepa".parse(), Ok(IpvlanIsolation::Vepa));
        assert!("passthrough"
            .parse::<MacvlanMode>()
            .unwrap_err()
            .0
            .contains("did you mean 'passthru'"));
    }

    #[test]
    fn flags() {
        assert_eq!("up".parse(), Ok(NetFlags { up: true }));
        assert_eq!("".parse(), Ok(NetFlags { up: false }));
        assert!("down".parse::<NetFlags>().is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!("0".parse(), Ok(VlanId(0)));
        assert!("4095"
            .parse::<VlanId>()
            .unwrap_err()
            .0
            .contains("0 to 4094"));
        assert_eq!("none".parse(), Ok(BridgeVlan::None));
        assert_eq!("10".parse(), Ok(BridgeVlan::Id(10)));
        assert!("0".parse::<BridgeVlan>().is_err());
        assert_eq!("1500".parse(), Ok(Mtu(1500)));
        assert!("67".parse::<Mtu>().unwrap_err().0.contains("68 to 65535"));
        assert!("65536".parse::<Mtu>().is_err());
        assert!("-1".parse::<Mtu>().is_err());
        assert!("+1500".parse::<Mtu>().is_err());
    }

    proptest! {
        #[test]
        fn round_trips(
            t in proptest::sample::select(NetType::ALL),
            v in proptest::sample::select(VethMode::ALL),
            m in proptest::sample::select(MacvlanMode::ALL),
            i in proptest::sample::select(IpvlanMode::ALL),
            iso in proptest::sample::select(IpvlanIsolation::ALL),
            up in any::<bool>(),
            vlan in 0u16..=4094,
            mtu in 68u32..=65535,
        ) {
            prop_assert_eq!(t.to_string().parse::<NetType>(), Ok(t));
            prop_assert_eq!(v.to_string().parse::<VethMode>(), Ok(v));
            prop_assert_eq!(m.to_string().parse::<MacvlanMode>(), Ok(m));
            prop_assert_eq!(i.to_string().parse::<IpvlanMode>(), Ok(i));
            prop_assert_eq!(iso.to_string().parse::<IpvlanIsolation>(), Ok(iso));
            prop_assert_eq!(NetFlags { up }.to_string().parse::<NetFlags>(), Ok(NetFlags { up }));
            prop_assert_eq!(VlanId(vlan).to_string().parse::<VlanId>(), Ok(VlanId(vlan)));
            let bv = if vlan == 0 { BridgeVlan::None } else { BridgeVlan::Id(vlan) };
            prop_assert_eq!(bv.to_string().parse::<BridgeVlan>(), Ok(bv));
            prop_assert_eq!(Mtu(mtu).to_string().parse::<Mtu>(), Ok(Mtu(mtu)));
        }
    }
}
