//! Parsing a kernel `.config`: `CONFIG_X=y`, `CONFIG_X=m`, `# CONFIG_X is not set`, or absent.

use std::collections::HashMap;

/// What a `.config` says about one option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionState {
    BuiltIn,
    Module,
    /// Written out as `# CONFIG_X is not set`: the option exists in this kernel but is off.
    NotSet,
    /// Not mentioned at all: the option does not exist in this kernel version (or its
    /// dependencies are off).
    Absent,
    /// A string or number value (`CONFIG_HZ=250`); counts as present.
    Value,
}

impl OptionState {
    /// Built in or a module, as LXC's `CONFIG_X=[y|m]` test.
    pub fn is_enabled(self) -> bool {
        matches!(self, Self::BuiltIn | Self::Module | Self::Value)
    }
}

/// `major.minor` of the kernel the config was generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
}

impl KernelVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[derive(Debug, Default)]
pub struct KernelConfig {
    states: HashMap<String, OptionState>,
    /// From the `# Linux/x86 6.1.0 Kernel Configuration` header; `None` if the header is
    /// missing, in which case the checks assume a current kernel (as LXC does).
    pub version: Option<KernelVersion>,
}

impl KernelConfig {
    pub fn parse(text: &str) -> Self {
        let mut config = Self::default();
        for line in text.lines().map(str::trim) {
            if let Some(comment) = line.strip_prefix('#') {
                let comment = comment.trim();
                if let Some(option) = comment.strip_suffix(" is not set") {
                    config.insert(option, OptionState::NotSet);
                } else if config.version.is_none() {
                    config.version = version_from_header(comment);
                }
            } else if let Some((option, value)) = line.split_once('=') {
                let state = match value {
                    "y" => OptionState::BuiltIn,
                    "m" => OptionState::Module,
                    "n" => OptionState::NotSet,
                    _ => OptionState::Value,
                };
                config.insert(option, state);
            }
        }
        config
    }

    fn insert(&mut self, option: &str, state: OptionState) {
        if option.starts_with("CONFIG_") {
            self.states.insert(option.to_owned(), state);
        }
    }

    /// Looks an option up by its full name (`CONFIG_VETH`) or without the prefix (`VETH`).
    pub fn state(&self, option: &str) -> OptionState {
        let lookup = |name: &str| self.states.get(name).copied();
        lookup(option)
            .or_else(|| lookup(&format!("CONFIG_{option}")))
            .unwrap_or(OptionState::Absent)
    }

    /// True when the config was written for `version` or later; unknown versions count as
    /// new.
    pub fn is_at_least(&self, version: KernelVersion) -> bool {
        match self.version {
            Some(own) => own >= version,
            None => true,
        }
    }
}

/// `Linux/x86 6.18.44 Kernel Configuration` (since 2.6.2x) or `Linux kernel version: 2.6.32`
/// (older configs).
fn version_from_header(comment: &str) -> Option<KernelVersion> {
    let rest = comment.strip_prefix("Linux")?;
    let version_word = if let Some(old_style) = rest.trim().strip_prefix("kernel version:") {
        old_style.trim()
    } else if rest.trim_end().ends_with("Kernel Configuration") {
        rest.split_whitespace().nth(1)?
    } else {
        return None;
    };
    let mut numbers = version_word.split(['.', '-']);
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some(KernelVersion { major, minor })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.1.55 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT=\"gcc (GCC) 12.2.0\"
CONFIG_NAMESPACES=y
CONFIG_VLAN_8021Q=m
# CONFIG_VETH is not set
CONFIG_HZ=250
CONFIG_OLD=n
";

    #[test]
    fn reads_built_in_module_not_set_and_absent() {
        let config = KernelConfig::parse(SAMPLE);
        assert_eq!(config.state("CONFIG_NAMESPACES"), OptionState::BuiltIn);
        assert_eq!(config.state("VLAN_8021Q"), OptionState::Module);
        assert_eq!(config.state("CONFIG_VETH"), OptionState::NotSet);
        assert_eq!(config.state("CONFIG_MACVLAN"), OptionState::Absent);
        assert_eq!(config.state("CONFIG_HZ"), OptionState::Value);
        assert_eq!(config.state("CONFIG_OLD"), OptionState::NotSet);
        assert!(config.state("CONFIG_VLAN_8021Q").is_enabled());
        assert!(!config.state("CONFIG_VETH").is_enabled());
    }

    #[test]
    fn reads_the_version_from_either_header_style() {
        assert_eq!(
            KernelConfig::parse(SAMPLE).version,
            Some(KernelVersion::new(6, 1))
        );
        let old = KernelConfig::parse("# Linux kernel version: 2.6.32\nCONFIG_X=y\n");
        assert_eq!(old.version, Some(KernelVersion::new(2, 6)));
        let rc = KernelConfig::parse("# Linux/arm64 6.10.0-rc3 Kernel Configuration\n");
        assert_eq!(rc.version, Some(KernelVersion::new(6, 10)));
    }

    #[test]
    fn a_missing_header_counts_as_a_current_kernel() {
        let config = KernelConfig::parse("CONFIG_X=y\n");
        assert_eq!(config.version, None);
        assert!(config.is_at_least(KernelVersion::new(6, 1)));
        let old = KernelConfig::parse(SAMPLE);
        assert!(old.is_at_least(KernelVersion::new(6, 1)));
        assert!(!old.is_at_least(KernelVersion::new(6, 2)));
    }

    #[test]
    fn ignores_other_comments_and_garbage() {
        let config = KernelConfig::parse("# just a comment\nnot a line\nFOO=y\n");
        assert_eq!(config.state("FOO"), OptionState::Absent);
        assert_eq!(config.version, None);
    }
}
