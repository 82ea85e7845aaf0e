//! `rlxc net`: the host side of the default container network, as LXC's `lxc-net` builds it:
//! a bridge with an IPv4 address and a ULA IPv6 prefix, dnsmasq handing out addresses and
//! names, and NAT through an nftables table of rlxc's own.
//!
//! [`settings`] reads `/etc/default/rlxc-net` (LXC's names), [`lifecycle`] runs start, stop
//! and status over [`bridge`], [`dnsmasq`] and [`nft`], [`state`] remembers what a start
//! made, and [`doctor`] names what keeps a container off the network.

pub mod bridge;
pub mod dnsmasq;
pub mod doctor;
mod error;
pub mod hosts;
pub mod leases;
pub mod lifecycle;
pub mod nft;
pub mod settings;
pub mod state;
mod ula;

pub use error::NetError;
