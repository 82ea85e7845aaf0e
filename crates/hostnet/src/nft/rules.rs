//! What rlxc's NAT table holds, as data: its three base chains and their rules, and the
//! reading of a dumped rule as one of its masquerade rules.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::expr::{
    CmpOp, Expr, NFT_META_IIFNAME, NFT_META_L4PROTO, NFT_META_NFPROTO, NFT_META_OIFNAME,
    NFT_PAYLOAD_NETWORK_HEADER, NFT_PAYLOAD_TRANSPORT_HEADER,
};
use super::wire::{NFPROTO_IPV4, NFPROTO_IPV6};
use super::NatSpec;

// Netfilter hooks of the ip, ip6 and inet families (NF_INET_*).
pub const NF_INET_LOCAL_IN: u32 = 1;
pub const NF_INET_FORWARD: u32 = 2;
pub const NF_INET_POST_ROUTING: u32 = 4;
/// NF_BR_FORWARD: the bridge family numbers its forward hook the same.
pub const NF_BR_FORWARD: u32 = 2;
/// Chain policies are verdicts.
pub const NF_DROP: u32 = 0;
pub const NF_ACCEPT: u32 = 1;

/// `IFNAMSIZ`: `meta iifname` loads the name NUL-padded to this size.
const IFNAMSIZ: usize = 16;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// One base chain of the table.
pub struct Chain {
    pub name: &'static str,
    /// The chain type: "nat" or "filter".
    pub kind: &'static str,
    pub hook: u32,
    pub priority: i32,
}

/// postrouting at srcnat (100), input and forward at filter (0), all with policy accept:
/// the table only adds what containers need and never drops anything itself.
pub const CHAINS: [Chain; 3] = [
    Chain {
        name: "postrouting",
        kind: "nat",
        hook: NF_INET_POST_ROUTING,
        priority: 100,
    },
    Chain {
        name: "input",
        kind: "filter",
        hook: NF_INET_LOCAL_IN,
        priority: 0,
    },
    Chain {
        name: "forward",
        kind: "filter",
        hook: NF_INET_FORWARD,
        priority: 0,
    },
];

/// One rule: its chain, how `nft` would write it (for error messages), its expressions.
pub struct Rule {
    pub chain: &'static str,
    pub text: String,
    pub exprs: Vec<Expr>,
}

/// The rules of the table for `spec`, in order. `spec` has been checked.
pub fn rules(spec: &NatSpec<'_>) -> Vec<Rule> {
    let mut rules = Vec::new();
    let (v4, v4_prefix) = spec.ipv4;
    rules.push(masquerade_rule(IpAddr::V4(v4), v4_prefix));
    if let Some((v6, v6_prefix)) = spec.ipv6 {
        rules.push(masquerade_rule(IpAddr::V6(v6), v6_prefix));
    }
    // DNS and DHCP (v4 and v6) from the containers to dnsmasq on the bridge.
    let services = [
        ("udp", IPPROTO_UDP, 53u16),
        ("udp", IPPROTO_UDP, 67),
        ("udp", IPPROTO_UDP, 547),
        ("tcp", IPPROTO_TCP, 53),
    ];
    for (protocol_name, protocol, port) in services {
        let mut exprs = interface_is(NFT_META_IIFNAME, spec.bridge);
        exprs.extend([
            Expr::Meta(NFT_META_L4PROTO),
            cmp_eq(vec![protocol]),
            Expr::Payload {
                base: NFT_PAYLOAD_TRANSPORT_HEADER,
                offset: 2,
                len: 2,
            },
            cmp_eq(port.to_be_bytes().to_vec()),
            Expr::Accept,
        ]);
        rules.push(Rule {
            chain: "input",
            text: format!(
                "iifname {} {protocol_name} dport {port} accept",
                spec.bridge
            ),
            exprs,
        });
    }
    for (key, word) in [(NFT_META_IIFNAME, "iifname"), (NFT_META_OIFNAME, "oifname")] {
        let mut exprs = interface_is(key, spec.bridge);
        exprs.push(Expr::Accept);
        rules.push(Rule {
            chain: "forward",
            text: format!("{word} {} accept", spec.bridge),
            exprs,
        });
    }
    rules
}

/// `ip saddr NET ip daddr != NET counter masquerade` (or ip6), with the nfproto match an
/// inet table needs so an IPv6 packet is never read at IPv4 offsets.
fn masquerade_rule(network: IpAddr, prefix: u8) -> Rule {
    let (nfproto, word, saddr_offset, daddr_offset, network_bytes) = match network {
        IpAddr::V4(address) => (NFPROTO_IPV4, "ip", 12, 16, address.octets().to_vec()),
        IpAddr::V6(address) => (NFPROTO_IPV6, "ip6", 8, 24, address.octets().to_vec()),
    };
    let mask = prefix_mask(network_bytes.len(), prefix);
    let masked: Vec<u8> = network_bytes
        .iter()
        .zip(&mask)
        .map(|(b, m)| b & m)
        .collect();
    let mut exprs = vec![Expr::Meta(NFT_META_NFPROTO), cmp_eq(vec![nfproto])];
    for (offset, op) in [(saddr_offset, CmpOp::Eq), (daddr_offset, CmpOp::Neq)] {
        exprs.push(Expr::Payload {
            base: NFT_PAYLOAD_NETWORK_HEADER,
            offset,
            len: u32::try_from(network_bytes.len()).unwrap_or(u32::MAX),
        });
        // A full-length prefix compares the address as it is.
        if usize::from(prefix) < network_bytes.len() * 8 {
            exprs.push(Expr::Mask(mask.clone()));
        }
        exprs.push(Expr::Cmp {
            op,
            data: masked.clone(),
        });
    }
    exprs.extend([Expr::Counter { packets: 0 }, Expr::Masquerade]);
    let shown = address_of(&masked).unwrap_or(network);
    Rule {
        chain: "postrouting",
        text: format!(
            "{word} saddr {shown}/{prefix} {word} daddr != {shown}/{prefix} counter masquerade"
        ),
        exprs,
    }
}

fn cmp_eq(data: Vec<u8>) -> Expr {
    Expr::Cmp {
        op: CmpOp::Eq,
        data,
    }
}

/// `iifname NAME` / `oifname NAME`: the name NUL-padded to IFNAMSIZ, as the kernel loads it.
fn interface_is(key: u32, name: &str) -> Vec<Expr> {
    let mut padded = name.as_bytes().to_vec();
    padded.resize(IFNAMSIZ, 0);
    vec![Expr::Meta(key), cmp_eq(padded)]
}

/// `len` bytes with the first `prefix` bits set.
pub fn prefix_mask(len: usize, prefix: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let bits = usize::from(prefix).saturating_sub(i * 8).min(8);
            // 0xff << (8 - bits), with 0 bits giving 0 (a shift by 8 would overflow a u8).
            (0xffu16 << (8 - bits)) as u8
        })
        .collect()
}

fn address_of(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(|v6| IpAddr::V6(Ipv6Addr::from(v6)))
}

/// A masquerade rule as read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masquerade {
    /// NFPROTO_IPV4 or NFPROTO_IPV6, from the rule's nfproto match.
    pub nfproto: u8,
    /// The source network matched, if the rule matches one.
    pub source: Option<(IpAddr, u8)>,
    /// The rule's counter, if it has one.
    pub packets: Option<u64>,
}

/// Reads `exprs` as a masquerade rule: `None` unless it masquerades and is limited to IPv4
/// or IPv6 by an nfproto match.
pub fn masquerade(exprs: &[Expr]) -> Option<Masquerade> {
    if !exprs.contains(&Expr::Masquerade) {
        return None;
    }
    let mut nfproto = None;
    let mut source = None;
    let mut packets = None;
    for (i, expr) in exprs.iter().enumerate() {
        let next = exprs.get(i + 1);
        match expr {
            Expr::Meta(NFT_META_NFPROTO) => {
                if let Some(Expr::Cmp {
                    op: CmpOp::Eq,
                    data,
                }) = next
                {
                    nfproto = data.first().copied().filter(|_| data.len() == 1);
                }
            }
            Expr::Payload {
                base: NFT_PAYLOAD_NETWORK_HEADER,
                offset,
                len,
            } if source.is_none() && matches!((offset, len), (12, 4) | (8, 16)) => {
                source = source_match(&exprs[i + 1..]);
            }
            Expr::Counter { packets: counted } => packets = Some(*counted),
            _ => {}
        }
    }
    let nfproto = nfproto.filter(|p| *p == NFPROTO_IPV4 || *p == NFPROTO_IPV6)?;
    Some(Masquerade {
        nfproto,
        source,
        packets,
    })
}

/// After a load of a source address: `[mask] cmp eq NET` as a network and prefix length.
fn source_match(after_load: &[Expr]) -> Option<(IpAddr, u8)> {
    let (mask, compare) = match after_load {
        [Expr::Mask(mask), compare, ..] => (Some(mask), compare),
        [compare, ..] => (None, compare),
        [] => return None,
    };
    let Expr::Cmp {
        op: CmpOp::Eq,
        data,
    } = compare
    else {
        return None;
    };
    let address = address_of(data)?;
    let prefix = match mask {
        Some(mask) => {
            let ones: u32 = mask.iter().map(|b| b.count_ones()).sum();
            // Only a contiguous mask is a prefix.
            if *mask != prefix_mask(mask.len(), ones as u8) || mask.len() != data.len() {
                return None;
            }
            ones as u8
        }
        None => (data.len() * 8) as u8,
    };
    Some((address, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(ipv6: Option<(Ipv6Addr, u8)>) -> NatSpec<'a> {
        NatSpec {
            table: "rlxc-t",
            bridge: "rlxcbr0",
            ipv4: (Ipv4Addr::new(10, 0, 3, 0), 24),
            ipv6,
        }
    }

    #[test]
    fn prefix_masks_cover_whole_and_partial_bytes() {
        assert_eq!(prefix_mask(4, 24), vec![255, 255, 255, 0]);
        assert_eq!(prefix_mask(4, 20), vec![255, 255, 240, 0]);
        assert_eq!(prefix_mask(4, 32), vec![255; 4]);
        assert_eq!(prefix_mask(4, 1), vec![128, 0, 0, 0]);
        assert_eq!(prefix_mask(16, 64), [vec![255; 8], vec![0; 8]].concat());
    }

    #[test]
    fn the_v4_masquerade_rule_matches_the_network_and_not_traffic_inside_it() {
        let rules = rules(&spec(None));
        let rule = &rules[0];
        assert_eq!(rule.chain, "postrouting");
        assert_eq!(
            rule.text,
            "ip saddr 10.0.3.0/24 ip daddr != 10.0.3.0/24 counter masquerade"
        );
        let mask = Expr::Mask(vec![255, 255, 255, 0]);
        let net = vec![10, 0, 3, 0];
        let load = |offset| Expr::Payload {
            base: NFT_PAYLOAD_NETWORK_HEADER,
            offset,
            len: 4,
        };
        assert_eq!(
            rule.exprs,
            vec![
                Expr::Meta(NFT_META_NFPROTO),
                cmp_eq(vec![NFPROTO_IPV4]),
                load(12),
                mask.clone(),
                cmp_eq(net.clone()),
                load(16),
                mask,
                Expr::Cmp {
                    op: CmpOp::Neq,
                    data: net
                },
                Expr::Counter { packets: 0 },
                Expr::Masquerade,
            ]
        );
    }

    #[test]
    fn host_bits_in_the_network_are_cleared() {
        let mut with_host_bits = spec(None);
        with_host_bits.ipv4 = (Ipv4Addr::new(10, 0, 3, 1), 24);
        let rule = &rules(&with_host_bits)[0];
        assert!(
            rule.text.starts_with("ip saddr 10.0.3.0/24 "),
            "{}",
            rule.text
        );
    }

    #[test]
    fn the_masquerade_rules_read_back_as_what_was_written() {
        let v6: Ipv6Addr = "fd42:1:2:3::".parse().expect("address");
        let rules = rules(&spec(Some((v6, 64))));
        let v4 = masquerade(&rules[0].exprs).expect("v4 masquerade");
        assert_eq!(
            v4,
            Masquerade {
                nfproto: NFPROTO_IPV4,
                source: Some((IpAddr::V4(Ipv4Addr::new(10, 0, 3, 0)), 24)),
                packets: Some(0),
            }
        );
        let v6_rule = &rules[1];
        assert_eq!(
            v6_rule.text,
            "ip6 saddr fd42:1:2:3::/64 ip6 daddr != fd42:1:2:3::/64 counter masquerade"
        );
        let read = masquerade(&v6_rule.exprs).expect("v6 masquerade");
        assert_eq!(read.nfproto, NFPROTO_IPV6);
        assert_eq!(read.source, Some((IpAddr::V6(v6), 64)));
        // A /32 has no mask expression and still reads as a /32.
        let mut host = spec(None);
        host.ipv4.1 = 32;
        let read = masquerade(&super::rules(&host)[0].exprs).expect("host masquerade");
        assert_eq!(
            read.source,
            Some((IpAddr::V4(Ipv4Addr::new(10, 0, 3, 0)), 32))
        );
    }

    #[test]
    fn other_rules_are_not_masquerades() {
        let rules = rules(&spec(None));
        assert_eq!(rules.len(), 1 + 4 + 2);
        for rule in &rules[1..] {
            assert_eq!(masquerade(&rule.exprs), None, "{}", rule.text);
            assert_eq!(rule.exprs.last(), Some(&Expr::Accept));
        }
        // A masquerade with no nfproto match (e.g. written by hand) is not counted as either.
        assert_eq!(masquerade(&[Expr::Masquerade]), None);
    }

    #[test]
    fn interface_names_are_nul_padded_to_ifnamsiz() {
        let rules = rules(&spec(None));
        let forward = &rules[rules.len() - 2];
        assert_eq!(forward.text, "iifname rlxcbr0 accept");
        let mut padded = b"rlxcbr0".to_vec();
        padded.resize(16, 0);
        assert_eq!(forward.exprs[1], cmp_eq(padded));
        let dns = &rules[1];
        assert_eq!(dns.text, "iifname rlxcbr0 udp dport 53 accept");
        assert_eq!(dns.exprs[5], cmp_eq(vec![0, 53]), "port in network order");
    }
}
