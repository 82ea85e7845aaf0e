//! One network interface of the container (`lxc.net.N.*`).

use serde::Serialize;

use crate::values::{
    BridgeVlan, HwAddr, Ipv4Cidr, Ipv4Gateway, Ipv4Route, Ipv6Cidr, Ipv6Gateway, Ipv6Route,
    IpvlanIsolation, IpvlanMode, MacvlanMode, Mtu, NetType, VethMode, VlanId,
};

/// Everything `lxc.net.N.*` can say about one interface.
///
/// Type-specific settings (`veth.*`, `macvlan.*`, ...) are only accepted once `type` says the
/// interface is of that kind, as in LXC, so a `veth.pair` on a macvlan is caught at parse time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Network {
    pub net_type: Option<NetType>,
    /// `flags = up`.
    pub up: Option<bool>,
    pub link: Option<String>,
    pub name: Option<String>,
    pub hwaddr: Option<HwAddr>,
    pub mtu: Option<Mtu>,
    pub l2proxy: Option<bool>,
    pub ipv4_addresses: Vec<Ipv4Cidr>,
    pub ipv4_gateway: Option<Ipv4Gateway>,
    pub ipv6_addresses: Vec<Ipv6Cidr>,
    pub ipv6_gateway: Option<Ipv6Gateway>,
    pub script_up: Option<String>,
    pub script_down: Option<String>,
    pub veth: Veth,
    pub macvlan_mode: Option<MacvlanMode>,
    pub ipvlan_mode: Option<IpvlanMode>,
    pub ipvlan_isolation: Option<IpvlanIsolation>,
    pub vlan_id: Option<VlanId>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Veth {
    pub mode: Option<VethMode>,
    /// Fixed host-side name of the pair.
    pub pair: Option<String>,
    pub ipv4_routes: Vec<Ipv4Route>,
    pub ipv6_routes: Vec<Ipv6Route>,
    pub vlan_id: Option<BridgeVlan>,
    pub vlan_tagged_ids: Vec<VlanId>,
    pub rx_queues: Option<u32>,
    pub tx_queues: Option<u32>,
}

impl Network {
    /// Drops the settings that only mean something for one interface type: a later
    /// `type` line (say, from a config that includes a common one) re-types the interface.
    pub fn forget_type_specific(&mut self) {
        self.veth = Veth::default();
        self.macvlan_mode = None;
        self.ipvlan_mode = None;
        self.ipvlan_isolation = None;
        self.vlan_id = None;
    }
}
