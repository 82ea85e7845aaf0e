//! The host bridge: checked against what the namespace already has, made with its MAC, its
//! addresses and the sysctls lxc-net sets, and removed at stop.

use std::net::IpAddr;

use rlxc_net::link::{self, Change};
use rlxc_net::{address, Netlink};

use crate::settings::{Net, Settings};
use crate::NetError;

/// The alias (`IFLA_IFALIAS`) that marks a bridge as made by `rlxc net`: a stop that keeps
/// the bridge for the containers still on it leaves it for the next start to take up again.
const ALIAS: &str = "rlxc net";

/// Whether the bridge has to be made, or one `rlxc net` made earlier is there to take up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Create,
    TakeUp(u32),
}

/// Refuses a bridge name that is already a link not made by `rlxc net`, and networks that
/// overlap an address the namespace has on another link: both would otherwise fail half-way
/// or route wrongly.
pub fn check_free(netlink: &mut Netlink, settings: &Settings) -> Result<Plan, NetError> {
    let settings_file = settings.source.as_ref().map_or_else(
        || crate::settings::DEFAULT_PATH.to_owned(),
        |p| p.display().to_string(),
    );
    let links = link::list(netlink).map_err(NetError::link("listing the links"))?;
    let plan = match links.iter().find(|link| link.name == settings.bridge) {
        None => Plan::Create,
        Some(link)
            if link.alias.as_deref() == Some(ALIAS)
                && link.kind == Some(rlxc_net::link::InfoKind::Bridge) =>
        {
            Plan::TakeUp(link.index)
        }
        Some(_) => {
            return Err(NetError::BridgeInUse {
                bridge: settings.bridge.clone(),
                settings: settings_file,
            })
        }
    };
    let addresses = address::list(netlink).map_err(NetError::link("listing the addresses"))?;
    for existing in addresses {
        if plan == Plan::TakeUp(existing.index) {
            continue;
        }
        let overlap = match (existing.address, &settings.ipv6) {
            (IpAddr::V4(v4), _) => settings
                .network
                .overlaps(&Net {
                    address: v4,
                    prefix: existing.prefix,
                })
                .then(|| settings.network.to_string()),
            (IpAddr::V6(v6), Some(ipv6)) if !is_link_local(v6) => ipv6
                .network
                .overlaps(&Net {
                    address: v6,
                    prefix: existing.prefix,
                })
                .then(|| ipv6.network.to_string()),
            _ => None,
        };
        if let Some(network) = overlap {
            // Loopback's 127.0.0.0/8 cannot overlap a private network; anything else can.
            let interface = links
                .iter()
                .find(|link| link.index == existing.index)
                .map_or_else(|| format!("#{}", existing.index), |link| link.name.clone());
            return Err(NetError::SubnetOverlap {
                network,
                address: format!("{}/{}", existing.address, existing.prefix),
                interface,
                settings: settings_file,
            });
        }
    }
    Ok(plan)
}

fn is_link_local(address: std::net::Ipv6Addr) -> bool {
    address.segments()[0] & 0xffc0 == 0xfe80 || address.is_loopback()
}

/// Makes the bridge, up, with its MAC and addresses; turns on IPv4 forwarding in this
/// namespace as lxc-net does (IPv6 forwarding is left alone: turning it on makes a host
/// that configures itself by router advertisements stop listening to them).
pub fn create(netlink: &mut Netlink, settings: &Settings, plan: Plan) -> Result<(), NetError> {
    let name = settings.bridge.as_str();
    let index = match plan {
        Plan::TakeUp(index) => index,
        Plan::Create => {
            rlxc_net::bridge::create(netlink, name)
                .map_err(NetError::link(format!("creating the bridge {name}")))?;
            let index = link::index_by_name(netlink, name)
                .map_err(NetError::link(format!("looking up the bridge {name}")))?;
            // Marked first, alone: whatever fails after this, the undo knows it is ours.
            link::change(
                netlink,
                index,
                name,
                &Change {
                    alias: Some(ALIAS),
                    ..Change::default()
                },
            )
            .map_err(NetError::link(format!("marking the bridge {name}")))?;
            index
        }
    };
    // A bridge taken up keeps the addresses it had; only missing ones are added.
    let present: Vec<IpAddr> = address::list(netlink)
        .map_err(NetError::link("listing the addresses"))?
        .into_iter()
        .filter(|a| a.index == index)
        .map(|a| a.address)
        .collect();
    if settings.ipv6.is_some() {
        // The bridge's own address must not wait for (or fail) duplicate detection, and it
        // takes no addresses from router advertisements (dnsmasq sends them on it).
        write_sysctl(&format!("/proc/sys/net/ipv6/conf/{name}/accept_dad"), "0")?;
        write_sysctl(&format!("/proc/sys/net/ipv6/conf/{name}/autoconf"), "0")?;
    }
    link::change(
        netlink,
        index,
        name,
        &Change {
            mac: Some(settings.bridge_mac),
            up: Some(true),
            ..Change::default()
        },
    )
    .map_err(NetError::link(format!("setting the bridge {name} up")))?;
    if !present.contains(&IpAddr::V4(settings.address)) {
        address::add(
            netlink,
            index,
            name,
            IpAddr::V4(settings.address),
            settings.network.prefix,
            Some(settings.network.broadcast()),
        )
        .map_err(NetError::link(format!(
            "adding {} to {name}",
            settings.address
        )))?;
    }
    if let Some(ipv6) = settings
        .ipv6
        .as_ref()
        .filter(|ipv6| !present.contains(&IpAddr::V6(ipv6.address)))
    {
        address::add(
            netlink,
            index,
            name,
            IpAddr::V6(ipv6.address),
            ipv6.network.prefix,
            None,
        )
        .map_err(NetError::link(format!("adding {} to {name}", ipv6.address)))?;
    }
    write_sysctl("/proc/sys/net/ipv4/ip_forward", "1")
}

/// What `remove` did with the bridge.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    Deleted,
    Absent,
    /// Containers are still attached: like lxc-net, the bridge stays for them.
    KeptFor(Vec<String>),
}

/// Deletes the bridge unless links are still attached to it. A link of that name that
/// `rlxc net` did not make (no alias of ours) is never touched.
pub fn remove(netlink: &mut Netlink, name: &str) -> Result<Removed, NetError> {
    let links = link::list(netlink).map_err(NetError::link("listing the links"))?;
    let Some(bridge) = links
        .iter()
        .find(|link| link.name == name && link.alias.as_deref() == Some(ALIAS))
    else {
        return Ok(Removed::Absent);
    };
    let ports: Vec<String> = links
        .iter()
        .filter(|link| link.master == Some(bridge.index))
        .map(|link| link.name.clone())
        .collect();
    if !ports.is_empty() {
        return Ok(Removed::KeptFor(ports));
    }
    link::delete_index(netlink, bridge.index, name)
        .map_err(NetError::link(format!("deleting the bridge {name}")))?;
    Ok(Removed::Deleted)
}

/// What the bridge looks like now, for `status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BridgeView {
    pub name: String,
    pub up: bool,
    pub addresses: Vec<String>,
    pub ports: Vec<String>,
}

pub fn view(netlink: &mut Netlink, name: &str) -> Result<Option<BridgeView>, NetError> {
    let links = link::list(netlink).map_err(NetError::link("listing the links"))?;
    let Some(bridge) = links.iter().find(|link| link.name == name) else {
        return Ok(None);
    };
    let addresses = address::list(netlink)
        .map_err(NetError::link("listing the addresses"))?
        .into_iter()
        .filter(|a| a.index == bridge.index)
        .filter(|a| !matches!(a.address, IpAddr::V6(v6) if is_link_local(v6)))
        .map(|a| format!("{}/{}", a.address, a.prefix))
        .collect();
    let ports = links
        .iter()
        .filter(|link| link.master == Some(bridge.index))
        .map(|link| link.name.clone())
        .collect();
    Ok(Some(BridgeView {
        name: name.to_owned(),
        up: bridge.up,
        addresses,
        ports,
    }))
}

fn write_sysctl(path: &str, value: &str) -> Result<(), NetError> {
    std::fs::write(path, value).map_err(NetError::io("writing", path))
}
