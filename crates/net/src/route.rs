//! Routes: a container's default route (through a gateway or straight out of a device) and
//! host routes towards a container.

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::{Error, Netlink, Operation};

/// Where a route goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Destination network; `None` is the default route of `family_v6`'s family.
    pub destination: Option<(IpAddr, u8)>,
    /// Next hop; `None` is a device route (the destination is on the link).
    pub gateway: Option<IpAddr>,
    pub family_v6: bool,
}

/// Adds `route` through the link `index` (`label` names it in errors) to the main table.
pub fn add(netlink: &mut Netlink, index: u32, label: &str, route: &Route) -> Result<(), Error> {
    netlink.request_ack(
        RouteNetlinkMessage::NewRoute(message(index, route)),
        NLM_F_CREATE | NLM_F_EXCL,
        Operation::AddRoute,
        label,
    )
}

fn message(index: u32, route: &Route) -> RouteMessage {
    let mut message = RouteMessage::default();
    let header = &mut message.header;
    header.address_family = if route.family_v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    header.table = RouteHeader::RT_TABLE_MAIN;
    header.protocol = RouteProtocol::Boot;
    header.kind = RouteType::Unicast;
    // A route without a next hop only reaches what is on the link.
    header.scope = if route.gateway.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    if let Some((destination, prefix)) = route.destination {
        header.destination_prefix_length = prefix;
        message
            .attributes
            .push(RouteAttribute::Destination(RouteAddress::from(destination)));
    }
    if let Some(gateway) = route.gateway {
        message
            .attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
    }
    message.attributes.push(RouteAttribute::Oif(index));
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_route_through_a_gateway() {
        let route = Route {
            destination: None,
            gateway: Some("10.0.0.1".parse().unwrap()),
            family_v6: false,
        };
        let message = message(4, &route);
        assert_eq!(message.header.destination_prefix_length, 0);
        assert_eq!(message.header.scope, RouteScope::Universe);
        assert!(message.attributes.contains(&RouteAttribute::Oif(4)));
    }

    #[test]
    fn device_route_has_link_scope() {
        let route = Route {
            destination: Some(("10.0.0.5".parse().unwrap(), 32)),
            gateway: None,
            family_v6: false,
        };
        let message = message(4, &route);
        assert_eq!(message.header.scope, RouteScope::Link);
        assert_eq!(message.header.destination_prefix_length, 32);
    }
}
