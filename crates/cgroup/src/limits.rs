//! A container's `lxc.cgroup.*` and `lxc.cgroup2.*` settings made real on this host's
//! layout: [`LimitPlan::new`] decides for each setting where it goes (its own hierarchy, or
//! translated to the other version, with one notice per translated key) before anything is
//! created, so a key with no equivalent fails the start before a fork; [`LimitPlan::apply`]
//! writes the files and attaches the device program.

use crate::devices::{DevicePolicy, DeviceRule};
use crate::translate::{v1_to_v2, v2_to_v1, Translation};
use crate::{bpf, controller_of, CgroupLayout, ContainerCgroups, Error};

/// One setting's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitWrite {
    /// The config key it came from, `lxc.cgroup.cpu.shares`, for notices and errors.
    pub origin: String,
    pub value: String,
    pub what: Translation,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitPlan {
    pub writes: Vec<LimitWrite>,
    /// Device rules for the cgroup2 program, in order; empty means no program.
    pub v2_devices: Vec<DeviceRule>,
    /// One line per translated key.
    pub notices: Vec<String>,
}

impl LimitPlan {
    /// `v1` and `v2` are the settings in file order, `(controller.file, value)`.
    pub fn new(
        layout: &CgroupLayout,
        v1: &[(String, String)],
        v2: &[(String, String)],
    ) -> Result<Self, Error> {
        let mut plan = Self::default();
        let deny = console_deny(layout, v1, v2);
        let pids = default_pids_limit(layout, v1, v2);
        let v1 = &with_default(&with_console_deny(v1, deny, Version::V1), pids, Version::V1);
        let v2 = &with_default(&with_console_deny(v2, deny, Version::V2), pids, Version::V2);
        for (key, value) in v1 {
            let origin = format!("lxc.cgroup.{key}");
            let controller = controller_of(key);
            let native = layout.v1_hierarchy_of(controller).is_some() || layout.v2.is_none();
            let what = if native {
                native_v1(key, value)
            } else {
                let translated = v1_to_v2(key, value, v1)?;
                plan.notice(&origin, &translated, "cgroup v2");
                translated
            };
            plan.push(origin, value, what);
        }
        for (key, value) in v2 {
            let origin = format!("lxc.cgroup2.{key}");
            let controller = controller_of(key);
            let what = if layout.v2.is_some() && controller == "devices" {
                Translation::Device(DeviceRule::parse(key == "devices.allow", value)?)
            } else if layout.v2.as_ref().is_some_and(|v2| v2.has(controller))
                || layout.v1_hierarchy_of(controller).is_none()
            {
                native_v2(key, value)
            } else {
                let translated = v2_to_v1(key, value, v2)?;
                plan.notice(&origin, &translated, "cgroup v1");
                translated
            };
            plan.push(origin, value, what);
        }
        // The v1 kernel takes memsw only at or above the memory limit: the limit goes
        // first. Device rules go last (as in LXC: a `deny a` early would lock out the rest
        // of the setup's device use).
        plan.writes.sort_by_key(|write| rank(&write.origin));
        Ok(plan)
    }

    fn push(&mut self, origin: String, value: &str, what: Translation) {
        match what {
            Translation::Device(rule) => self.v2_devices.push(rule),
            Translation::Folded => {}
            what => self.writes.push(LimitWrite {
                origin,
                value: value.trim().to_owned(),
                what,
            }),
        }
    }

    fn notice(&mut self, origin: &str, translated: &Translation, version: &str) {
        let target = match translated {
            Translation::Write(files) | Translation::Weight(files) => files
                .iter()
                .map(|(key, value)| format!("{key} = {value}"))
                .collect::<Vec<_>>()
                .join(if matches!(translated, Translation::Weight(_)) {
                    " or "
                } else {
                    ", "
                }),
            Translation::Device(_) => "a rule of the eBPF device program".to_owned(),
            Translation::Folded => "part of cpu.max".to_owned(),
        };
        self.notices.push(format!(
            "{origin}: this host has that controller on {version}: applied as {target}"
        ));
    }

    /// The cgroup2 controllers the writes need, to delegate at creation.
    pub fn v2_controllers(&self, layout: &CgroupLayout) -> Vec<String> {
        let mut controllers: Vec<String> = self
            .writes
            .iter()
            .flat_map(|write| match &write.what {
                Translation::Write(files) | Translation::Weight(files) => files.clone(),
                _ => Vec::new(),
            })
            .map(|(key, _)| controller_of(&key).to_owned())
            .filter(|controller| layout.v1_hierarchy_of(controller).is_none())
            .collect();
        controllers.sort();
        controllers.dedup();
        controllers
    }

    /// Writes every setting and attaches the device program. Returns notices for weights
    /// the host cannot apply (no CFQ/BFQ/iocost weight file); any other failure is an error
    /// naming the config key.
    pub fn apply(&self, cgroups: &ContainerCgroups) -> Result<Vec<String>, Error> {
        let mut notices = Vec::new();
        for write in &self.writes {
            let failed = |source: Error| Error::Setting {
                key: write.origin.clone(),
                value: write.value.clone(),
                source: Box::new(source),
            };
            match &write.what {
                Translation::Write(files) => {
                    for (key, value) in files {
                        cgroups.set(key, value).map_err(failed)?;
                    }
                }
                Translation::Weight(files) => {
                    match files.iter().position(|(key, _)| cgroups.has(key)) {
                        Some(index) => {
                            let (key, value) = &files[index];
                            cgroups.set(key, value).map_err(failed)?;
                            if index > 0 {
                                notices.push(weight_fallback(write, &files[0].0, key, value));
                            }
                        }
                        None => {
                            notices.push(format!(
                            "{} = {}: not applied: this host has no block I/O weight ({} missing; \
                             weights need the BFQ or CFQ scheduler, or io.cost)",
                            write.origin,
                            write.value,
                            files.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", ")
                        ))
                        }
                    }
                }
                Translation::Device(_) | Translation::Folded => {}
            }
        }
        if !self.v2_devices.is_empty() {
            cgroups.attach_devices(&self.v2_devices)?;
        }
        Ok(notices)
    }
}

/// Which settings list a setting rlxc adds on its own goes to (or none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    None,
    V1,
    V2,
}

/// The device the host's console is (`/dev/console`, 5:1).
const HOST_CONSOLE: (u32, u32) = (5, 1);

/// A container's own /dev/console is a pty of its devpts (major 136), so char 5:1 is only
/// ever the *host's* console: a root that may mknod (the seed allows `c *:* m` and
/// `c 5:1 rwm`; a config without device rules allows everything) could open it and type
/// into the host's login. rlxc denies it last, in the version of the rules it overrides.
fn console_deny(
    layout: &CgroupLayout,
    v1: &[(String, String)],
    v2: &[(String, String)],
) -> Version {
    let opens_console = |rule: &DeviceRule| {
        rule.allow
            && rule.kind != crate::devices::DeviceType::Block
            && rule.major.is_none_or(|m| m == HOST_CONSOLE.0)
            && rule.minor.is_none_or(|m| m == HOST_CONSOLE.1)
            && rule.access & (crate::devices::ACCESS_READ | crate::devices::ACCESS_WRITE) != 0
    };
    let opened_by = |settings: &[(String, String)]| {
        settings.iter().any(|(key, value)| {
            key == "devices.allow"
                && DeviceRule::parse(true, value).is_ok_and(|r| opens_console(&r))
        })
    };
    let has_rules =
        |settings: &[(String, String)]| settings.iter().any(|(key, _)| key.starts_with("devices."));
    if opened_by(v2) {
        Version::V2
    } else if opened_by(v1) {
        Version::V1
    } else if has_rules(v1) || has_rules(v2) {
        Version::None
    } else if layout.v1_hierarchy_of("devices").is_some() {
        Version::V1
    } else if layout.v2.is_some() {
        // cgroup2's device control is an eBPF program, not a controller: always there.
        Version::V2
    } else {
        Version::None
    }
}

/// The container's process limit when its config sets none: LXC sets none, and a fork bomb
/// then takes every pid of the host. 4096 is far above what a system container runs (a
/// full distribution with its services: a few hundred) and an eighth of a default
/// `pid_max` (32768). `lxc.cgroup.pids.max = max` lifts it on purpose.
pub const DEFAULT_PIDS_MAX: u32 = 4096;

/// Where the default `pids.max` goes: nowhere when the config has one (either version) or
/// the host has no pids controller, else where the controller is (v1 first, as the
/// host's own hierarchy).
fn default_pids_limit(
    layout: &CgroupLayout,
    v1: &[(String, String)],
    v2: &[(String, String)],
) -> Version {
    let configured = v1.iter().chain(v2).any(|(key, _)| key == "pids.max");
    if configured {
        Version::None
    } else if layout.v1_hierarchy_of("pids").is_some() {
        Version::V1
    } else if layout.v2.as_ref().is_some_and(|v2| v2.has("pids")) {
        Version::V2
    } else {
        Version::None
    }
}

/// `settings` with the default `pids.max` appended when it belongs to this version.
fn with_default(
    settings: &[(String, String)],
    target: Version,
    version: Version,
) -> Vec<(String, String)> {
    let mut settings = settings.to_vec();
    if target == version {
        settings.push(("pids.max".into(), DEFAULT_PIDS_MAX.to_string()));
    }
    settings
}

/// `settings` with the console's deny appended when it belongs to this version.
fn with_console_deny(
    settings: &[(String, String)],
    deny: Version,
    version: Version,
) -> Vec<(String, String)> {
    let mut settings = settings.to_vec();
    if deny == version {
        let (major, minor) = HOST_CONSOLE;
        settings.push(("devices.deny".into(), format!("c {major}:{minor} rwm")));
    }
    settings
}

/// The weight went to the second choice (the seed's `blkio.weight` on a kernel without
/// CFQ, where only BFQ's file is left): say so, and whether any disk uses BFQ at all.
fn weight_fallback(write: &LimitWrite, wanted: &str, key: &str, value: &str) -> String {
    let mut text = format!(
        "{} = {}: this host has no {wanted}; written as {key} = {value}",
        write.origin, write.value
    );
    if key.contains("bfq") {
        let disks = disks_with_scheduler(std::path::Path::new("/sys/block"), "bfq");
        if disks.is_empty() {
            text.push_str(" (in force only on disks that use the BFQ scheduler: none does now)");
        } else {
            text.push_str(&format!(
                " (in force on {}, which use BFQ)",
                disks.join(", ")
            ));
        }
    }
    text
}

/// Block devices whose active scheduler (the bracketed one) is `scheduler`.
fn disks_with_scheduler(sys_block: &std::path::Path, scheduler: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(sys_block) else {
        return Vec::new();
    };
    let active = format!("[{scheduler}]");
    let mut disks: Vec<String> = entries
        .flatten()
        .filter(|entry| {
            std::fs::read_to_string(entry.path().join("queue/scheduler"))
                .is_ok_and(|text| text.split_whitespace().any(|word| word == active))
        })
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    disks.sort();
    disks
}

impl ContainerCgroups {
    /// Attaches one more device program for `rules` to the cgroup2 directory. Programs add
    /// up (every one must allow an access), so this can only narrow what is allowed.
    pub fn attach_devices(&self, rules: &[DeviceRule]) -> Result<(), Error> {
        let dir = self.unified_dir().ok_or(Error::NoUnifiedForDevices)?;
        bpf::attach_device_program(dir, &DevicePolicy::new(rules).program())
    }
}

fn rank(origin: &str) -> u8 {
    if origin.contains(".devices.") {
        2
    } else if origin.ends_with("memsw.limit_in_bytes") || origin.ends_with("memory.swap.max") {
        1
    } else {
        0
    }
}

fn native_v1(key: &str, value: &str) -> Translation {
    let value = value.trim().to_owned();
    match key {
        "blkio.weight" => Translation::Weight(vec![
            ("blkio.weight".into(), value.clone()),
            ("blkio.bfq.weight".into(), value),
        ]),
        "blkio.weight_device" => Translation::Weight(vec![
            ("blkio.weight_device".into(), value.clone()),
            ("blkio.bfq.weight_device".into(), value),
        ]),
        _ => Translation::Write(vec![(key.to_owned(), value)]),
    }
}

fn native_v2(key: &str, value: &str) -> Translation {
    let value = value.trim().to_owned();
    match key {
        "io.weight" | "io.bfq.weight" => Translation::Weight(vec![(key.to_owned(), value)]),
        _ => Translation::Write(vec![(key.to_owned(), value)]),
    }
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
