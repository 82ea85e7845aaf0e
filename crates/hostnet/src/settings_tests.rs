use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use proptest::prelude::*;

use super::*;

fn settings(text: &str) -> Result<Settings, SettingsError> {
    let path = Path::new("/etc/default/rlxc-net");
    resolve(path, true, &parse_lines(path, text)?)
}

#[test]
fn no_file_gives_rlxcbr0_on_10_0_4_1_with_a_ula_prefix() {
    let settings = resolve(Path::new("/nonexistent"), false, &[]).expect("defaults");
    assert_eq!(settings.source, None);
    assert!(settings.enabled);
    assert_eq!(settings.bridge, "rlxcbr0");
    assert_eq!(settings.address, Ipv4Addr::new(10, 0, 4, 1));
    assert_eq!(settings.network.to_string(), "10.0.4.0/24");
    assert_eq!(
        settings.dhcp_range,
        (Ipv4Addr::new(10, 0, 4, 2), Ipv4Addr::new(10, 0, 4, 254))
    );
    assert_eq!(settings.dhcp_max, 253);
    assert!(settings.dhcp_ping);
    let ipv6 = settings.ipv6.expect("a ULA prefix by default");
    assert_eq!(ipv6.network.prefix, 64);
    assert_eq!(ipv6.address.segments()[0] >> 8, 0xfd);
    assert_eq!(ipv6.address.segments()[7], 1);
    assert!(!ipv6.nat);
}

#[test]
fn debians_lxc_net_file_loads_as_it_is() {
    let settings = settings(
        "USE_LXC_BRIDGE=\"true\"\n\n# Honor system's dnsmasq configuration\n\
         #LXC_DHCP_CONFILE=/etc/dnsmasq.conf\n",
    )
    .expect("Debian's file");
    assert!(settings.enabled);
    assert_eq!(settings.bridge, "rlxcbr0");
}

#[test]
fn every_lxc_key_is_honoured() {
    let settings = settings(
        "USE_LXC_BRIDGE=\"true\"\nLXC_BRIDGE=\"lxcbr0\"\nLXC_BRIDGE_MAC=\"00:16:3e:00:00:01\"\n\
         LXC_ADDR=\"10.0.3.1\"\nLXC_NETMASK=\"255.255.255.0\"\nLXC_NETWORK=\"10.0.3.0/24\"\n\
         LXC_DHCP_RANGE=\"10.0.3.100,10.0.3.199,12h\"\nLXC_DHCP_MAX=\"50\"\n\
         LXC_DHCP_CONFILE=/etc/lxc/dnsmasq.conf\nLXC_DHCP_PING=false\nLXC_DOMAIN=\"lxc\"\n\
         export\tLXC_USE_NFT=\"true\"\nLXC_IPV6_ADDR=\"fc11::1\"\nLXC_IPV6_MASK=\"64\"\n\
         LXC_IPV6_NETWORK=\"fc11::/64\"\nLXC_IPV6_NAT=\"true\"\n",
    )
    .expect("LXC's keys");
    assert_eq!(settings.bridge, "lxcbr0");
    assert_eq!(settings.bridge_mac, [0, 0x16, 0x3e, 0, 0, 1]);
    assert_eq!(settings.network.to_string(), "10.0.3.0/24");
    assert_eq!(
        settings.dhcp_range,
        (Ipv4Addr::new(10, 0, 3, 100), Ipv4Addr::new(10, 0, 3, 199))
    );
    assert_eq!(settings.dhcp_lease_time.as_deref(), Some("12h"));
    assert_eq!(settings.dhcp_max, 50);
    assert_eq!(
        settings.dhcp_confile.as_deref(),
        Some(Path::new("/etc/lxc/dnsmasq.conf"))
    );
    assert!(!settings.dhcp_ping);
    assert_eq!(settings.domain.as_deref(), Some("lxc"));
    let ipv6 = settings.ipv6.expect("IPv6");
    assert_eq!(
        ipv6.address,
        "fc11::1".parse::<Ipv6Addr>().expect("address")
    );
    assert_eq!(ipv6.network.to_string(), "fc11::/64");
    assert!(ipv6.nat);
}

#[test]
fn an_empty_ipv6_address_turns_ipv6_off_as_in_lxc() {
    let settings = settings("LXC_IPV6_ADDR=\"\"\n").expect("no IPv6");
    assert_eq!(settings.ipv6, None);
}

#[test]
fn errors_name_the_file_the_line_and_the_key() {
    let cases = [
        (
            "LXC_BRDIGE=br1\n",
            "/etc/default/rlxc-net:1: unknown key `LXC_BRDIGE` (did you mean LXC_BRIDGE?)",
        ),
        (
            "\nif true; then\n",
            "/etc/default/rlxc-net:2: `if true; then` is not a KEY=value line",
        ),
        (
            "LXC_DOMAIN=\"a b\" c\n",
            "/etc/default/rlxc-net:1: LXC_DOMAIN: `\"a b\" c` is more than one word",
        ),
        (
            "LXC_ADDR=10.0.3.300\n",
            "/etc/default/rlxc-net: LXC_ADDR: `10.0.3.300` is not an IPv4 address",
        ),
        (
            "LXC_NETMASK=255.0.255.0\n",
            "LXC_NETMASK: `255.0.255.0` is not a contiguous netmask",
        ),
        (
            "LXC_NETWORK=10.0.5.0/24\n",
            "LXC_NETWORK: 10.0.5.0/24 does not match LXC_ADDR 10.0.4.1",
        ),
        (
            "LXC_ADDR=10.0.4.0\n",
            "LXC_ADDR: 10.0.4.0 is not a host address of 10.0.4.0/24",
        ),
        (
            "LXC_DHCP_RANGE=10.0.4.2,10.0.5.9\n",
            "LXC_DHCP_RANGE: 10.0.4.2,10.0.5.9 is not a range inside 10.0.4.0/24",
        ),
        (
            "LXC_DHCP_MAX=0\n",
            "LXC_DHCP_MAX: `0` is not a positive number",
        ),
        (
            "USE_LXC_BRIDGE=yes\n",
            "USE_LXC_BRIDGE: `yes` is neither true nor false",
        ),
        (
            "LXC_BRIDGE=a-very-long-bridge-name\n",
            "LXC_BRIDGE: `a-very-long-bridge-name` is not 1 to 15 bytes long",
        ),
        (
            "LXC_IPV6_ADDR=fd00::1\n",
            "LXC_IPV6_ADDR: LXC_IPV6_ADDR, LXC_IPV6_MASK and LXC_IPV6_NETWORK go together",
        ),
        (
            "LXC_IPV6_ADDR=fd00::1\nLXC_IPV6_MASK=64\nLXC_IPV6_NETWORK=fd01::/64\n",
            "LXC_IPV6_NETWORK: fd01::/64 does not match",
        ),
    ];
    for (text, expected) in cases {
        let message = settings(text).expect_err(text).to_string();
        assert!(message.contains(expected), "{text:?}: {message}");
    }
}

#[test]
fn a_missing_file_is_an_error_only_when_named() {
    let path = Path::new("/nonexistent/rlxc-net");
    assert!(load(path, false).is_ok());
    let message = load(path, true).expect_err("named").to_string();
    assert!(
        message.starts_with("cannot read /nonexistent/rlxc-net"),
        "{message}"
    );
}

proptest! {
    #[test]
    fn netmasks_and_prefixes_round_trip(prefix in 0u8..=32) {
        let mask = Ipv4Addr::from(v4_mask(prefix));
        prop_assert_eq!(netmask_prefix(mask), Some(prefix));
    }

    #[test]
    fn a_network_contains_its_hosts_and_overlaps_itself(address in any::<u32>(), prefix in 8u8..=30) {
        let network = Net::<Ipv4Addr>::of(Ipv4Addr::from(address), prefix);
        prop_assert!(network.contains(Ipv4Addr::from(address)));
        prop_assert!(network.contains(network.broadcast()));
        prop_assert!(network.overlaps(&Net::<Ipv4Addr>::of(Ipv4Addr::from(address), 32)));
        let next = Net::<Ipv4Addr>::of(Ipv4Addr::from(u32::from(network.broadcast()).wrapping_add(1)), prefix);
        prop_assert!(next == network || !network.overlaps(&next));
    }
}
