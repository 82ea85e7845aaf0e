//! nftables through nfnetlink (no `nft` binary): rlxc's own NAT table, and a read-only look
//! at the other tables for what blocks forwarding.
//!
//! Messages are encoded by hand ([`wire`], [`expr`]) and sent over a NETLINK_NETFILTER
//! socket ([`socket`]); changes go in one batch, which the kernel applies as a transaction.
//! Every function acts in the network namespace of the calling thread (the socket is opened
//! per call, in that thread).

mod error;
mod expr;
mod rules;
mod socket;
mod wire;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub use error::{NftError, Step};

use expr::{CmpOp, Expr};
use socket::{Batch, Nfnetlink, Reply};
use wire::AttrIter;

/// rlxc's NAT table for one bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatSpec<'a> {
    /// The table's name, e.g. "rlxc-rlxcbr0": one table per bridge, family inet.
    pub table: &'a str,
    /// The bridge interface.
    pub bridge: &'a str,
    /// The containers' IPv4 network and prefix length, e.g. 10.0.3.0/24 (host bits, if
    /// any, are ignored).
    pub ipv4: (Ipv4Addr, u8),
    /// The containers' IPv6 network, masqueraded too when present (LXC_IPV6_NAT=true).
    pub ipv6: Option<(Ipv6Addr, u8)>,
}

/// The NAT table as found in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatState {
    pub masquerades_ipv4: bool,
    pub masquerades_ipv6: bool,
    /// Packets counted by the IPv4 masquerade rule (each NATed connection's first packet).
    pub packets: u64,
    /// The source network of the IPv4 masquerade rule, as found.
    pub ipv4_network: Option<(Ipv4Addr, u8)>,
    /// The source network of the IPv6 masquerade rule, as found.
    pub ipv6_network: Option<(Ipv6Addr, u8)>,
}

/// A base chain of another table that drops forwarded packets by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignChain {
    pub family: Family,
    pub table: String,
    pub chain: String,
}

impl fmt::Display for ForeignChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "table {} {} chain {}",
            self.family, self.table, self.chain
        )
    }
}

/// nftables address families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Ip,
    Ip6,
    Inet,
    Bridge,
    Arp,
    Netdev,
}

impl Family {
    fn from_nfproto(nfproto: u8) -> Option<Self> {
        Some(match nfproto {
            wire::NFPROTO_IPV4 => Family::Ip,
            wire::NFPROTO_IPV6 => Family::Ip6,
            wire::NFPROTO_INET => Family::Inet,
            wire::NFPROTO_BRIDGE => Family::Bridge,
            wire::NFPROTO_ARP => Family::Arp,
            wire::NFPROTO_NETDEV => Family::Netdev,
            _ => return None,
        })
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
            Family::Bridge => "bridge",
            Family::Arp => "arp",
            Family::Netdev => "netdev",
        })
    }
}

/// Replaces the table atomically: one batch adds the table (so the delete after it cannot
/// fail), deletes it, and adds it again with its chains and rules. A second start is
/// therefore idempotent, and there is never a moment without NAT. Contents, family inet:
///
/// ```text
/// chain postrouting { type nat hook postrouting priority srcnat; policy accept;
///   ip saddr NET ip daddr != NET counter masquerade        (ip6 too with `ipv6`) }
/// chain input { type filter hook input priority filter; policy accept;
///   iifname BRIDGE udp dport 53|67|547 accept; iifname BRIDGE tcp dport 53 accept }
/// chain forward { type filter hook forward priority filter; policy accept;
///   iifname BRIDGE accept; oifname BRIDGE accept }
/// ```
pub fn install(spec: &NatSpec<'_>) -> Result<(), NftError> {
    check_table_name(spec.table)?;
    check_bridge_name(spec.bridge)?;
    check_prefix(IpAddr::V4(spec.ipv4.0), spec.ipv4.1, 32)?;
    if let Some((address, prefix)) = spec.ipv6 {
        check_prefix(IpAddr::V6(address), prefix, 128)?;
    }
    let table = spec.table;
    let mut batch = Batch::new(table);
    add_table(&mut batch, table);
    delete_table(&mut batch, table);
    add_table(&mut batch, table);
    for chain in &rules::CHAINS {
        batch.push(
            wire::NFT_MSG_NEWCHAIN,
            wire::NLM_F_CREATE,
            wire::NFPROTO_INET,
            Step::AddChain {
                table: table.to_owned(),
                chain: chain.name,
            },
            |a| {
                a.string(wire::NFTA_CHAIN_TABLE, table);
                a.string(wire::NFTA_CHAIN_NAME, chain.name);
                a.nested(wire::NFTA_CHAIN_HOOK, |hook| {
                    hook.be32(wire::NFTA_HOOK_HOOKNUM, chain.hook);
                    // The priority is a signed 32-bit number, sent as its bits.
                    hook.be32(wire::NFTA_HOOK_PRIORITY, chain.priority as u32);
                });
                a.be32(wire::NFTA_CHAIN_POLICY, rules::NF_ACCEPT);
                a.string(wire::NFTA_CHAIN_TYPE, chain.kind);
            },
        );
    }
    for rule in rules::rules(spec) {
        batch.push(
            wire::NFT_MSG_NEWRULE,
            // APPEND: each rule after the previous one, in the order written.
            wire::NLM_F_CREATE | wire::NLM_F_APPEND,
            wire::NFPROTO_INET,
            Step::AddRule {
                table: table.to_owned(),
                chain: rule.chain,
                rule: rule.text.clone(),
            },
            |a| {
                a.string(wire::NFTA_RULE_TABLE, table);
                a.string(wire::NFTA_RULE_CHAIN, rule.chain);
                a.nested(wire::NFTA_RULE_EXPRESSIONS, |list| {
                    expr::encode_list(list, &rule.exprs)
                });
            },
        );
    }
    Nfnetlink::open()?.commit(batch)
}

fn add_table(batch: &mut Batch, table: &str) {
    batch.push(
        wire::NFT_MSG_NEWTABLE,
        wire::NLM_F_CREATE,
        wire::NFPROTO_INET,
        Step::AddTable {
            table: table.to_owned(),
        },
        |a| a.string(wire::NFTA_TABLE_NAME, table),
    );
}

fn delete_table(batch: &mut Batch, table: &str) {
    batch.push(
        wire::NFT_MSG_DELTABLE,
        0,
        wire::NFPROTO_INET,
        Step::DeleteTable {
            table: table.to_owned(),
        },
        |a| a.string(wire::NFTA_TABLE_NAME, table),
    );
}

/// Deletes the table (family inet) with everything in it; `Ok(false)` when there was none.
pub fn remove(table: &str) -> Result<bool, NftError> {
    check_table_name(table)?;
    let mut batch = Batch::new(table);
    delete_table(&mut batch, table);
    match Nfnetlink::open()?.commit(batch) {
        Ok(()) => Ok(true),
        Err(NftError::Kernel { cause, .. }) if cause.raw_os_error() == Some(libc::ENOENT) => {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// What is in place: `None` if the table is absent; else its masquerade rules as read back
/// from the kernel (the table's rules dumped and their expressions decoded).
pub fn inspect(table: &str) -> Result<Option<NatState>, NftError> {
    check_table_name(table)?;
    let mut netlink = Nfnetlink::open()?;
    let lookup = netlink.get(
        wire::NFT_MSG_GETTABLE,
        wire::NFPROTO_INET,
        Step::GetTable {
            table: table.to_owned(),
        },
        |a| a.string(wire::NFTA_TABLE_NAME, table),
    );
    match lookup {
        Ok(_) => {}
        Err(NftError::Kernel { cause, .. }) if cause.raw_os_error() == Some(libc::ENOENT) => {
            return Ok(None)
        }
        Err(error) => return Err(error),
    }
    let step = Step::DumpRules {
        table: table.to_owned(),
    };
    // NFTA_RULE_TABLE in a dump request narrows the dump to that table.
    let replies = netlink.dump(
        wire::NFT_MSG_GETRULE,
        wire::NFPROTO_INET,
        step.clone(),
        |a| a.string(wire::NFTA_RULE_TABLE, table),
    )?;
    let mut state = NatState {
        masquerades_ipv4: false,
        masquerades_ipv6: false,
        packets: 0,
        ipv4_network: None,
        ipv6_network: None,
    };
    for reply in replies {
        let exprs = rule_expressions(&reply, table).map_err(|wire::Malformed(reason)| {
            NftError::Malformed {
                step: step.clone(),
                reason,
            }
        })?;
        let Some(found) = exprs.as_deref().and_then(rules::masquerade) else {
            continue;
        };
        match (found.nfproto, found.source) {
            (wire::NFPROTO_IPV4, source) => {
                state.masquerades_ipv4 = true;
                state.packets += found.packets.unwrap_or(0);
                if let Some((IpAddr::V4(network), prefix)) = source {
                    state.ipv4_network = Some((network, prefix));
                }
            }
            (_, source) => {
                state.masquerades_ipv6 = true;
                if let Some((IpAddr::V6(network), prefix)) = source {
                    state.ipv6_network = Some((network, prefix));
                }
            }
        }
    }
    Ok(Some(state))
}

/// The expressions of a dumped rule, if it belongs to `table`'s postrouting chain (the filter
/// is checked here too: older kernels ignore it in a dump request).
fn rule_expressions(reply: &Reply, table: &str) -> Result<Option<Vec<Expr>>, wire::Malformed> {
    let mut in_table = false;
    let mut in_chain = false;
    let mut exprs = None;
    for attribute in reply.attributes() {
        match attribute? {
            (wire::NFTA_RULE_TABLE, value) => in_table = wire::string(value)? == table,
            (wire::NFTA_RULE_CHAIN, value) => in_chain = wire::string(value)? == "postrouting",
            (wire::NFTA_RULE_EXPRESSIONS, value) => exprs = Some(expr::decode_list(value)?),
            _ => {}
        }
    }
    Ok(exprs.filter(|_| in_table && in_chain && reply.family == wire::NFPROTO_INET))
}

/// The doctor: base chains of other tables (any family) hooked at forward whose policy is
/// drop, as Docker, ufw, firewalld and `iptables -P FORWARD DROP` (iptables-nft) make them,
/// and that have no rule accepting `bridge`'s traffic (`iifname BRIDGE accept`, with
/// `oifname BRIDGE accept` or a connection-tracking accept for the answers). Forwarded
/// container traffic must pass every such chain. `own_table` (family inet) is skipped.
pub fn forward_blockers(own_table: &str, bridge: &str) -> Result<Vec<ForeignChain>, NftError> {
    let step = Step::DumpChains;
    let mut netlink = Nfnetlink::open()?;
    let replies = netlink.dump(
        wire::NFT_MSG_GETCHAIN,
        wire::NFPROTO_UNSPEC,
        step.clone(),
        |_| {},
    )?;
    let mut blockers = Vec::new();
    for reply in replies {
        let chain = read_chain(&reply).map_err(|wire::Malformed(reason)| NftError::Malformed {
            step: step.clone(),
            reason,
        })?;
        let Some(family) = Family::from_nfproto(reply.family) else {
            continue;
        };
        let forward_hook = match family {
            Family::Ip | Family::Ip6 | Family::Inet => rules::NF_INET_FORWARD,
            Family::Bridge => rules::NF_BR_FORWARD,
            // arp and netdev have no forward hook.
            Family::Arp | Family::Netdev => continue,
        };
        let own = family == Family::Inet && chain.table == own_table;
        if !own
            && chain.hook == Some(forward_hook)
            && chain.policy == Some(rules::NF_DROP)
            && !lets_through(&mut netlink, reply.family, &chain, bridge)?
        {
            blockers.push(ForeignChain {
                family,
                table: chain.table,
                chain: chain.name,
            });
        }
    }
    Ok(blockers)
}

/// Whether `chain` accepts what enters from `bridge` and the answers going back to it,
/// following jumps into the table's other chains (Docker's DOCKER-USER) a few levels deep.
fn lets_through(
    netlink: &mut Nfnetlink,
    family: u8,
    chain: &ChainInfo,
    bridge: &str,
) -> Result<bool, NftError> {
    let mut seen = Passes::default();
    let mut queue = vec![(chain.name.clone(), 0)];
    let mut visited = Vec::new();
    while let Some((name, depth)) = queue.pop() {
        if depth > 8 || visited.contains(&name) {
            continue;
        }
        for exprs in chain_rules(netlink, family, &chain.table, &name)? {
            match exprs.last() {
                Some(Expr::Accept) => seen.note(&exprs, bridge),
                Some(Expr::Jump(target)) => queue.push((target.clone(), depth + 1)),
                _ => {}
            }
        }
        visited.push(name);
    }
    Ok(seen.inbound && (seen.outbound || seen.answers))
}

/// What accept rules of a forward chain let through for one bridge.
#[derive(Default)]
struct Passes {
    inbound: bool,
    outbound: bool,
    answers: bool,
}

impl Passes {
    fn note(&mut self, exprs: &[Expr], bridge: &str) {
        let inbound = matches_interface(exprs, expr::NFT_META_IIFNAME, bridge);
        let outbound = matches_interface(exprs, expr::NFT_META_OIFNAME, bridge);
        self.inbound |= inbound;
        self.outbound |= outbound;
        // A connection-tracking accept counts for the answers only when it names no other
        // interface (Docker's `oifname docker0 ct state ... accept` is not for us).
        let names_an_interface = exprs.iter().any(|e| {
            matches!(e, Expr::Meta(key) if *key == expr::NFT_META_IIFNAME || *key == expr::NFT_META_OIFNAME)
        });
        let conntrack = exprs.iter().any(|e| *e == Expr::Other("ct".into()));
        self.answers |= conntrack && (!names_an_interface || inbound || outbound);
    }
}

/// The expressions of every rule of `table`'s chain `chain` (family `family`).
fn chain_rules(
    netlink: &mut Nfnetlink,
    family: u8,
    table: &str,
    chain: &str,
) -> Result<Vec<Vec<Expr>>, NftError> {
    let step = Step::DumpRules {
        table: table.to_owned(),
    };
    let malformed = |wire::Malformed(reason)| NftError::Malformed {
        step: step.clone(),
        reason,
    };
    let replies = netlink.dump(wire::NFT_MSG_GETRULE, family, step.clone(), |a| {
        a.string(wire::NFTA_RULE_TABLE, table);
        a.string(wire::NFTA_RULE_CHAIN, chain);
    })?;
    let mut rules = Vec::new();
    for reply in replies {
        let mut exprs = None;
        let mut in_chain = false;
        for attribute in reply.attributes() {
            let (kind, value) = attribute.map_err(malformed)?;
            match kind {
                wire::NFTA_RULE_CHAIN => {
                    in_chain = wire::string(value).map_err(malformed)? == chain
                }
                wire::NFTA_RULE_EXPRESSIONS => {
                    exprs = Some(expr::decode_list(value).map_err(malformed)?)
                }
                _ => {}
            }
        }
        if let Some(exprs) = exprs.filter(|_| in_chain && reply.family == family) {
            rules.push(exprs);
        }
    }
    Ok(rules)
}

/// True when `exprs` compare the interface name (`key`) with `bridge` for equality. nft pads
/// the name to 16 bytes, iptables-nft ends it with one NUL.
fn matches_interface(exprs: &[Expr], key: u32, bridge: &str) -> bool {
    exprs.windows(2).any(|pair| match pair {
        [Expr::Meta(loaded), Expr::Cmp {
            op: CmpOp::Eq,
            data,
        }] if *loaded == key => {
            let end = data.iter().position(|b| *b == 0).unwrap_or(data.len());
            &data[..end] == bridge.as_bytes()
        }
        _ => false,
    })
}

/// The parts of a dumped chain the doctor looks at.
struct ChainInfo {
    table: String,
    name: String,
    /// The hook number, for base chains only.
    hook: Option<u32>,
    policy: Option<u32>,
}

fn read_chain(reply: &Reply) -> Result<ChainInfo, wire::Malformed> {
    let mut chain = ChainInfo {
        table: String::new(),
        name: String::new(),
        hook: None,
        policy: None,
    };
    for attribute in reply.attributes() {
        match attribute? {
            (wire::NFTA_CHAIN_TABLE, value) => chain.table = wire::string(value)?,
            (wire::NFTA_CHAIN_NAME, value) => chain.name = wire::string(value)?,
            (wire::NFTA_CHAIN_POLICY, value) => chain.policy = Some(wire::be32(value)?),
            (wire::NFTA_CHAIN_HOOK, hook) => {
                for inner in AttrIter::new(hook) {
                    if let (wire::NFTA_HOOK_HOOKNUM, value) = inner? {
                        chain.hook = Some(wire::be32(value)?);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(chain)
}

/// The kernel's limit on table names, without the NUL (NFT_NAME_MAXLEN - 1).
pub const MAX_TABLE_NAME_LEN: usize = 255;

fn check_table_name(table: &str) -> Result<(), NftError> {
    let reason = if table.is_empty() {
        "it is empty"
    } else if table.len() > MAX_TABLE_NAME_LEN {
        "it is longer than 255 bytes"
    } else if table.chars().any(|c| c.is_control() || c.is_whitespace()) {
        // The kernel would take most of these, but `nft` could not name the table after.
        "it contains a NUL, a control character or whitespace"
    } else {
        return Ok(());
    };
    Err(NftError::InvalidName {
        what: "table name",
        value: table.to_owned(),
        reason,
    })
}

fn check_bridge_name(bridge: &str) -> Result<(), NftError> {
    let reason = if bridge.is_empty() {
        "it is empty"
    } else if bridge.len() > rlxc_net::MAX_LINK_NAME_LEN {
        "it is longer than 15 bytes"
    } else if bridge.contains(['/', ':'])
        || bridge.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        "it contains `/`, `:`, a NUL, a control character or whitespace"
    } else {
        return Ok(());
    };
    Err(NftError::InvalidName {
        what: "bridge name",
        value: bridge.to_owned(),
        reason,
    })
}

fn check_prefix(address: IpAddr, prefix: u8, max: u8) -> Result<(), NftError> {
    let reason = if prefix == 0 {
        "a /0 would masquerade traffic from every address"
    } else if prefix > max {
        "the prefix is longer than the address"
    } else {
        return Ok(());
    };
    Err(NftError::InvalidNetwork {
        address,
        prefix,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_kernel_or_nft_would_trip_over_are_refused_before_anything_is_sent() {
        assert!(check_table_name("rlxc-rlxcbr0").is_ok());
        assert!(check_table_name(&"t".repeat(255)).is_ok());
        for bad in ["", "a\0b", "a b", "new\nline"] {
            assert!(check_table_name(bad).is_err(), "{bad:?}");
        }
        let error = check_table_name(&"t".repeat(256)).expect_err("too long");
        assert!(error.to_string().contains("longer than 255"), "{error}");
        assert!(error.step().is_none());
        assert!(check_bridge_name("rlxcbr0").is_ok());
        for bad in ["", "sixteen-letters!", "a/b", "a\0"] {
            assert!(check_bridge_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes_must_be_between_one_and_the_address_length() {
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 3, 0));
        assert!(check_prefix(v4, 24, 32).is_ok());
        assert!(check_prefix(v4, 32, 32).is_ok());
        assert!(check_prefix(v4, 0, 32).is_err());
        assert!(check_prefix(v4, 33, 32).is_err());
    }

    #[test]
    fn families_print_as_nft_names_them() {
        let names: Vec<String> = [1u8, 2, 3, 5, 7, 10]
            .iter()
            .filter_map(|&p| Family::from_nfproto(p))
            .map(|f| f.to_string())
            .collect();
        assert_eq!(names, ["inet", "ip", "arp", "netdev", "bridge", "ip6"]);
        assert_eq!(Family::from_nfproto(0), None);
        let chain = ForeignChain {
            family: Family::Ip,
            table: "filter".into(),
            chain: "FORWARD".into(),
        };
        assert_eq!(chain.to_string(), "table ip filter chain FORWARD");
    }
}
