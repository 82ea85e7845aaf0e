//! Loading a config: read the text (with includes), translate legacy keys, apply each line to
//! the spec, then check what only the whole config can tell (conflicting keys).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crate::error::{ConfigError, LoadFailure, Origin, Warning};
use crate::keys::{self, ApplyError, Support};
use crate::legacy::{Translation, Translator};
use crate::limits::{MAX_KEY_LEN, SHOWN_CHARS};
use crate::source::{self, Diagnostics, Entry};
use crate::spec::ContainerSpec;

/// A config that loaded, and what is worth telling about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub spec: ContainerSpec,
    pub warnings: Vec<Warning>,
    /// Every line that set something, in today's key names, so a later failure (a mount that
    /// does not work at start) can point at its file and line.
    pub lines: Vec<AppliedLine>,
}

/// One applied `key = value` and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedLine {
    pub origin: Origin,
    /// Today's name of the key.
    pub key: String,
    pub value: String,
}

impl Loaded {
    /// The line that set `key = value`, the last one if several did.
    pub fn origin_of(&self, key: &str, value: &str) -> Option<&Origin> {
        self.lines
            .iter()
            .rev()
            .find(|line| line.key == key && line.value == value)
            .map(|line| &line.origin)
    }

    /// Where `key` was last set: the line itself, or the last of its sub-keys (`lxc.net.0`
    /// finds `lxc.net.0.link`), so an error that names a key points at its file and line.
    pub fn origin_of_key(&self, key: &str) -> Option<&Origin> {
        self.lines
            .iter()
            .rev()
            .find(|line| {
                line.key == key
                    || line
                        .key
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.starts_with('.'))
            })
            .map(|line| &line.origin)
    }
}

/// Loads a config file, then applies `defines` (`KEY=VALUE`, as `rlxc start -s`) on top.
pub fn load_file(path: &Path, defines: &[String]) -> Result<Loaded, LoadFailure> {
    let mut diagnostics = Diagnostics::default();
    let mut entries = source::read_file(path, &mut diagnostics);
    entries.extend(define_entries(defines, &mut diagnostics.errors));
    finish(entries, diagnostics)
}

/// Loads config text that has no file (tests, fuzzing); `name` is used in messages.
pub fn load_str(text: &str, name: &Path) -> Result<Loaded, LoadFailure> {
    let mut diagnostics = Diagnostics::default();
    let entries = source::read_text(text, name, &mut diagnostics);
    finish(entries, diagnostics)
}

fn define_entries(defines: &[String], errors: &mut Vec<ConfigError>) -> Vec<Entry> {
    let mut entries = Vec::new();
    for define in defines {
        match define.split_once('=') {
            Some((key, value)) => entries.push(Entry {
                origin: Origin::CommandLine,
                key: key.trim().to_string(),
                value: value.trim().to_string(),
            }),
            None => errors.push(ConfigError::Syntax {
                origin: Origin::CommandLine,
                found: define.clone(),
            }),
        }
    }
    entries
}

/// The errors one load reports before it stops applying lines: a file that is not a config
/// (or a generated one gone wrong) would otherwise cost an error, and its memory and its
/// line of output, for each of its lines; nobody reads past the first screenful.
pub const MAX_ERRORS: usize = 100;

/// True once `errors` holds [`MAX_ERRORS`]: reading and applying stop at `origin`, which
/// one last error says (once).
pub(crate) fn too_many_errors(errors: &mut Vec<ConfigError>, origin: &Origin) -> bool {
    if errors.len() < MAX_ERRORS {
        return false;
    }
    if !matches!(errors.last(), Some(ConfigError::TooManyErrors { .. })) {
        errors.push(ConfigError::TooManyErrors {
            origin: origin.clone(),
            count: errors.len(),
        });
    }
    true
}

/// Keys whose combinations are checked once the whole config is read.
const TRACKED: &[&str] = &[
    "lxc.cap.drop",
    "lxc.cap.keep",
    "lxc.namespace.clone",
    "lxc.namespace.keep",
    "lxc.cgroup.dir",
    "lxc.cgroup.dir.container",
    "lxc.cgroup.dir.monitor",
    "lxc.idmap",
];

#[derive(Default)]
struct State {
    spec: ContainerSpec,
    errors: Vec<ConfigError>,
    warnings: Vec<Warning>,
    warned: HashSet<String>,
    /// Where each tracked key (and each network index) was last set.
    origins: BTreeMap<String, Origin>,
    rootfs_backend: Option<String>,
    lines: Vec<AppliedLine>,
    /// Unknown keys given a did-you-mean so far (see [`MAX_SUGGESTIONS`]).
    suggested: usize,
}

/// Unknown keys of one config that get a did-you-mean: each costs an edit distance to every
/// key of the table, and a file of thousands of unknown keys is not a file of typos.
const MAX_SUGGESTIONS: usize = 16;

fn finish(entries: Vec<Entry>, diagnostics: Diagnostics) -> Result<Loaded, LoadFailure> {
    let mut state = State {
        errors: diagnostics.errors,
        warnings: diagnostics.warnings,
        ..State::default()
    };
    let mut translator = Translator::new();
    for entry in entries {
        if too_many_errors(&mut state.errors, &entry.origin) {
            break;
        }
        state.apply(&mut translator, entry);
    }
    keys::settle(&mut state.spec);
    state.apply_rootfs_backend();
    state.check_conflicts();
    state.check_networks();
    state.check_id_maps();
    sort_by_position(&mut state.errors);
    if state.errors.is_empty() {
        Ok(Loaded {
            spec: state.spec,
            warnings: state.warnings,
            lines: state.lines,
        })
    } else {
        Err(LoadFailure {
            errors: state.errors,
            warnings: state.warnings,
        })
    }
}

/// Errors in file order: reading errors (includes, encoding) are found before value errors,
/// but a user reads the report top to bottom along the file.
fn sort_by_position(errors: &mut Vec<ConfigError>) {
    // Files numbered in the order first seen (a map: an include directory may hold many).
    let mut files: std::collections::HashMap<std::path::PathBuf, usize> = Default::default();
    let mut key = |error: &ConfigError| match error.origin() {
        Some(Origin::File { path, line }) => {
            let next = files.len();
            let index = *files.entry(path.clone()).or_insert(next);
            (index, *line)
        }
        _ => (usize::MAX, 0),
    };
    let mut keyed: Vec<((usize, usize), ConfigError)> =
        errors.drain(..).map(|e| (key(&e), e)).collect();
    // Stable: errors of one line keep the order they were found in.
    keyed.sort_by_key(|(k, _)| *k);
    errors.extend(keyed.into_iter().map(|(_, error)| error));
}

impl State {
    fn apply(&mut self, translator: &mut Translator, entry: Entry) {
        let Entry { origin, key, value } = entry;
        if key.len() > MAX_KEY_LEN {
            self.errors.push(ConfigError::KeyTooLong {
                origin,
                length: key.len(),
                key: key.chars().take(SHOWN_CHARS).collect(),
                limit: MAX_KEY_LEN,
            });
            return;
        }
        let modern = match translator.translate(&key, &value) {
            Ok(Translation::Modern(modern)) => modern,
            Ok(Translation::Legacy {
                legacy,
                modern,
                note,
            }) => {
                let message = match note {
                    Some(note) => format!("legacy key, read as {modern}: {note}"),
                    None => format!("legacy key, read as {modern}"),
                };
                self.warn_once(&origin, &legacy, message);
                modern
            }
            Ok(Translation::Removed { legacy, reason }) => {
                if legacy == "lxc.rootfs.backend" {
                    self.rootfs_backend = Some(value.clone());
                }
                self.warn_once(&origin, &legacy, format!("removed key, ignored: {reason}"));
                return;
            }
            Err(reason) => {
                self.errors.push(ConfigError::Value {
                    origin,
                    key,
                    reason,
                });
                return;
            }
        };
        // An empty value only clears, which is fine whatever the key's support.
        let support = keys::support_of(&modern).filter(|_| !value.is_empty());
        if let Some(Support::Refused(why)) = support {
            // Refused while loading, so that `config check` and `start` give the same answer.
            self.errors.push(ConfigError::Refused {
                origin,
                key: modern,
                reason: why.to_string(),
            });
            return;
        }
        match keys::apply(&mut self.spec, &modern, &value) {
            Ok(()) => {
                if let Some(Support::Ignored(why)) = support {
                    self.warn_once(&origin, &modern, format!("ignored: {why}"));
                }
                self.track(&modern, &origin);
                self.lines.push(AppliedLine {
                    origin,
                    key: modern,
                    value,
                });
            }
            Err(ApplyError::Unknown) => {
                let suggestion = (self.suggested < MAX_SUGGESTIONS)
                    .then(|| keys::suggest(&modern))
                    .flatten();
                self.suggested += 1;
                self.errors.push(ConfigError::UnknownKey {
                    origin,
                    key,
                    suggestion,
                })
            }
            Err(ApplyError::Value(reason)) => self.errors.push(ConfigError::Value {
                origin,
                key,
                reason: reason.0,
            }),
        }
    }

    /// One warning per key (legacy, ignored), however many lines use it.
    fn warn_once(&mut self, origin: &Origin, key: &str, message: String) {
        if self.warned.insert(key.to_string()) {
            self.warnings.push(Warning {
                origin: origin.clone(),
                key: key.to_string(),
                message,
            });
        }
    }

    fn track(&mut self, modern: &str, origin: &Origin) {
        if TRACKED.contains(&modern) {
            self.origins.insert(modern.to_string(), origin.clone());
        }
        if let Some(index) = modern
            .strip_prefix("lxc.net.")
            .and_then(|rest| rest.split('.').next())
        {
            let slot = format!("lxc.net.{index}");
            self.origins.entry(slot).or_insert_with(|| origin.clone());
        }
    }

    /// The old `lxc.rootfs.backend = lvm` plus `lxc.rootfs = /dev/vg/lv` is today's
    /// `lxc.rootfs.path = lvm:/dev/vg/lv`.
    fn apply_rootfs_backend(&mut self) {
        let Some(backend) = self.rootfs_backend.take() else {
            return;
        };
        if backend == "dir" || backend.is_empty() {
            return;
        }
        if let Some(path) = &mut self.spec.rootfs.path {
            if path.starts_with('/') {
                *path = format!("{backend}:{path}");
            }
        }
    }

    fn check_conflicts(&mut self) {
        let spec = &self.spec;
        let conflicts = [
            (
                "lxc.cap.drop",
                !spec.capabilities.drop.is_empty(),
                "lxc.cap.keep",
                spec.capabilities.keep.is_some(),
            ),
            (
                "lxc.namespace.clone",
                spec.namespaces.clone.is_some(),
                "lxc.namespace.keep",
                spec.namespaces.keep.is_some(),
            ),
            (
                "lxc.cgroup.dir",
                spec.cgroup.dir.is_some(),
                "lxc.cgroup.dir.container",
                spec.cgroup.dir_container.is_some(),
            ),
            (
                "lxc.cgroup.dir",
                spec.cgroup.dir.is_some(),
                "lxc.cgroup.dir.monitor",
                spec.cgroup.dir_monitor.is_some(),
            ),
        ];
        for (first, first_set, second, second_set) in conflicts {
            if !(first_set && second_set) {
                continue;
            }
            let (Some(a), Some(b)) = (self.origins.get(first), self.origins.get(second)) else {
                continue;
            };
            self.errors.push(ConfigError::Conflict {
                origin: b.clone(),
                key: second.to_string(),
                other_key: first.to_string(),
                other_origin: a.clone(),
            });
        }
        let container = self.spec.cgroup.dir_container.is_some();
        let monitor = self.spec.cgroup.dir_monitor.is_some();
        if container != monitor {
            let (set, missing) = if container {
                ("lxc.cgroup.dir.container", "lxc.cgroup.dir.monitor")
            } else {
                ("lxc.cgroup.dir.monitor", "lxc.cgroup.dir.container")
            };
            if let Some(origin) = self.origins.get(set) {
                self.errors.push(ConfigError::Value {
                    origin: origin.clone(),
                    key: set.to_string(),
                    reason: format!("needs {missing} as well"),
                });
            }
        }
    }

    /// The `lxc.idmap` lines as a whole (each line alone was checked when applied); the error
    /// points at the last of them.
    fn check_id_maps(&mut self) {
        if let Err(reason) = crate::values::check_id_maps(&self.spec.idmaps) {
            self.errors.push(ConfigError::Value {
                origin: self
                    .origins
                    .get("lxc.idmap")
                    .cloned()
                    .unwrap_or(Origin::CommandLine),
                key: "lxc.idmap".to_string(),
                reason,
            });
        }
    }

    /// Every interface needs a type; other settings without one are a forgotten line.
    fn check_networks(&mut self) {
        for (index, net) in &self.spec.networks {
            if net.net_type.is_some() {
                continue;
            }
            let slot = format!("lxc.net.{index}");
            let origin = self
                .origins
                .get(&slot)
                .cloned()
                .unwrap_or(Origin::CommandLine);
            self.errors.push(ConfigError::Value {
                origin,
                key: format!("{slot}.type"),
                reason: format!(
                    "interface {index} has settings but no type (veth, macvlan, ipvlan, vlan, phys, empty, none)"
                ),
            });
        }
    }
}
