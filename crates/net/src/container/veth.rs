//! veth: one end in the container (made straight in its namespace), the other on the host,
//! named `veth.pair` or `vethXXXXXX`, marked with rlxc's alias, on the `link` bridge, up.

use std::io::Read;
use std::net::IpAddr;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkAttribute};
use rlxc_config::spec::Network;
use rlxc_config::values::VethMode;

use super::{alias, is_ours, temporary_name, Attached, Made};
use crate::link::{self, named_message, new_link_message, Change};
use crate::route::{self, Route};
use crate::{Error, Operation};

/// Makes the pair; returns the container end's index (in the container) and the host name.
pub(super) fn attach(
    attached: &mut Attached,
    index: u32,
    net: &Network,
    mac: Option<[u8; 6]>,
) -> Result<(u32, Option<String>), Error> {
    refuse_unsupported(index, net)?;
    let bridge = match net.link.as_deref() {
        Some(name) => Some(link::details_by_name(&mut attached.host, name)?),
        None => None,
    };
    // LXC: the pair takes the bridge's MTU unless the config sets one.
    let mtu = net.mtu.map(|m| m.0).or(bridge.as_ref().and_then(|b| b.mtu));
    let host_name = net.veth.pair.clone().unwrap_or_else(random_name);
    let peer = temporary_name(index);
    let create = |attached: &mut Attached| {
        let mut peer_message = named_message(&peer);
        peer_message
            .attributes
            .push(LinkAttribute::NetNsFd(std::os::fd::AsRawFd::as_raw_fd(
                &attached.netns,
            )));
        let mut message = new_link_message(
            &host_name,
            None,
            InfoKind::Veth,
            Some(InfoData::Veth(InfoVeth::Peer(peer_message))),
        );
        if let Some(mtu) = mtu {
            message.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = mac {
            let host_mac = super::mac::host_end(mac);
            message
                .attributes
                .push(LinkAttribute::Address(host_mac.to_vec()));
        }
        if let Some(rx) = net.veth.rx_queues {
            message.attributes.push(LinkAttribute::NumRxQueues(rx));
        }
        if let Some(tx) = net.veth.tx_queues {
            message.attributes.push(LinkAttribute::NumTxQueues(tx));
        }
        link::create(
            &mut attached.host,
            message,
            Operation::CreateVeth,
            &host_name,
        )
    };
    match create(attached) {
        Err(e) if e.errno() == Some(libc::EEXIST) => {
            remove_leftover(attached, &host_name, e)?;
            create(attached)?;
        }
        other => other?,
    }
    let host_index = link::index_by_name(&mut attached.host, &host_name)?;
    attached.made.push(Made::HostLink {
        index: host_index,
        name: host_name.clone(),
    });
    let tag = alias(&attached.container, index);
    let change = Change {
        alias: Some(&tag),
        master: bridge.as_ref().map(|b| b.index),
        up: Some(true),
        ..Default::default()
    };
    link::change(&mut attached.host, host_index, &host_name, &change)?;
    host_routes(attached, host_index, &host_name, net)?;
    let inside_index = link::index_by_name(&mut attached.inside, &peer)?;
    Ok((inside_index, Some(host_name)))
}

/// A link with our fixed name is in the way. If rlxc made it for this container (a stop
/// that never ran: the monitor was killed and nothing cleaned up yet), it is stale: delete
/// it. Anything else is someone else's and stays; the start fails naming it.
fn remove_leftover(attached: &mut Attached, name: &str, exists: Error) -> Result<(), Error> {
    let details = link::details_by_name(&mut attached.host, name)?;
    if !is_ours(&details, &attached.container) {
        return Err(exists);
    }
    link::delete_index(&mut attached.host, details.index, name)
}

/// `veth.ipv4.route`/`veth.ipv6.route`, and in router mode a host route to each of the
/// container's addresses with proxy ARP on the host end, so the host routes for it.
fn host_routes(
    attached: &mut Attached,
    host_index: u32,
    host_name: &str,
    net: &Network,
) -> Result<(), Error> {
    let mut routes: Vec<(IpAddr, u8)> = Vec::new();
    routes.extend(
        net.veth
            .ipv4_routes
            .iter()
            .map(|r| (IpAddr::V4(r.network), r.prefix)),
    );
    routes.extend(
        net.veth
            .ipv6_routes
            .iter()
            .map(|r| (IpAddr::V6(r.network), r.prefix)),
    );
    if net.veth.mode == Some(VethMode::Router) {
        routes.extend(
            net.ipv4_addresses
                .iter()
                .map(|a| (IpAddr::V4(a.address), 32)),
        );
        routes.extend(
            net.ipv6_addresses
                .iter()
                .map(|a| (IpAddr::V6(a.address), 128)),
        );
        let proxy_arp = format!("/proc/sys/net/ipv4/conf/{host_name}/proxy_arp");
        std::fs::write(&proxy_arp, "1").map_err(|source| Error::Kernel {
            op: Operation::SetLink,
            link: format!("{host_name} (proxy_arp)"),
            cause: source,
        })?;
    }
    for (destination, prefix) in routes {
        let route = Route {
            destination: Some((destination, prefix)),
            gateway: None,
            family_v6: destination.is_ipv6(),
        };
        route::add(&mut attached.host, host_index, host_name, &route)?;
    }
    Ok(())
}

/// Bridge VLAN filtering and neighbour proxies are not implemented yet; refusing them is
/// better than a container on the wrong VLAN.
pub(super) fn refuse_unsupported(index: u32, net: &Network) -> Result<(), Error> {
    let unsupported = if net.veth.vlan_id.is_some() || !net.veth.vlan_tagged_ids.is_empty() {
        Some("veth.vlan.id and veth.vlan.tagged.id")
    } else if net.l2proxy == Some(true) {
        Some("l2proxy")
    } else {
        None
    };
    match unsupported {
        Some(what) => Err(Error::Config {
            index,
            reason: format!("{what} are not supported by rlxc yet"),
        }),
        None => Ok(()),
    }
}

/// `vethXXXXXX` with six random letters and digits, as LXC names unnamed host ends.
fn random_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut random = [0u8; 6];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut random));
    let tail: String = random
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    format!("veth{tail}")
}
