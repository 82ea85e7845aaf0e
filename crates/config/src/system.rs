//! The system config, LXC's `lxc.system.conf(5)`: where containers live (`lxc.lxcpath`), which
//! config every new container starts from (`lxc.default_config`), storage and cgroup defaults.
//!
//! Two flavours, by the name rlxc is called by: `rlxc VERB` reads `/etc/rlxc/rlxc.conf` with
//! rlxc's defaults (`/var/lib/rlxc`, `/etc/rlxc/default.conf`), so it never touches what LXC
//! manages; `lxc-VERB` reads LXC's `/etc/lxc/lxc.conf` with LXC's defaults, so it answers as
//! LXC's `lxc-config` does on the same host. `RLXC_CONF` names another file for either.
//!
//! The line grammar is the container config's ([`crate::grammar`]). Unlike LXC, which ignores
//! what it does not know here, an unknown key or a line that is not `key = value` is an error
//! naming the file and line: a typo in `lxc.lxcpath` would otherwise put containers elsewhere.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::grammar::{parse_line, Line};
use crate::limits::{quote, shorten_path};

/// rlxc's own system config.
pub const RLXC_SYSTEM_CONFIG: &str = "/etc/rlxc/rlxc.conf";
/// LXC's system config, read when rlxc is called as `lxc-VERB`.
pub const LXC_SYSTEM_CONFIG: &str = "/etc/lxc/lxc.conf";
/// The environment variable that names another system config file (tests, a second setup).
pub const CONF_ENV: &str = "RLXC_CONF";

/// rlxc's default lxcpath: not LXC's `/var/lib/lxc`, so `rlxc` never touches containers that
/// LXC manages.
pub const RLXC_DEFAULT_LXCPATH: &str = "/var/lib/rlxc";
/// LXC's default lxcpath.
pub const LXC_DEFAULT_LXCPATH: &str = "/var/lib/lxc";
/// rlxc's default config, copied into every new container's config by `rlxc create`.
pub const RLXC_DEFAULT_CONFIG: &str = "/etc/rlxc/default.conf";
/// LXC's default config.
pub const LXC_DEFAULT_CONFIG: &str = "/etc/lxc/default.conf";

/// Whose system config and defaults: by the name rlxc was called by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `rlxc VERB`.
    Rlxc,
    /// `lxc-VERB`.
    Lxc,
}

impl Flavor {
    /// The file read when `RLXC_CONF` does not name one.
    pub fn default_path(self) -> &'static str {
        match self {
            Flavor::Rlxc => RLXC_SYSTEM_CONFIG,
            Flavor::Lxc => LXC_SYSTEM_CONFIG,
        }
    }

    /// The system config's path: `RLXC_CONF` (given as `env`) when set and not empty, else
    /// the flavour's file.
    pub fn path(self, env: Option<OsString>) -> PathBuf {
        env.filter(|value| !value.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(self.default_path()))
    }
}

/// One key of the system config: a row of the table, as `lxc-config -l` lists them.
pub struct SystemKey {
    pub name: &'static str,
    /// What an unset key is: `None` is LXC's "KEY is not set.".
    pub default: fn(Flavor) -> Option<&'static str>,
    /// The value must be an absolute path (a relative one would depend on the caller's
    /// working directory).
    pub absolute_path: bool,
    /// What rlxc does with it (for `rlxc config --help` and docs/config.md).
    pub doc: &'static str,
}

/// Every key, in the order LXC 5's `lxc-config -l` prints them.
pub const KEYS: &[SystemKey] = &[
    SystemKey {
        name: "lxc.default_config",
        default: |flavor| {
            Some(match flavor {
                Flavor::Rlxc => RLXC_DEFAULT_CONFIG,
                Flavor::Lxc => LXC_DEFAULT_CONFIG,
            })
        },
        absolute_path: true,
        doc: "The config `create` copies into every new container's config when no -f is given \
              (a missing file: nothing is copied).",
    },
    SystemKey {
        name: "lxc.lxcpath",
        default: |flavor| {
            Some(match flavor {
                Flavor::Rlxc => RLXC_DEFAULT_LXCPATH,
                Flavor::Lxc => LXC_DEFAULT_LXCPATH,
            })
        },
        absolute_path: true,
        doc: "Where containers live when neither -P nor RLXC_PATH says otherwise.",
    },
    SystemKey {
        name: "lxc.bdev.lvm.vg",
        default: |_| Some("lxc"),
        absolute_path: false,
        doc: "Default LVM volume group (reported only: rlxc keeps rootfs in a directory).",
    },
    SystemKey {
        name: "lxc.bdev.lvm.thin_pool",
        default: |_| Some("lxc"),
        absolute_path: false,
        doc: "Default LVM thin pool (reported only: rlxc keeps rootfs in a directory).",
    },
    SystemKey {
        name: "lxc.bdev.zfs.root",
        default: |_| Some("lxc"),
        absolute_path: false,
        doc: "Default ZFS root (reported only: rlxc keeps rootfs in a directory).",
    },
    SystemKey {
        name: "lxc.cgroup.use",
        default: |_| None,
        absolute_path: false,
        doc: "Cgroup controllers to set up (reported only: rlxc uses the controllers the \
              container's keys need).",
    },
    SystemKey {
        name: "lxc.cgroup.pattern",
        default: |_| None,
        absolute_path: false,
        doc: "Cgroup path pattern (reported only: rlxc's cgroups are rlxc.payload.NAME, or the \
              container's lxc.cgroup.dir).",
    },
];

/// The key of this name, if the system config has it.
pub fn key(name: &str) -> Option<&'static SystemKey> {
    KEYS.iter().find(|key| key.name == name)
}

/// What is wrong with a system config: the file, and the line and key where there is one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SystemConfigError {
    #[error("system config {}: cannot read: {source}", shorten_path(.path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("system config {}:{line}: expected `lxc.KEY = VALUE`, found {}", shorten_path(.path), quote(.found))]
    Syntax {
        path: PathBuf,
        line: usize,
        found: String,
    },
    #[error("system config {}:{line}: {}: {reason}", shorten_path(.path), quote(.key))]
    Key {
        path: PathBuf,
        line: usize,
        key: String,
        reason: String,
    },
}

/// A system config as read: the file and what it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemConfig {
    /// The file read (which may not exist: then every key has its default).
    pub path: PathBuf,
    pub flavor: Flavor,
    /// The keys the file sets, the first line winning (as in LXC); a line with an empty
    /// value is passed over.
    set: Vec<(&'static str, String)>,
}

impl SystemConfig {
    /// Nothing set: every key has the flavour's default.
    pub fn defaults(path: PathBuf, flavor: Flavor) -> Self {
        Self {
            path,
            flavor,
            set: Vec::new(),
        }
    }

    /// Reads `path`; a file that does not exist is a config with every key at its default.
    pub fn load(path: &Path, flavor: Flavor) -> Result<Self, SystemConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path, flavor),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(Self::defaults(path.to_path_buf(), flavor))
            }
            Err(source) => Err(SystemConfigError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses the text of the file `path`.
    pub fn parse(text: &str, path: &Path, flavor: Flavor) -> Result<Self, SystemConfigError> {
        let mut config = Self::defaults(path.to_path_buf(), flavor);
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let (name, value) = match parse_line(raw) {
                Line::Blank => continue,
                Line::Entry { key, value } => (key, value),
                Line::Martian | Line::Malformed => {
                    return Err(SystemConfigError::Syntax {
                        path: path.to_path_buf(),
                        line,
                        found: raw.trim().to_string(),
                    })
                }
            };
            let key_error = |reason: String| SystemConfigError::Key {
                path: path.to_path_buf(),
                line,
                key: name.to_string(),
                reason,
            };
            let Some(key) = key(name) else {
                let known: Vec<&str> = KEYS.iter().map(|key| key.name).collect();
                return Err(key_error(format!(
                    "not a system config key; the keys are {}",
                    known.join(", ")
                )));
            };
            if key.absolute_path && !value.is_empty() && !Path::new(value).is_absolute() {
                return Err(key_error(format!(
                    "{} is not an absolute path",
                    quote(value)
                )));
            }
            // As LXC's lxc_global_config_value: the first line of a key wins, and lxc.lxcpath
            // loses its trailing slashes. A line with an empty value is passed over (LXC would
            // take the empty string, an lxcpath relative to the caller's directory).
            let value = match key.name {
                "lxc.lxcpath" if value.len() > 1 => {
                    let trimmed = value.trim_end_matches('/');
                    &value[..trimmed.len().max(1)]
                }
                _ => value,
            };
            if !value.is_empty() && config.set.iter().all(|(set, _)| *set != key.name) {
                config.set.push((key.name, value.to_string()));
            }
        }
        Ok(config)
    }

    /// The value of `name`: what the file sets, else the default; `None` for a key that is
    /// not set and has no default, and for a key the system config does not have.
    pub fn get(&self, name: &str) -> Option<&str> {
        let key = key(name)?;
        self.set
            .iter()
            .find(|(set, _)| *set == key.name)
            .map(|(_, value)| value.as_str())
            .or_else(|| (key.default)(self.flavor))
    }

    /// `lxc.lxcpath`.
    pub fn lxcpath(&self) -> PathBuf {
        PathBuf::from(self.get("lxc.lxcpath").unwrap_or(match self.flavor {
            Flavor::Rlxc => RLXC_DEFAULT_LXCPATH,
            Flavor::Lxc => LXC_DEFAULT_LXCPATH,
        }))
    }

    /// `lxc.default_config`.
    pub fn default_config(&self) -> PathBuf {
        PathBuf::from(self.get("lxc.default_config").unwrap_or(match self.flavor {
            Flavor::Rlxc => RLXC_DEFAULT_CONFIG,
            Flavor::Lxc => LXC_DEFAULT_CONFIG,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SystemConfig, SystemConfigError> {
        SystemConfig::parse(text, Path::new("/etc/rlxc/rlxc.conf"), Flavor::Rlxc)
    }

    #[test]
    fn unset_keys_have_the_flavours_defaults() {
        let rlxc = parse("").expect("empty file");
        assert_eq!(rlxc.lxcpath(), PathBuf::from("/var/lib/rlxc"));
        assert_eq!(
            rlxc.default_config(),
            PathBuf::from("/etc/rlxc/default.conf")
        );
        assert_eq!(rlxc.get("lxc.bdev.lvm.vg"), Some("lxc"));
        assert_eq!(rlxc.get("lxc.cgroup.pattern"), None);
        let lxc = SystemConfig::defaults(PathBuf::from(LXC_SYSTEM_CONFIG), Flavor::Lxc);
        assert_eq!(lxc.get("lxc.lxcpath"), Some("/var/lib/lxc"));
        assert_eq!(lxc.get("lxc.default_config"), Some("/etc/lxc/default.conf"));
    }

    #[test]
    fn values_follow_the_container_config_grammar_and_the_first_one_wins_as_in_lxc() {
        // LXC's lxc_global_config_value stops at the first line with a value: a second
        // lxc.lxcpath (or an empty one after it) must not move the containers elsewhere.
        let text = "# rlxc's system config\n\nlxc.lxcpath =\n\
                    lxc.lxcpath = \"/srv/containers//\"  # comment\n  lxc.lxcpath=/srv/later\n\
                    lxc.lxcpath =\n\
                    lxc.default_config = /srv/default.conf # mine\n\
                    lxc.cgroup.pattern = lxc/%n\nlxc.bdev.lvm.vg =\n";
        let config = parse(text).expect("loads");
        assert_eq!(config.get("lxc.lxcpath"), Some("/srv/containers"));
        assert_eq!(config.default_config(), PathBuf::from("/srv/default.conf"));
        assert_eq!(config.get("lxc.cgroup.pattern"), Some("lxc/%n"));
        // Only empty: the default.
        assert_eq!(config.get("lxc.bdev.lvm.vg"), Some("lxc"));
        assert_eq!(
            parse("lxc.lxcpath = /\n").expect("root").get("lxc.lxcpath"),
            Some("/")
        );
        assert_eq!(config.get("lxc.no.such"), None);
    }

    #[test]
    fn bad_lines_name_the_file_line_and_key() {
        let unknown = parse("\nlxc.lxcpth = /srv\n").expect_err("typo");
        let message = unknown.to_string();
        assert!(
            message.starts_with(
                "system config /etc/rlxc/rlxc.conf:2: \"lxc.lxcpth\": not a system config key"
            ),
            "{message}"
        );
        assert!(message.contains("lxc.lxcpath"), "{message}");
        let syntax = parse("lxc.lxcpath /srv\n").expect_err("no =").to_string();
        assert!(
            syntax.contains("rlxc.conf:1: expected `lxc.KEY = VALUE`"),
            "{syntax}"
        );
        let martian = parse("lxcpath = /srv\n").expect_err("not lxc.").to_string();
        assert!(martian.contains(":1:"), "{martian}");
        let relative = parse("lxc.lxcpath = containers\n")
            .expect_err("relative")
            .to_string();
        assert!(relative.contains("not an absolute path"), "{relative}");
    }

    #[test]
    fn a_missing_file_is_the_defaults_and_rlxc_conf_names_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("none.conf");
        assert_eq!(
            SystemConfig::load(&missing, Flavor::Rlxc).expect("defaults"),
            SystemConfig::defaults(missing.clone(), Flavor::Rlxc)
        );
        assert_eq!(
            Flavor::Rlxc.path(Some(missing.clone().into())),
            missing.clone()
        );
        assert_eq!(
            Flavor::Rlxc.path(Some(OsString::new())),
            PathBuf::from(RLXC_SYSTEM_CONFIG)
        );
        assert_eq!(Flavor::Lxc.path(None), PathBuf::from(LXC_SYSTEM_CONFIG));
        // A directory cannot be read: an error, not the defaults.
        assert!(SystemConfig::load(dir.path(), Flavor::Rlxc).is_err());
    }

    #[test]
    fn every_key_is_listed_once_in_lxcs_order() {
        let names: Vec<&str> = KEYS.iter().map(|key| key.name).collect();
        assert_eq!(
            names,
            [
                "lxc.default_config",
                "lxc.lxcpath",
                "lxc.bdev.lvm.vg",
                "lxc.bdev.lvm.thin_pool",
                "lxc.bdev.zfs.root",
                "lxc.cgroup.use",
                "lxc.cgroup.pattern"
            ]
        );
    }
}
