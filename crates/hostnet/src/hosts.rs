//! A static lease per container: one file per container in the bridge's `hosts/` directory
//! (dnsmasq's `--dhcp-hostsdir`, which dnsmasq re-reads when a file appears), holding
//! `MAC,ADDRESS,NAME`. The container is then known in DNS by its own name whatever its guest
//! sends, and its MAC gets the same address on every start, also after the network was
//! stopped and started again: the address comes from a hash of the name into the DHCP range,
//! the next free one on a collision.
//!
//! `rlxc net start` writes the files for the containers that exist, `create` for a new one
//! when the network is up, `destroy` removes its file; nothing else touches them.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::settings::Settings;
use crate::state::{self, run_root, RunDir, State};
use crate::NetError;

/// The directory dnsmasq reads the static leases of `bridge` from.
pub fn dir(bridge: &str) -> PathBuf {
    RunDir::of(bridge).hosts()
}

/// dnsmasq takes only DNS labels as names: a container named otherwise gets no entry (and
/// its lease keeps whatever its guest sends).
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// The address of `name` in `range`: its hash's place in the range, moved on past `taken`.
pub fn address_for(
    name: &str,
    range: (Ipv4Addr, Ipv4Addr),
    taken: &[Ipv4Addr],
) -> Option<Ipv4Addr> {
    let (start, end) = (u32::from(range.0), u32::from(range.1));
    let size = end.checked_sub(start)? + 1;
    let digest = Sha256::digest(name.as_bytes());
    let hash = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (0..size)
        .map(|step| Ipv4Addr::from(start + (hash.wrapping_add(step) % size)))
        .find(|candidate| !taken.contains(candidate))
}

/// The addresses static leases are taken from: the DHCP range, less the bridge's own; and
/// the admin's own dnsmasq file (LXC_DHCP_CONFILE), whose `dhcp-host` lines win.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub range: (Ipv4Addr, Ipv4Addr),
    pub bridge_address: Ipv4Addr,
    #[serde(default)]
    pub confile: Option<PathBuf>,
}

impl Pool {
    pub fn of(settings: &Settings) -> Self {
        Self {
            range: settings.dhcp_range,
            bridge_address: settings.address,
            confile: settings.dhcp_confile.clone(),
        }
    }

    /// Whether the admin's dnsmasq file has a `dhcp-host` line for this name or MAC: dnsmasq
    /// matches a MAC before a name, so an entry of ours would override the admin's.
    fn admin_has(&self, name: &str, mac: &str) -> bool {
        let Some(text) = self
            .confile
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
        else {
            return false;
        };
        text.lines()
            .filter_map(|line| line.trim().strip_prefix("dhcp-host="))
            .flat_map(|value| value.split(','))
            .any(|field| field.eq_ignore_ascii_case(name) || field.eq_ignore_ascii_case(mac))
    }
}

/// Writes the static lease of container `name` (MAC `mac`) on `bridge`, keeping the address
/// it has already; returns its address, or None for a name dnsmasq would refuse.
pub fn record(
    bridge: &str,
    pool: &Pool,
    name: &str,
    mac: [u8; 6],
) -> Result<Option<Ipv4Addr>, NetError> {
    let mac_text = rlxc_net::container::mac::format(mac);
    if !is_dns_label(name) || pool.admin_has(name, &mac_text) {
        return Ok(None);
    }
    let dir = dir(bridge);
    state::make_dir(&dir)?;
    let entries = read_all(bridge);
    let kept = entries
        .iter()
        .find(|entry| entry.name == name && entry.mac == mac_text)
        .map(|entry| entry.address);
    let address = match kept {
        Some(address) => address,
        None => {
            let taken: Vec<Ipv4Addr> = entries
                .iter()
                .filter(|entry| entry.name != name)
                .map(|entry| entry.address)
                .chain([pool.bridge_address])
                .collect();
            let Some(address) = address_for(name, pool.range, &taken) else {
                return Ok(None);
            };
            address
        }
    };
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.new"));
    // Written aside and renamed: dnsmasq reads a file when it appears whole.
    std::fs::write(&temporary, format!("{mac_text},{address},{name}\n"))
        .map_err(NetError::io("writing", &temporary))?;
    std::fs::rename(&temporary, &path).map_err(NetError::io("writing", &path))?;
    Ok(Some(address))
}

/// Removes `name`'s entry from every running network, and has their dnsmasq read its
/// hosts again (it notices new files by itself, removed ones only on SIGHUP).
pub fn forget(name: &str) {
    let Ok(bridges) = std::fs::read_dir(run_root()) else {
        return;
    };
    for bridge in bridges.flatten() {
        if std::fs::remove_file(bridge.path().join("hosts").join(name)).is_err() {
            continue;
        }
        let run = RunDir { dir: bridge.path() };
        if let Some(pid) = crate::dnsmasq::read_pid(&run.pid_file()) {
            crate::dnsmasq::reload(pid, &run);
        }
    }
}

/// Writes the static lease of a container just created, when the network of `bridge` is up;
/// a network that is down gets it at its next start.
pub fn record_if_up(bridge: &str, name: &str, mac: [u8; 6]) -> Result<Option<Ipv4Addr>, NetError> {
    let run = RunDir::of(bridge);
    match State::load(&run)?.and_then(|state| state.pool) {
        Some(pool) => record(bridge, &pool, name, mac),
        None => Ok(None),
    }
}

struct Entry {
    name: String,
    mac: String,
    address: Ipv4Addr,
}

fn read_all(bridge: &str) -> Vec<Entry> {
    let Ok(files) = std::fs::read_dir(dir(bridge)) else {
        return Vec::new();
    };
    files
        .flatten()
        .filter_map(|file| {
            let text = std::fs::read_to_string(file.path()).ok()?;
            let mut fields = text.trim().split(',');
            let (mac, address, name) = (fields.next()?, fields.next()?, fields.next()?);
            Some(Entry {
                name: name.to_owned(),
                mac: mac.to_owned(),
                address: address.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hash_into_the_range_and_step_past_taken_addresses() {
        let range = (Ipv4Addr::new(10, 0, 4, 2), Ipv4Addr::new(10, 0, 4, 254));
        let first = address_for("web", range, &[]).expect("address");
        assert_eq!(Some(first), address_for("web", range, &[]));
        assert!(u32::from(first) >= u32::from(range.0) && u32::from(first) <= u32::from(range.1));
        let next = address_for("web", range, &[first]).expect("next");
        assert_ne!(next, first);
        let single = (Ipv4Addr::new(10, 0, 4, 9), Ipv4Addr::new(10, 0, 4, 9));
        assert_eq!(address_for("db", single, &[]), Some(single.0));
        assert_eq!(address_for("db", single, &[single.0]), None);
    }

    #[test]
    fn only_dns_labels_get_an_entry() {
        for good in ["web", "web-1", "a", "DB2"] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in ["", "-web", "web-", "web.1", "web_1", "a b", &"x".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
    }
}
