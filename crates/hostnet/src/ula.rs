//! rlxc's default IPv6 prefix for a bridge: a unique local /64 (RFC 4193) whose 40-bit global
//! id comes from a hash of the machine id and the bridge name, so it is the same on every
//! start without any state kept, and different between machines and bridges.

use std::net::Ipv6Addr;

use sha2::{Digest, Sha256};

use crate::settings::Net;

/// The ULA /64 of `bridge` on this machine.
pub fn default_prefix(bridge: &str) -> Net<Ipv6Addr> {
    // Without a machine id (a minimal chroot), the host name still tells machines apart.
    let machine = std::fs::read_to_string("/etc/machine-id")
        .or_else(|_| std::fs::read_to_string("/proc/sys/kernel/hostname"))
        .unwrap_or_default();
    prefix_for(machine.trim(), bridge)
}

fn prefix_for(machine: &str, bridge: &str) -> Net<Ipv6Addr> {
    let digest = Sha256::new()
        .chain_update(b"rlxc-net ULA\0")
        .chain_update(machine.as_bytes())
        .chain_update(b"\0")
        .chain_update(bridge.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes[0] = 0xfd;
    bytes[1..6].copy_from_slice(&digest[..5]);
    // Subnet id 0: the bridge's /64 is the first of the /48.
    Net {
        address: Ipv6Addr::from(bytes),
        prefix: 64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_local_slash_64_stable_per_machine_and_bridge() {
        let first = prefix_for("0123456789abcdef", "rlxcbr0");
        assert_eq!(first, prefix_for("0123456789abcdef", "rlxcbr0"));
        assert_eq!(first.prefix, 64);
        let segments = first.address.segments();
        assert_eq!(segments[0] >> 8, 0xfd, "{first}");
        assert_eq!(&segments[3..], &[0; 5], "{first}");
        assert_ne!(first, prefix_for("0123456789abcdef", "br1"));
        assert_ne!(first, prefix_for("fedcba9876543210", "rlxcbr0"));
    }
}
