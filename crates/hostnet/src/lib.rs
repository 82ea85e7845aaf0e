//! `rlxc net`: the host side of the default container network, as LXC's `lxc-net` builds it:
//! a bridge with an IPv4 address and a ULA IPv6 prefix, dnsmasq handing out addresses and
//! names, and NAT through an nftables table of rlxc's own.

pub mod nft;
