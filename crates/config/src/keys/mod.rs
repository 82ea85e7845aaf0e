//! The one table of config keys: every key LXC 5.0.2 accepts, each row with its parser
//! (`set`), its `clear`, its renderer and a doc line. `config keys`, `docs/config.md`,
//! `config show` and the parser all come from these rows, so adding a key is adding a row.

mod cgroup;
mod identity;
mod lifecycle;
mod macros;
mod mounts;
mod network;
mod process;
mod security;

use crate::spec::ContainerSpec;
use crate::values::ValueError;

pub use network::{NetKeyDef, NET_KEYS};

/// Applies a value to the spec. For prefix keys the full key is passed in.
pub type SetFn = fn(&mut ContainerSpec, &str, &str) -> Result<(), ValueError>;
/// Forgets what the key set (an empty value in the config).
pub type ClearFn = fn(&mut ContainerSpec, &str) -> Result<(), ValueError>;
/// Appends `(key, value)` lines that reproduce what the key set.
pub type RenderFn = fn(&ContainerSpec, &mut Vec<(String, String)>);

/// Where a key sits in the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Identity,
    Rootfs,
    Console,
    Cgroup,
    Capabilities,
    Namespaces,
    Network,
    Hooks,
    Security,
    Resources,
    Init,
    Lifecycle,
}

impl Section {
    pub fn title(self) -> &'static str {
        match self {
            Section::Identity => "Identity and includes",
            Section::Rootfs => "Root filesystem, mounts and /dev",
            Section::Console => "Console, ttys and ptys",
            Section::Cgroup => "Control groups",
            Section::Capabilities => "Capabilities",
            Section::Namespaces => "Namespaces and id maps",
            Section::Network => "Network",
            Section::Hooks => "Hooks",
            Section::Security => "Security: seccomp, LSM, keyring",
            Section::Resources => "Resources, sysctls, /proc",
            Section::Init => "Init and environment",
            Section::Lifecycle => "Signals, autostart, monitor, logging",
        }
    }
}

/// Whether rlxc does what a key asks. Each reason is said to the user: in the load warning
/// (ignored), the load error (refused) and the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// The runtime does what the key says.
    Supported,
    /// The runtime does what the key says for some values and refuses the others at start
    /// (which, said to the user): e.g. `lxc.console.path = none` works, a host device does not.
    Partly(&'static str),
    /// Accepted with a load warning, and nothing is done with it (why).
    Ignored(&'static str),
    /// Loading a config that sets it fails (why), so `config check` and `start` agree.
    Refused(&'static str),
}

impl Support {
    /// The docs' support column: `yes`, or `partly: WHY`, `ignored: WHY`, `refused: WHY`.
    pub fn describe(self) -> String {
        match self {
            Support::Supported => "yes".into(),
            Support::Partly(why) => format!("partly: {why}"),
            Support::Ignored(why) => format!("ignored: {why}"),
            Support::Refused(why) => format!("refused: {why}"),
        }
    }
}

/// One row of the table.
pub struct KeyDef {
    /// The key, or for `prefix` rows the part every such key starts with (`lxc.cgroup`).
    pub name: &'static str,
    /// Matches `name` itself and every `name.SUFFIX`.
    pub prefix: bool,
    /// Repeatable: each line adds, an empty value clears the list.
    pub list: bool,
    pub section: Section,
    /// Legacy spellings that mean this key (documentation; the translation is in `legacy`).
    pub legacy: &'static [&'static str],
    /// One line for the reference.
    pub doc: &'static str,
    /// A valid config line using the key (tests apply it; docs show it).
    pub example: &'static str,
    /// Whether rlxc does what the key asks (a test checks this against the runtime's sources).
    pub support: Support,
    pub set: SetFn,
    pub clear: ClearFn,
    pub render: RenderFn,
}

impl KeyDef {
    /// Marks a row built by a macro as partly supported (see [`Support::Partly`]).
    pub(crate) const fn partly(mut self, why: &'static str) -> Self {
        self.support = Support::Partly(why);
        self
    }

    /// Marks a row built by a macro as ignored (see [`Support::Ignored`]).
    pub(crate) const fn ignored(mut self, why: &'static str) -> Self {
        self.support = Support::Ignored(why);
        self
    }

    /// Marks a row built by a macro as refused (see [`Support::Refused`]).
    pub(crate) const fn refused(mut self, why: &'static str) -> Self {
        self.support = Support::Refused(why);
        self
    }
}

/// Every top-level key, in the canonical order of `config show` and the docs.
pub fn all() -> impl Iterator<Item = &'static KeyDef> {
    [
        identity::KEYS,
        mounts::KEYS,
        identity::CONSOLE_KEYS,
        cgroup::KEYS,
        security::CAPABILITY_KEYS,
        process::NAMESPACE_KEYS,
        network::KEYS,
        lifecycle::HOOK_KEYS,
        security::KEYS,
        process::RESOURCE_KEYS,
        process::INIT_KEYS,
        lifecycle::KEYS,
    ]
    .into_iter()
    .flatten()
}

/// Finds the row for a (modern) key: an exact row first, else the longest prefix row.
pub fn lookup(key: &str) -> Option<&'static KeyDef> {
    if let Some(exact) = all().find(|def| def.name == key) {
        return Some(exact);
    }
    all()
        .filter(|def| def.prefix && prefix_matches(def.name, key))
        .max_by_key(|def| def.name.len())
}

fn prefix_matches(prefix: &str, key: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Whether rlxc does what a (modern) key asks; `None` for a key the table does not know.
pub fn support_of(key: &str) -> Option<Support> {
    let def = lookup(key)?;
    if def.name == "lxc.net" {
        return network::support_of(key).or(Some(def.support));
    }
    Some(def.support)
}

/// Why a key could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// Not a key of the table; [`suggest`] finds a likely meant one.
    Unknown,
    Value(ValueError),
}

/// Applies one modern `key = value` to the spec; an empty value clears the key.
pub fn apply(spec: &mut ContainerSpec, key: &str, value: &str) -> Result<(), ApplyError> {
    let def = lookup(key)
        .filter(|def| def.name != "lxc.net" || network::knows(key))
        .ok_or(ApplyError::Unknown)?;
    let result = if value.is_empty() {
        (def.clear)(spec, key)
    } else {
        (def.set)(spec, key, value)
    };
    result.map_err(ApplyError::Value)
}

/// Settles what `apply` appended line by line into what the config means (a cgroup file's
/// last value, each autostart group once): done once after the last line, because doing it
/// for each line searched everything set before it. Call it before reading the spec.
pub fn settle(spec: &mut ContainerSpec) {
    cgroup::settle(spec);
    lifecycle::settle_groups(spec);
}

/// Renders the spec as `(key, value)` lines in canonical order.
pub fn render(spec: &ContainerSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for def in all() {
        (def.render)(spec, &mut out);
    }
    out
}

/// The closest known key to a mistyped one, if any is close enough to be a plausible typo.
/// Bounded: a key longer than any in the table is compared with none.
pub fn suggest(key: &str) -> Option<String> {
    if let Some(suggestion) = network::suggest(key) {
        return Some(suggestion);
    }
    let candidates = all()
        .map(|def| def.name)
        .chain(crate::legacy::legacy_names());
    closest(key, candidates)
}

/// The longest key a suggestion is looked for: past it no key of the table is within reach.
const MAX_SUGGESTED_LEN: usize = 64;

pub(crate) fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    if word.len() > MAX_SUGGESTED_LEN {
        return None;
    }
    let length = word.chars().count();
    let reach = |c: &str| (c.len() / 4).max(2);
    candidates
        // The distance is at least the difference in length: only candidates of about the
        // word's length are measured.
        .filter(|c| length.abs_diff(c.chars().count()) <= reach(c))
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(distance, c)| *distance <= reach(c))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests;
