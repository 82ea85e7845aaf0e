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
    /// One of rlxc's own additions (`defaults`), not a line of the config: where the host
    /// cannot apply it (a controller not delegated to `lxc.cgroup.dir`), a notice says so
    /// and the start goes on.
    pub rlxc_default: bool,
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
        let (config_v1, config_v2) = (v1.len(), v2.len());
        let (v1, v2) = &crate::defaults::with_defaults(layout, v1, v2);
        for (index, (key, value)) in v1.iter().enumerate() {
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
            plan.push(origin, value, what, index >= config_v1);
        }
        for (index, (key, value)) in v2.iter().enumerate() {
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
            plan.push(origin, value, what, index >= config_v2);
        }
        // The v1 kernel takes memsw only at or above the memory limit: the limit goes
        // first. Device rules go last (as in LXC: a `deny a` early would lock out the rest
        // of the setup's device use).
        plan.writes.sort_by_key(|write| rank(&write.origin));
        Ok(plan)
    }

    fn push(&mut self, origin: String, value: &str, what: Translation, rlxc_default: bool) {
        match what {
            Translation::Device(rule) => self.v2_devices.push(rule),
            Translation::Folded => {}
            what => self.writes.push(LimitWrite {
                origin,
                value: value.trim().to_owned(),
                what,
                rlxc_default,
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
                cause: Box::new(source),
            };
            match &write.what {
                Translation::Write(files) => {
                    for (key, value) in files {
                        match cgroups.set(key, value) {
                            Ok(()) => {}
                            Err(e) if write.rlxc_default => notices
                                .push(format!("rlxc's default {key} = {value} not applied: {e}")),
                            Err(e) => return Err(failed(e)),
                        }
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

    /// Puts a program for `rules` in place of the one the start attached (`rlxc device`,
    /// which widens them). `Ok(false)` when there is none (no cgroup2 device rules).
    pub fn replace_devices(&self, rules: &[DeviceRule]) -> Result<bool, Error> {
        let Some(dir) = self.unified_dir() else {
            return Ok(false);
        };
        crate::bpf_replace::replace_device_program(dir, &DevicePolicy::new(rules).program())
    }

    /// Writes `rule` to the v1 devices controller (`devices.allow` or `devices.deny`).
    /// `Ok(false)` when the container has no v1 devices cgroup.
    pub fn write_device_rule_v1(&self, rule: &DeviceRule) -> Result<bool, Error> {
        let (file, value) = rule.to_v1();
        // Only the v1 controller has the file (cgroup2 has programs instead).
        let Ok(dir) = self.dir_with(file) else {
            return Ok(false);
        };
        crate::files::write_key(dir, file, &value)?;
        // An allow rule reaches no child: the inner cgroup, where the processes are, gets it
        // too (a deny rule reaches it by itself, and is harmless twice).
        if let Some(inner) = self.inner() {
            crate::files::write_key(&dir.join(inner), file, &value)?;
        }
        Ok(true)
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
