//! Legacy (LXC 1.x/2.x) keys, read as today's keys.
//!
//! LXC 3+ refuses every one of these, so the seed's config fails to load there. rlxc reads them,
//! warns once per key with the modern name, and `update-config` rewrites them. Two renames that
//! LXC's own `lxc-update-config` gets wrong are done right here: `lxc.limit.*` becomes
//! `lxc.prlimit.*`, and an indexed `lxc.network.N.ipv4` becomes `lxc.net.N.ipv4.address`.

/// Plain one-to-one renames.
const RENAMES: &[(&str, &str)] = &[
    ("lxc.utsname", "lxc.uts.name"),
    ("lxc.rootfs", "lxc.rootfs.path"),
    ("lxc.pts", "lxc.pty.max"),
    ("lxc.tty", "lxc.tty.max"),
    ("lxc.devttydir", "lxc.tty.dir"),
    ("lxc.id_map", "lxc.idmap"),
    ("lxc.aa_profile", "lxc.apparmor.profile"),
    ("lxc.aa_allow_incomplete", "lxc.apparmor.allow_incomplete"),
    ("lxc.se_context", "lxc.selinux.context"),
    ("lxc.mount", "lxc.mount.fstab"),
    ("lxc.seccomp", "lxc.seccomp.profile"),
    ("lxc.haltsignal", "lxc.signal.halt"),
    ("lxc.rebootsignal", "lxc.signal.reboot"),
    ("lxc.stopsignal", "lxc.signal.stop"),
    ("lxc.syslog", "lxc.log.syslog"),
    ("lxc.loglevel", "lxc.log.level"),
    ("lxc.logfile", "lxc.log.file"),
    ("lxc.init_cmd", "lxc.init.cmd"),
    ("lxc.init_uid", "lxc.init.uid"),
    ("lxc.init_gid", "lxc.init.gid"),
    ("lxc.network", "lxc.net"),
    ("lxc.limit", "lxc.prlimit"),
];

/// Keys that no longer mean anything; accepted with a warning and otherwise ignored.
const REMOVED: &[(&str, &str)] = &[
    (
        "lxc.rootfs.backend",
        "the storage type now goes in lxc.rootfs.path as TYPE:PATH",
    ),
    ("lxc.pivotdir", "rlxc needs no pivot directory"),
    (
        "lxc.kmsg",
        "the container never gets /dev/kmsg (it would read the host's kernel log)",
    ),
];

/// Every legacy key name, for documentation and "did you mean".
pub fn legacy_names() -> impl Iterator<Item = &'static str> {
    RENAMES
        .iter()
        .map(|(old, _)| *old)
        .chain(REMOVED.iter().map(|(old, _)| *old))
        .chain(["lxc.console", "lxc.network.type", "lxc.limit.nofile"])
}

/// What a key means today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// Already a modern key.
    Modern(String),
    /// A legacy key, read as `modern`.
    Legacy {
        legacy: String,
        modern: String,
        note: Option<&'static str>,
    },
    /// A key that was removed; it is ignored.
    Removed {
        legacy: String,
        reason: &'static str,
    },
}

/// Translates keys line by line; it must see every key of a config in order, because each
/// `lxc.network.type` line starts a new network and later `lxc.network.*` lines belong to it.
#[derive(Debug, Clone, Default)]
pub struct Translator {
    current_network: Option<u32>,
    next_network: u32,
}

impl Translator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns today's key for `key`; `value` matters only for `lxc.console`.
    pub fn translate(&mut self, key: &str, value: &str) -> Result<Translation, String> {
        if let Some(index) = modern_network_index(key) {
            self.next_network = self.next_network.max(index.saturating_add(1));
            return Ok(Translation::Modern(key.to_string()));
        }
        if let Some(rest) = key.strip_prefix("lxc.network.") {
            return self.network(key, rest);
        }
        if let Some(resource) = key.strip_prefix("lxc.limit.") {
            return Ok(legacy(key, format!("lxc.prlimit.{resource}"), None));
        }
        if key == "lxc.console" {
            return Ok(console(value));
        }
        if let Some((_, modern)) = RENAMES.iter().find(|(old, _)| *old == key) {
            return Ok(legacy(key, (*modern).to_string(), None));
        }
        if let Some((_, reason)) = REMOVED.iter().find(|(old, _)| *old == key) {
            return Ok(Translation::Removed {
                legacy: key.to_string(),
                reason,
            });
        }
        Ok(Translation::Modern(key.to_string()))
    }

    fn network(&mut self, key: &str, rest: &str) -> Result<Translation, String> {
        // Indexed legacy form: lxc.network.N.sub
        if let Some((first, sub)) = rest.split_once('.') {
            if let Ok(index) = first.parse::<u32>() {
                self.next_network = self.next_network.max(index.saturating_add(1));
                return Ok(legacy(key, network_key(index, sub), None));
            }
        }
        if rest == "type" {
            let index = self.next_network;
            self.current_network = Some(index);
            self.next_network = index.saturating_add(1);
            return Ok(legacy(key, network_key(index, rest), None));
        }
        match self.current_network {
            Some(index) => Ok(legacy(key, network_key(index, rest), None)),
            None => Err(format!(
                "comes before any lxc.network.type line; in the legacy syntax each \
                 lxc.network.type line starts a network (or write {})",
                network_key(0, rest)
            )),
        }
    }
}

fn legacy(key: &str, modern: String, note: Option<&'static str>) -> Translation {
    Translation::Legacy {
        legacy: key.to_string(),
        modern,
        note,
    }
}

/// `lxc.net.N.sub` with the legacy `ipv4`/`ipv6` (addresses) spelled as today.
fn network_key(index: u32, sub: &str) -> String {
    let sub = match sub {
        "ipv4" => "ipv4.address",
        "ipv6" => "ipv6.address",
        other => other,
    };
    format!("lxc.net.{index}.{sub}")
}

/// In LXC 1.x `lxc.console = FILE` logged the console to FILE; the seed relies on that.
/// A device path (or `none`) still means the console device itself.
fn console(value: &str) -> Translation {
    if value == "none" || value.starts_with("/dev/") {
        legacy("lxc.console", "lxc.console.path".into(), None)
    } else {
        legacy(
            "lxc.console",
            "lxc.console.logfile".into(),
            Some("kept with its LXC 1.x meaning: the console is logged to this file"),
        )
    }
}

/// The N of a modern `lxc.net.N...` key.
fn modern_network_index(key: &str) -> Option<u32> {
    let rest = key.strip_prefix("lxc.net.")?;
    let index = rest.split('.').next()?;
    index.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modern_of(t: &mut Translator, key: &str, value: &str) -> String {
        match t.translate(key, value) {
            Ok(Translation::Legacy { modern, .. }) | Ok(Translation::Modern(modern)) => modern,
            other => panic!("{key}: {other:?}"),
        }
    }

    #[test]
    fn simple_renames() {
        let mut t = Translator::new();
        assert_eq!(modern_of(&mut t, "lxc.utsname", "x"), "lxc.uts.name");
        assert_eq!(modern_of(&mut t, "lxc.rootfs", "/r"), "lxc.rootfs.path");
        assert_eq!(modern_of(&mut t, "lxc.pts", "1"), "lxc.pty.max");
        assert_eq!(modern_of(&mut t, "lxc.tty", "1"), "lxc.tty.max");
        assert_eq!(modern_of(&mut t, "lxc.haltsignal", "1"), "lxc.signal.halt");
        assert_eq!(modern_of(&mut t, "lxc.network", ""), "lxc.net");
    }

    #[test]
    fn every_rename_is_recognised_as_legacy() {
        for (old, new) in RENAMES {
            let mut t = Translator::new();
            match t.translate(old, "x") {
                Ok(Translation::Legacy { modern, .. }) => assert_eq!(&modern, new),
                other => panic!("{old}: {other:?}"),
            }
        }
    }

    #[test]
    fn modern_keys_pass_through() {
        let mut t = Translator::new();
        for key in [
            "lxc.uts.name",
            "lxc.mount.entry",
            "lxc.console.logfile",
            "lxc.cgroup.cpu.shares",
        ] {
            assert_eq!(t.translate(key, "x"), Ok(Translation::Modern(key.into())));
        }
    }

    #[test]
    fn limit_becomes_prlimit() {
        let mut t = Translator::new();
        assert_eq!(
            modern_of(&mut t, "lxc.limit.nofile", "1024"),
            "lxc.prlimit.nofile"
        );
    }

    #[test]
    fn each_network_type_line_starts_a_new_network() {
        let mut t = Translator::new();
        assert_eq!(
            modern_of(&mut t, "lxc.network.type", "veth"),
            "lxc.net.0.type"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.link", "br0"),
            "lxc.net.0.link"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.ipv4", "10.0.0.2/24"),
            "lxc.net.0.ipv4.address"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.ipv4.gateway", "10.0.0.1"),
            "lxc.net.0.ipv4.gateway"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.type", "macvlan"),
            "lxc.net.1.type"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.ipv6", "fd00::2/64"),
            "lxc.net.1.ipv6.address"
        );
    }

    #[test]
    fn legacy_networks_go_after_modern_ones() {
        let mut t = Translator::new();
        assert_eq!(
            modern_of(&mut t, "lxc.net.0.type", "veth"),
            "lxc.net.0.type"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.type", "veth"),
            "lxc.net.1.type"
        );
    }

    #[test]
    fn indexed_legacy_network_keys() {
        let mut t = Translator::new();
        assert_eq!(
            modern_of(&mut t, "lxc.network.0.ipv4", "1.2.3.4/8"),
            "lxc.net.0.ipv4.address"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.2.link", "br0"),
            "lxc.net.2.link"
        );
        assert_eq!(
            modern_of(&mut t, "lxc.network.type", "veth"),
            "lxc.net.3.type"
        );
    }

    #[test]
    fn network_subkey_before_type_is_an_error() {
        let mut t = Translator::new();
        let err = t.translate("lxc.network.link", "br0").unwrap_err();
        assert!(err.contains("lxc.network.type"), "{err}");
    }

    #[test]
    fn console_keeps_its_lxc1_meaning() {
        let mut t = Translator::new();
        assert_eq!(
            modern_of(&mut t, "lxc.console", "/var/log/lxc/x.console"),
            "lxc.console.logfile"
        );
        assert_eq!(modern_of(&mut t, "lxc.console", "none"), "lxc.console.path");
        assert_eq!(
            modern_of(&mut t, "lxc.console", "/dev/tty1"),
            "lxc.console.path"
        );
    }

    #[test]
    fn removed_keys_are_ignored() {
        let mut t = Translator::new();
        for key in ["lxc.pivotdir", "lxc.kmsg", "lxc.rootfs.backend"] {
            assert!(
                matches!(t.translate(key, "x"), Ok(Translation::Removed { .. })),
                "{key}"
            );
        }
    }
}
