//! `lxc.net` and the per-interface table of `lxc.net.N.*` keys.

use super::macros::KeyValue;
use super::{closest, KeyDef, Section, Support};
use crate::limits::quote;
use crate::spec::{ContainerSpec, Network};
use crate::values::{NetType, ValueError};

pub(super) static KEYS: &[KeyDef] = &[KeyDef {
    name: "lxc.net",
    prefix: true,
    list: true,
    section: Section::Network,
    legacy: &["lxc.network"],
    doc: "`lxc.net.N.KEY = VALUE` configures interface N (see below); bare and empty removes every interface.",
    example: "lxc.net.0.type = veth",
    support: Support::Supported,
    set,
    clear,
    render,
}];

/// Applies to one interface's settings.
pub type NetSetFn = fn(&mut Network, &str) -> Result<(), ValueError>;
pub type NetClearFn = fn(&mut Network);
pub type NetRenderFn = fn(&Network, &mut Vec<(&'static str, String)>);

/// One `lxc.net.N.SUB` key.
pub struct NetKeyDef {
    /// The part after `lxc.net.N.`.
    pub sub: &'static str,
    /// Only valid for interfaces of this type (`veth.pair` needs `type = veth`).
    pub only_for: Option<NetType>,
    pub list: bool,
    pub doc: &'static str,
    /// An example value.
    pub example: &'static str,
    /// Whether rlxc does what the key asks (see [`Support`]).
    pub support: Support,
    pub set: NetSetFn,
    pub clear: NetClearFn,
    pub render: NetRenderFn,
}

impl NetKeyDef {
    /// Marks a row as partly supported (see [`Support::Partly`]).
    const fn partly(mut self, why: &'static str) -> Self {
        self.support = Support::Partly(why);
        self
    }

    /// Marks a row as refused (see [`Support::Refused`]).
    const fn refused(mut self, why: &'static str) -> Self {
        self.support = Support::Refused(why);
        self
    }
}

macro_rules! net_scalar {
    ($sub:literal, $only:expr, $example:literal, $doc:literal, $($field:ident).+) => {
        NetKeyDef {
            sub: $sub,
            only_for: $only,
            list: false,
            doc: $doc,
            example: $example,
            support: Support::Supported,
            set: |net, value| {
                net.$($field).+ = Some(KeyValue::parse_value(value)?);
                Ok(())
            },
            clear: |net| net.$($field).+ = None,
            render: |net, out| {
                if let Some(value) = &net.$($field).+ {
                    out.push(($sub, KeyValue::render_value(value)));
                }
            },
        }
    };
}

macro_rules! net_list {
    ($sub:literal, $only:expr, $example:literal, $doc:literal, $($field:ident).+) => {
        NetKeyDef {
            sub: $sub,
            only_for: $only,
            list: true,
            doc: $doc,
            example: $example,
            support: Support::Supported,
            set: |net, value| {
                net.$($field).+.push(KeyValue::parse_value(value)?);
                Ok(())
            },
            clear: |net| net.$($field).+.clear(),
            render: |net, out| {
                for value in &net.$($field).+ {
                    out.push(($sub, KeyValue::render_value(value)));
                }
            },
        }
    };
}

const VETH: Option<NetType> = Some(NetType::Veth);

/// Every `lxc.net.N.*` key, in canonical order (`type` first: other keys depend on it).
pub static NET_KEYS: &[NetKeyDef] = &[
    NetKeyDef {
        sub: "type",
        only_for: None,
        list: false,
        doc: "Interface kind: veth, macvlan, ipvlan, vlan, phys, empty (loopback only) or none (the host's network).",
        example: "veth",
        support: Support::Supported,
        set: |net, value| {
            let net_type = NetType::parse_value(value)?;
            if net.net_type.is_some_and(|old| old != net_type) {
                net.forget_type_specific();
            }
            net.net_type = Some(net_type);
            Ok(())
        },
        clear: |net| {
            net.forget_type_specific();
            net.net_type = None;
        },
        render: |net, out| {
            if let Some(net_type) = net.net_type {
                out.push(("type", net_type.to_string()));
            }
        },
    },
    NetKeyDef {
        sub: "flags",
        only_for: None,
        list: false,
        doc: "`up`: bring the interface up.",
        example: "up",
        support: Support::Supported,
        set: |net, value| {
            if value != "up" {
                return Err(ValueError(format!("{}: the only flag is `up`", quote(value))));
            }
            net.up = Some(true);
            Ok(())
        },
        clear: |net| net.up = None,
        render: |net, out| {
            if net.up == Some(true) {
                out.push(("flags", "up".into()));
            }
        },
    },
    net_scalar!("link", None, "br0",
        "veth: the bridge to join; macvlan/ipvlan/vlan: the parent interface; phys: the host NIC to move in.", link),
    net_scalar!("name", None, "eth0", "Interface name inside the container (default eth0, eth1, ...).", name),
    net_scalar!("hwaddr", None, "00:16:3e:xx:xx:xx",
        "MAC address. Unset: a stable MAC made from the container name and N (veth, macvlan). Each `x` is a new random digit at every start, as in LXC: `00:16:3e:xx:xx:xx` keeps LXC's random MAC.", hwaddr),
    net_scalar!("mtu", None, "1500", "MTU (veth: the bridge's by default).", mtu),
    net_scalar!("l2proxy", None, "1", "1: add neighbour proxy entries on `link` for the container's addresses.", l2proxy)
        .partly("1 is refused at start (rlxc adds no neighbour proxy entries)"),
    net_list!("ipv4.address", None, "192.168.1.2/24",
        "`ADDRESS/PREFIX [BROADCAST]`; repeatable.", ipv4_addresses),
    net_scalar!("ipv4.gateway", None, "192.168.1.1",
        "Default IPv4 route: an address, `auto` (the bridge's address) or `dev` (a device route).", ipv4_gateway),
    net_list!("ipv6.address", None, "fd00::2/64", "`ADDRESS/PREFIX`; repeatable.", ipv6_addresses),
    net_scalar!("ipv6.gateway", None, "fd00::1", "Default IPv6 route: an address, `auto` or `dev`.", ipv6_gateway)
        .partly("`auto` is refused at start: give the address"),
    net_scalar!("script.up", None, "/usr/local/lib/rlxc/net-up.sh",
        "Run on the host after the interface is made.", script_up),
    net_scalar!("script.down", None, "/usr/local/lib/rlxc/net-down.sh",
        "Run on the host before the interface is removed.", script_down),
    net_scalar!("veth.mode", VETH, "bridge", "`bridge` (default) or `router` (host routes and proxy ARP).", veth.mode),
    net_scalar!("veth.pair", VETH, "vethweb0", "Fixed name of the host end of the pair.", veth.pair),
    net_list!("veth.ipv4.route", VETH, "192.168.1.2/32", "Host route to the container through the host end; repeatable.", veth.ipv4_routes),
    net_list!("veth.ipv6.route", VETH, "fd00::2/128", "IPv6 host route through the host end; repeatable.", veth.ipv6_routes),
    net_scalar!("veth.vlan.id", VETH, "10", "Untagged VLAN of the bridge port, or `none`.", veth.vlan_id)
        .refused("rlxc does no bridge VLAN filtering; the container would be on the wrong VLAN"),
    net_list!("veth.vlan.tagged.id", VETH, "20", "Tagged VLAN of the bridge port; repeatable.", veth.vlan_tagged_ids)
        .refused("rlxc does no bridge VLAN filtering; the container would be on the wrong VLAN"),
    net_scalar!("veth.n_rxqueues", VETH, "2", "Receive queues of the pair.", veth.rx_queues),
    net_scalar!("veth.n_txqueues", VETH, "2", "Transmit queues of the pair.", veth.tx_queues),
    net_scalar!("macvlan.mode", Some(NetType::Macvlan), "bridge",
        "`private` (default), `vepa`, `bridge` or `passthru`.", macvlan_mode),
    net_scalar!("ipvlan.mode", Some(NetType::Ipvlan), "l3", "`l3` (default), `l3s` or `l2`.", ipvlan_mode),
    net_scalar!("ipvlan.isolation", Some(NetType::Ipvlan), "bridge",
        "`bridge` (default), `private` or `vepa`.", ipvlan_isolation),
    net_scalar!("vlan.id", Some(NetType::Vlan), "100", "VLAN id of a `vlan` interface.", vlan_id),
];

/// `lxc.net.N.SUB` split into N and SUB; `None` for the bare `lxc.net`.
fn split_key(key: &str) -> Result<Option<(u32, Option<&str>)>, ValueError> {
    let Some(rest) = key.strip_prefix("lxc.net.") else {
        return Ok(None);
    };
    let (index, sub) = match rest.split_once('.') {
        Some((index, sub)) => (index, Some(sub)),
        None => (rest, None),
    };
    let index = index.parse::<u32>().map_err(|_| {
        if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
            ValueError(format!(
                "network index {index} is out of range (0 to {})",
                u32::MAX
            ))
        } else {
            ValueError(format!(
                "network keys need an index: lxc.net.N.KEY (e.g. lxc.net.0.{rest})"
            ))
        }
    })?;
    Ok(Some((index, sub)))
}

fn net_key(sub: &str) -> Result<&'static NetKeyDef, ValueError> {
    NET_KEYS.iter().find(|def| def.sub == sub).ok_or_else(|| {
        let hint = closest(sub, NET_KEYS.iter().map(|def| def.sub))
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default();
        ValueError(format!("unknown network key {}{hint}", quote(sub)))
    })
}

fn set(spec: &mut ContainerSpec, key: &str, value: &str) -> Result<(), ValueError> {
    let Some((index, sub)) = split_key(key)? else {
        return Err(ValueError(
            "lxc.net can only be used empty (to remove every interface)".into(),
        ));
    };
    let Some(sub) = sub else {
        return Err(ValueError(format!(
            "lxc.net.{index} can only be used empty (to remove that interface)"
        )));
    };
    let def = net_key(sub)?;
    let net = spec.networks.entry(index).or_default();
    if let Some(required) = def.only_for {
        match net.net_type {
            Some(actual) if actual == required => {}
            Some(actual) => {
                return Err(ValueError(format!(
                    "only for {required} interfaces, and lxc.net.{index}.type is {actual}"
                )))
            }
            None => {
                return Err(ValueError(format!(
                    "set lxc.net.{index}.type = {required} before {sub}"
                )))
            }
        }
    }
    (def.set)(net, value)
}

fn clear(spec: &mut ContainerSpec, key: &str) -> Result<(), ValueError> {
    match split_key(key)? {
        None => spec.networks.clear(),
        Some((index, None)) => {
            spec.networks.remove(&index);
        }
        Some((index, Some(sub))) => {
            let def = net_key(sub)?;
            if let Some(net) = spec.networks.get_mut(&index) {
                (def.clear)(net);
            }
        }
    }
    Ok(())
}

fn render(spec: &ContainerSpec, out: &mut Vec<(String, String)>) {
    let mut lines = Vec::new();
    for (index, net) in &spec.networks {
        for def in NET_KEYS {
            lines.clear();
            (def.render)(net, &mut lines);
            for (sub, value) in lines.drain(..) {
                out.push((format!("lxc.net.{index}.{sub}"), value));
            }
        }
    }
}

/// A suggestion for a mistyped `lxc.net.N.SUB`, keeping the index the user wrote.
pub(super) fn suggest(key: &str) -> Option<String> {
    let (index, Some(sub)) = split_key(key).ok()?? else {
        return None;
    };
    let best = closest(sub, NET_KEYS.iter().map(|def| def.sub))?;
    Some(format!("lxc.net.{index}.{best}"))
}

/// The support of an indexed `lxc.net.N.SUB`; `None` for the bare `lxc.net(.N)` or an
/// unknown SUB.
pub(super) fn support_of(key: &str) -> Option<Support> {
    let Ok(Some((_, Some(sub)))) = split_key(key) else {
        return None;
    };
    NET_KEYS
        .iter()
        .find(|def| def.sub == sub)
        .map(|def| def.support)
}

/// False only for an indexed key whose SUB is not in the table (`lxc.net.0.linkk`).
pub(super) fn knows(key: &str) -> bool {
    match split_key(key) {
        Ok(Some((_, Some(sub)))) => NET_KEYS.iter().any(|def| def.sub == sub),
        _ => true,
    }
}
