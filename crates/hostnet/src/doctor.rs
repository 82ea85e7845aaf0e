//! The doctor for "the container has no network": what on this host stops a container on the
//! bridge from getting an address or reaching past the host, each with the fix.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::nft;

/// One problem found and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub problem: String,
    pub fix: String,
}

/// What the checks need to know about the network.
pub struct Subject<'a> {
    pub bridge: &'a str,
    pub table: &'a str,
    pub address: Ipv4Addr,
    /// Our dnsmasq, whose sockets are not a conflict.
    pub dnsmasq_pid: Option<i32>,
    /// Whether the network is up (forwarding is only expected on then).
    pub running: bool,
    /// LXC_IPV6_NAT: the IPv6 side is routed too, which needs IPv6 forwarding.
    pub ipv6_nat: bool,
}

/// Every check, in the order a user would fix things.
pub fn examine(subject: &Subject<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if crate::dnsmasq::find().is_none() {
        findings.push(Finding {
            problem: "dnsmasq is not installed: containers get no address by DHCP".into(),
            fix: "apt-get install dnsmasq-base (or your distribution's dnsmasq)".into(),
        });
    }
    if subject.running
        && std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").is_ok_and(|v| v.trim() != "1")
    {
        findings.push(Finding {
            problem: "IPv4 forwarding is off (net.ipv4.ip_forward = 0): containers cannot reach \
                      past the host"
                .into(),
            fix: "sysctl -w net.ipv4.ip_forward=1 (and find what turned it off: a sysctl.d file?)"
                .into(),
        });
    }
    if subject.running
        && subject.ipv6_nat
        && std::fs::read_to_string("/proc/sys/net/ipv6/conf/all/forwarding")
            .is_ok_and(|v| v.trim() != "1")
    {
        findings.push(Finding {
            problem: "LXC_IPV6_NAT is true but IPv6 forwarding is off: containers reach no \
                      IPv6 address past the host (rlxc does not turn it on: a host that takes \
                      its own address from router advertisements would stop listening to them)"
                .into(),
            fix: "sysctl -w net.ipv6.conf.all.forwarding=1 (with accept_ra=2 on the uplink if \
                  it uses SLAAC)"
                .into(),
        });
    }
    match nft::forward_blockers(subject.table, subject.bridge) {
        Ok(blockers) => findings.extend(blockers.into_iter().map(|chain| Finding {
            problem: format!(
                "table {} {} chain {} drops forwarded packets by default (Docker, ufw, \
                 firewalld or `iptables -P FORWARD DROP` make such chains): containers on {} \
                 cannot reach past the host",
                chain.family, chain.table, chain.chain, subject.bridge
            ),
            fix: format!(
                "accept the bridge's traffic in that chain, e.g. `nft insert rule {} {} {} \
                 iifname {bridge} accept` and `... oifname {bridge} accept` (with Docker: \
                 `iptables -I DOCKER-USER -i {bridge} -j ACCEPT` and `-o {bridge}`)",
                chain.family,
                chain.table,
                chain.chain,
                bridge = subject.bridge
            ),
        })),
        Err(error) => findings.push(Finding {
            problem: format!("cannot read the nftables rules: {error}"),
            fix: "load nf_tables (modprobe nf_tables) and run as root".into(),
        }),
    }
    for holder in port_holders(subject) {
        findings.push(holder);
    }
    findings
}

/// Sockets of other processes on the ports dnsmasq needs (DNS 53 on the bridge's address or
/// every address, DHCP 67), read from `/proc/net/{udp,tcp}{,6}` of this namespace.
fn port_holders(subject: &Subject<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (file, protocol) in [
        ("/proc/net/udp", "UDP"),
        ("/proc/net/udp6", "UDP"),
        ("/proc/net/tcp", "TCP"),
        ("/proc/net/tcp6", "TCP"),
    ] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for socket in parse_sockets(&text, protocol == "TCP") {
            let wanted_port = socket.port == 53 || (protocol == "UDP" && socket.port == 67);
            // One on the bridge's own address always conflicts; one on every address only
            // when it keeps dnsmasq from binding (no SO_REUSEADDR, which /proc does not
            // show: another dnsmasq, lxc-net's or libvirt's, coexists), so that is tried.
            let wanted_address = (socket.address.is_unspecified()
                && !subject.running
                && !can_bind_beside(protocol == "TCP", socket.address, socket.port))
                || socket.address == IpAddr::V4(subject.address);
            if !wanted_port || !wanted_address {
                continue;
            }
            let owner = owner_of(socket.inode);
            if owner.is_some() && owner.as_ref().map(|o| o.0) == subject.dnsmasq_pid {
                continue;
            }
            let who = owner.map_or_else(
                || "another process".to_owned(),
                |(pid, name)| format!("{name} (pid {pid})"),
            );
            let service = if socket.port == 53 { "DNS" } else { "DHCP" };
            findings.push(Finding {
                problem: format!(
                    "{who} holds {protocol} port {} on {} ({service}): dnsmasq cannot serve {}",
                    socket.port, socket.address, subject.bridge
                ),
                fix: format!(
                    "make {who} listen on its own interfaces only (dnsmasq: bind-interfaces or \
                     except-interface={}; systemd-resolved is fine on 127.0.0.53), or stop it",
                    subject.bridge
                ),
            });
        }
    }
    findings
}

/// Whether a socket with SO_REUSEADDR, as dnsmasq makes them, can bind `address:port` now.
fn can_bind_beside(tcp: bool, address: IpAddr, port: u16) -> bool {
    use rustix::net::{bind, socket, sockopt, AddressFamily, SocketType};
    let family = if address.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let kind = if tcp {
        SocketType::STREAM
    } else {
        SocketType::DGRAM
    };
    let Ok(probe) = socket(family, kind, None) else {
        return true;
    };
    if sockopt::set_socket_reuseaddr(&probe, true).is_err() {
        return true;
    }
    bind(&probe, &std::net::SocketAddr::new(address, port)).is_ok()
}

#[derive(Debug, PartialEq, Eq)]
struct Socket {
    address: IpAddr,
    port: u16,
    inode: u64,
}

/// Listening sockets of a `/proc/net/{udp,tcp}{,6}` table (TCP: state 0A, LISTEN).
fn parse_sockets(text: &str, tcp: bool) -> Vec<Socket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            if tcp && *state != "0A" {
                return None;
            }
            let (address, port) = local.split_once(':')?;
            Some(Socket {
                address: parse_hex_address(address)?,
                port: u16::from_str_radix(port, 16).ok()?,
                inode: inode.parse().ok()?,
            })
        })
        .collect()
}

/// The kernel prints addresses as 32-bit words in host byte order.
fn parse_hex_address(hex: &str) -> Option<IpAddr> {
    let words: Option<Vec<u32>> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect();
    let bytes: Vec<u8> = words?.iter().flat_map(|w| w.to_ne_bytes()).collect();
    match bytes.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        ))),
        16 => {
            let array: [u8; 16] = bytes.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(array)))
        }
        _ => None,
    }
}

/// The process holding socket `inode`, by its fds.
fn owner_of(inode: u64) -> Option<(i32, String)> {
    let target = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|link| link.as_os_str() == target.as_str()) {
                let name = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                return Some((pid, name.trim().to_owned()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tables_are_read_in_host_byte_order() {
        let udp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
                   \x20 1: 0100040A:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0 0\n\
                   \x20 2: 00000000:0043 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4343 2 0 0\n";
        let sockets = parse_sockets(udp, false);
        assert_eq!(
            sockets,
            vec![
                Socket {
                    address: "10.4.0.1".parse().expect("v4"),
                    port: 53,
                    inode: 4242
                },
                Socket {
                    address: "0.0.0.0".parse().expect("v4"),
                    port: 67,
                    inode: 4343
                },
            ]
        );
        let tcp = "header\n   0: 00000000:0035 00000000:0000 01 0:0 0:0 0 0 0 77 1\n   1: 00000000:0035 00000000:0000 0A 0:0 0:0 0 0 0 78 1\n";
        assert_eq!(parse_sockets(tcp, true).len(), 1, "only LISTEN counts");
        let tcp6 = "h\n 0: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 0A 0:0 0:0 0 0 0 9 1\n";
        assert_eq!(
            parse_sockets(tcp6, true)[0].address,
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        );
    }
}
