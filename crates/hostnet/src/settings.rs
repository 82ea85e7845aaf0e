//! The settings of `rlxc net`: `/etc/default/rlxc-net` with the names of LXC's
//! `/etc/default/lxc-net`, so a copied LXC file works as it is.
//!
//! LXC sources that file as shell; rlxc reads it as what it is in practice, `KEY=value` lines
//! (optionally `export`ed, values quoted as in shell), and refuses anything else with its file
//! and line, so a typo in a key is an error instead of a silently ignored setting.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use crate::ula;

/// Where the settings are read from when no other file is named.
pub const DEFAULT_PATH: &str = "/etc/default/rlxc-net";

/// The bridge rlxc's shipped `default.conf` puts containers on.
pub const DEFAULT_BRIDGE: &str = "rlxcbr0";

/// Every key the file may set. `LXC_USE_NFT` is accepted for copied files: rlxc always
/// uses nftables (through netlink).
const KEYS: &[&str] = &[
    "USE_LXC_BRIDGE",
    "LXC_BRIDGE",
    "LXC_BRIDGE_MAC",
    "LXC_ADDR",
    "LXC_NETMASK",
    "LXC_NETWORK",
    "LXC_DHCP_RANGE",
    "LXC_DHCP_MAX",
    "LXC_DHCP_CONFILE",
    "LXC_DHCP_PING",
    "LXC_DOMAIN",
    "LXC_USE_NFT",
    "LXC_IPV6_ADDR",
    "LXC_IPV6_MASK",
    "LXC_IPV6_NETWORK",
    "LXC_IPV6_NAT",
];

/// An IPv4 or IPv6 network: its address (host bits zero) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net<A> {
    pub address: A,
    pub prefix: u8,
}

impl Net<Ipv4Addr> {
    fn of(address: Ipv4Addr, prefix: u8) -> Self {
        Self {
            address: Ipv4Addr::from(u32::from(address) & v4_mask(prefix)),
            prefix,
        }
    }

    pub fn contains(&self, address: Ipv4Addr) -> bool {
        u32::from(address) & v4_mask(self.prefix) == u32::from(self.address)
    }

    pub fn overlaps(&self, other: &Self) -> bool {
        let prefix = self.prefix.min(other.prefix);
        u32::from(self.address) & v4_mask(prefix) == u32::from(other.address) & v4_mask(prefix)
    }

    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !v4_mask(self.prefix))
    }
}

impl Net<Ipv6Addr> {
    fn of(address: Ipv6Addr, prefix: u8) -> Self {
        Self {
            address: Ipv6Addr::from(u128::from(address) & v6_mask(prefix)),
            prefix,
        }
    }

    pub fn overlaps(&self, other: &Self) -> bool {
        let prefix = self.prefix.min(other.prefix);
        u128::from(self.address) & v6_mask(prefix) == u128::from(other.address) & v6_mask(prefix)
    }
}

impl<A: std::fmt::Display> std::fmt::Display for Net<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// The bridge's IPv6 side: its address, the /prefix it routes, and whether that is NATed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Settings {
    pub address: Ipv6Addr,
    pub network: Net<Ipv6Addr>,
    pub nat: bool,
}

/// The checked settings of one bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The file they came from (None: none existed, the defaults apply).
    pub source: Option<PathBuf>,
    /// `USE_LXC_BRIDGE`: false makes `start` do nothing, as lxc-net does.
    pub enabled: bool,
    pub bridge: String,
    pub bridge_mac: [u8; 6],
    pub address: Ipv4Addr,
    pub network: Net<Ipv4Addr>,
    pub dhcp_range: (Ipv4Addr, Ipv4Addr),
    /// A lease time after the range (`10.0.3.2,10.0.3.254,12h`), passed to dnsmasq.
    pub dhcp_lease_time: Option<String>,
    pub dhcp_max: u32,
    pub dhcp_confile: Option<PathBuf>,
    pub dhcp_ping: bool,
    pub domain: Option<String>,
    pub ipv6: Option<Ipv6Settings>,
}

/// Why the settings cannot be used: the file, the line (0: the file as a whole) and the key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}:{line}: {reason}")]
    Line {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: {key}: {reason}")]
    Value {
        path: PathBuf,
        key: &'static str,
        reason: String,
    },
}

/// Reads the settings from `path`; a missing file at the default path means the defaults,
/// a missing file named explicitly is an error.
pub fn load(path: &Path, named_explicitly: bool) -> Result<Settings, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(cause) if cause.kind() == std::io::ErrorKind::NotFound && !named_explicitly => None,
        Err(cause) => {
            return Err(SettingsError::Read {
                path: path.to_owned(),
                cause,
            })
        }
    };
    let values = match &text {
        Some(text) => parse_lines(path, text)?,
        None => Vec::new(),
    };
    resolve(path, text.is_some(), &values)
}

/// `KEY=value` pairs in file order, with their line numbers.
fn parse_lines(
    path: &Path,
    text: &str,
) -> Result<Vec<(&'static str, String, usize)>, SettingsError> {
    let mut values = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let error = |reason: String| SettingsError::Line {
            path: path.to_owned(),
            line: line_number,
            reason,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let assignment = match line.strip_prefix("export") {
            Some(rest) if rest.starts_with([' ', '\t']) => rest.trim_start(),
            _ => line,
        };
        let Some((key, value)) = assignment.split_once('=') else {
            return Err(error(format!(
                "`{line}` is not a KEY=value line (the file is read, not run as a script)"
            )));
        };
        let Some(known) = KEYS.iter().find(|known| **known == key) else {
            let hint = KEYS
                .iter()
                .min_by_key(|known| strsim::levenshtein(known, key))
                .filter(|known| strsim::levenshtein(known, key) <= 3)
                .map(|known| format!(" (did you mean {known}?)"))
                .unwrap_or_default();
            return Err(error(format!("unknown key `{key}`{hint}")));
        };
        let words = shlex::split(value)
            .ok_or_else(|| error(format!("{key}: unbalanced quotes in `{value}`")))?;
        let value = match words.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            _ => {
                return Err(error(format!(
                    "{key}: `{value}` is more than one word; quote it"
                )))
            }
        };
        values.push((*known, value, line_number));
    }
    Ok(values)
}

/// Applies the values over the defaults and checks that they fit together.
fn resolve(
    path: &Path,
    from_file: bool,
    values: &[(&'static str, String, usize)],
) -> Result<Settings, SettingsError> {
    // The last assignment wins, as when the file is sourced.
    let get = |key: &str| {
        values
            .iter()
            .rev()
            .find(|(known, _, _)| *known == key)
            .map(|(_, value, _)| value.as_str())
    };
    let bad = |key: &'static str, reason: String| SettingsError::Value {
        path: path.to_owned(),
        key,
        reason,
    };
    let boolean = |key: &'static str, default: bool| -> Result<bool, SettingsError> {
        match get(key) {
            None | Some("") => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(bad(key, format!("`{other}` is neither true nor false"))),
        }
    };
    let ipv4 = |key: &'static str, default: Ipv4Addr| -> Result<Ipv4Addr, SettingsError> {
        match get(key) {
            None | Some("") => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| bad(key, format!("`{text}` is not an IPv4 address"))),
        }
    };

    let bridge = match get("LXC_BRIDGE") {
        None | Some("") => DEFAULT_BRIDGE.to_owned(),
        Some(name) => name.to_owned(),
    };
    check_bridge_name(&bridge).map_err(|reason| bad("LXC_BRIDGE", reason))?;
    let bridge_mac = match get("LXC_BRIDGE_MAC") {
        None | Some("") => [0x00, 0x16, 0x3e, 0x00, 0x00, 0x00],
        Some(text) => {
            let mac = text
                .parse::<rlxc_config::values::MacAddr>()
                .map_err(|error| bad("LXC_BRIDGE_MAC", format!("`{text}`: {error}")))?
                .0;
            if mac[0] & 1 == 1 {
                return Err(bad(
                    "LXC_BRIDGE_MAC",
                    format!("`{text}` is a multicast address, which no link can have"),
                ));
            }
            mac
        }
    };

    let address = ipv4("LXC_ADDR", Ipv4Addr::new(10, 0, 4, 1))?;
    let netmask = ipv4("LXC_NETMASK", Ipv4Addr::new(255, 255, 255, 0))?;
    let prefix = netmask_prefix(netmask).ok_or_else(|| {
        bad(
            "LXC_NETMASK",
            format!("`{netmask}` is not a contiguous netmask"),
        )
    })?;
    let derived = Net::<Ipv4Addr>::of(address, prefix);
    let network = match get("LXC_NETWORK") {
        None | Some("") => derived,
        Some(text) => {
            let given = parse_v4_net(text)
                .ok_or_else(|| bad("LXC_NETWORK", format!("`{text}` is not ADDRESS/PREFIX")))?;
            if given != derived {
                return Err(bad(
                    "LXC_NETWORK",
                    format!("{text} does not match LXC_ADDR {address} with LXC_NETMASK {netmask} ({derived})"),
                ));
            }
            given
        }
    };
    if prefix > 30 || address == network.address || address == network.broadcast() {
        return Err(bad(
            "LXC_ADDR",
            format!("{address} is not a host address of {network}"),
        ));
    }

    let first_host = Ipv4Addr::from(u32::from(network.address) + 1);
    let last_host = Ipv4Addr::from(u32::from(network.broadcast()) - 1);
    let (dhcp_range, dhcp_lease_time) = match get("LXC_DHCP_RANGE") {
        None | Some("") => {
            let start = if address == first_host {
                Ipv4Addr::from(u32::from(first_host) + 1)
            } else {
                first_host
            };
            ((start, last_host), None)
        }
        Some(text) => parse_range(text).ok_or_else(|| {
            bad(
                "LXC_DHCP_RANGE",
                format!(
                    "`{text}` is not FIRST,LAST[,LEASE-TIME] (two IPv4 addresses, then e.g. 12h)"
                ),
            )
        })?,
    };
    let (start, end) = dhcp_range;
    if !network.contains(start) || !network.contains(end) || u32::from(start) > u32::from(end) {
        return Err(bad(
            "LXC_DHCP_RANGE",
            format!("{start},{end} is not a range inside {network}"),
        ));
    }
    let range_size = u32::from(end) - u32::from(start) + 1;
    let dhcp_max = match get("LXC_DHCP_MAX") {
        None | Some("") => range_size,
        Some(text) => text
            .parse()
            .ok()
            .filter(|max| *max > 0)
            .ok_or_else(|| bad("LXC_DHCP_MAX", format!("`{text}` is not a positive number")))?,
    };
    let dhcp_confile = match get("LXC_DHCP_CONFILE") {
        None | Some("") => None,
        Some(text) => Some(PathBuf::from(text)),
    };
    let domain = match get("LXC_DOMAIN") {
        None | Some("") => None,
        Some(text)
            if text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') =>
        {
            Some(text.to_owned())
        }
        Some(text) => return Err(bad("LXC_DOMAIN", format!("`{text}` is not a domain name"))),
    };

    let ipv6 = resolve_ipv6(path, &get, &bridge)?;
    let ipv6 = match ipv6 {
        Some((address, network)) => Some(Ipv6Settings {
            address,
            network,
            nat: boolean("LXC_IPV6_NAT", false)?,
        }),
        None => None,
    };

    Ok(Settings {
        source: from_file.then(|| path.to_owned()),
        enabled: boolean("USE_LXC_BRIDGE", true)?,
        bridge,
        bridge_mac,
        address,
        network,
        dhcp_range,
        dhcp_lease_time,
        dhcp_max,
        dhcp_confile,
        dhcp_ping: boolean("LXC_DHCP_PING", true)?,
        domain,
        ipv6,
    })
}

/// The IPv6 side: LXC's three keys together, none of them (rlxc's default: a ULA /64 derived
/// from the machine id), or `LXC_IPV6_ADDR=""` written out (no IPv6, as LXC's default).
fn resolve_ipv6<'v>(
    path: &Path,
    get: &impl Fn(&str) -> Option<&'v str>,
    bridge: &str,
) -> Result<Option<(Ipv6Addr, Net<Ipv6Addr>)>, SettingsError> {
    let bad = |key: &'static str, reason: String| SettingsError::Value {
        path: path.to_owned(),
        key,
        reason,
    };
    let (address, mask, network) = (
        get("LXC_IPV6_ADDR"),
        get("LXC_IPV6_MASK"),
        get("LXC_IPV6_NETWORK"),
    );
    match (address, mask, network) {
        // Without IPv6 in this namespace (disable_ipv6, or a kernel without it), the default
        // is what LXC's is: none.
        (None, None, None) if !ipv6_enabled() => Ok(None),
        (None, None, None) => {
            let network = ula::default_prefix(bridge);
            let address = Ipv6Addr::from(u128::from(network.address) | 1);
            Ok(Some((address, network)))
        }
        (Some(""), _, _) => Ok(None),
        (Some(address_text), Some(mask_text), Some(network_text)) => {
            let address: Ipv6Addr = address_text.parse().map_err(|_| {
                bad(
                    "LXC_IPV6_ADDR",
                    format!("`{address_text}` is not an IPv6 address"),
                )
            })?;
            let prefix: u8 = mask_text
                .parse()
                .ok()
                .filter(|prefix| (1..=128).contains(prefix))
                .ok_or_else(|| {
                    bad(
                        "LXC_IPV6_MASK",
                        format!("`{mask_text}` is not a prefix length 1-128"),
                    )
                })?;
            let network = Net::<Ipv6Addr>::of(address, prefix);
            let (given_address, given_prefix) = network_text
                .split_once('/')
                .and_then(|(a, p)| Some((a.parse::<Ipv6Addr>().ok()?, p.parse::<u8>().ok()?)))
                .ok_or_else(|| {
                    bad(
                        "LXC_IPV6_NETWORK",
                        format!("`{network_text}` is not ADDRESS/PREFIX"),
                    )
                })?;
            if Net::<Ipv6Addr>::of(given_address, given_prefix) != network {
                return Err(bad(
                    "LXC_IPV6_NETWORK",
                    format!(
                        "{network_text} does not match LXC_IPV6_ADDR/LXC_IPV6_MASK ({network})"
                    ),
                ));
            }
            Ok(Some((address, network)))
        }
        _ => Err(bad(
            "LXC_IPV6_ADDR",
            "LXC_IPV6_ADDR, LXC_IPV6_MASK and LXC_IPV6_NETWORK go together: set all three, \
             or LXC_IPV6_ADDR=\"\" for no IPv6"
                .to_owned(),
        )),
    }
}

/// Whether new links of this network namespace get IPv6.
fn ipv6_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/net/ipv6/conf/default/disable_ipv6")
        .is_ok_and(|value| value.trim() == "0")
}

fn check_bridge_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 15 {
        return Err(format!("`{name}` is not 1 to 15 bytes long"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "`{name}` may hold only letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

fn netmask_prefix(netmask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(netmask);
    let prefix = bits.leading_ones();
    (bits.checked_shl(prefix).unwrap_or(0) == 0).then_some(prefix as u8)
}

fn parse_v4_net(text: &str) -> Option<Net<Ipv4Addr>> {
    let (address, prefix) = text.split_once('/')?;
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
    Some(Net::<Ipv4Addr>::of(address.parse().ok()?, prefix))
}

fn parse_range(text: &str) -> Option<((Ipv4Addr, Ipv4Addr), Option<String>)> {
    let mut fields = text.split(',').map(str::trim);
    let start = fields.next()?.parse().ok()?;
    let end = fields.next()?.parse().ok()?;
    let lease = match fields.next() {
        None => None,
        Some(time) if is_lease_time(time) => Some(time.to_owned()),
        Some(_) => return None,
    };
    fields.next().is_none().then_some(((start, end), lease))
}

/// dnsmasq's lease times: `infinite`, or a number with an optional s, m, h, d or w.
fn is_lease_time(text: &str) -> bool {
    let digits = text.trim_end_matches(['s', 'm', 'h', 'd', 'w']);
    text == "infinite"
        || (!digits.is_empty()
            && text.len() - digits.len() <= 1
            && digits.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
