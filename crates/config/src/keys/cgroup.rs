//! Control group keys: `lxc.cgroup.*` (v1 files), `lxc.cgroup2.*` (v2 files) and placement.

use std::collections::HashSet;

use super::macros::scalar;
use super::{KeyDef, Section, Support};
use crate::limits::quote;
use crate::spec::{CgroupSetting, ContainerSpec};
use crate::values::{validate_cgroup_value, ValueError};

pub(super) static KEYS: &[KeyDef] = &[
    KeyDef {
        name: "lxc.cgroup",
        prefix: true,
        list: true,
        section: Section::Cgroup,
        legacy: &[],
        doc: "`lxc.cgroup.CONTROLLER.FILE = VALUE` writes a cgroup v1 file (translated on v2 hosts); bare and empty clears all.",
        example: "lxc.cgroup.memory.limit_in_bytes = 1024M",
        support: Support::Supported,
        set: |spec, key, value| set(spec, Version::V1, key, value),
        clear: |spec, key| clear(spec, Version::V1, key),
        render: |spec, out| render(spec, Version::V1, out),
    },
    KeyDef {
        name: "lxc.cgroup2",
        prefix: true,
        list: true,
        section: Section::Cgroup,
        legacy: &[],
        doc: "`lxc.cgroup2.CONTROLLER.FILE = VALUE` writes a cgroup v2 file; `devices.allow/deny` become an eBPF program.",
        example: "lxc.cgroup2.memory.max = 1G",
        support: Support::Supported,
        set: |spec, key, value| set(spec, Version::V2, key, value),
        clear: |spec, key| clear(spec, Version::V2, key),
        render: |spec, out| render(spec, Version::V2, out),
    },
    scalar!(Cgroup, "lxc.cgroup.dir", "lxc.cgroup.dir = web",
        "Cgroup path (below rlxc's own cgroup) for both the monitor and the container.", cgroup.dir),
    scalar!(Cgroup, "lxc.cgroup.dir.container", "lxc.cgroup.dir.container = web/payload",
        "Cgroup path of the container (needs `lxc.cgroup.dir.monitor`).", cgroup.dir_container),
    scalar!(Cgroup, "lxc.cgroup.dir.monitor", "lxc.cgroup.dir.monitor = web/monitor",
        "Cgroup path of the monitor: its cgroup2 cgroup (in v1 hierarchies the monitor stays \
         where rlxc was started, unless the host has no cgroup2).", cgroup.dir_monitor),
    scalar!(Cgroup, "lxc.cgroup.dir.monitor.pivot", "lxc.cgroup.dir.monitor.pivot = web/pivot",
        "Cgroup the monitor moves to at teardown so the others can be removed.", cgroup.dir_monitor_pivot),
    scalar!(Cgroup, "lxc.cgroup.dir.container.inner", "lxc.cgroup.dir.container.inner = inner",
        "A sub-cgroup that becomes the container's cgroup-namespace root; limits stay above it. \
         Without it, a container given writable cgroups (`lxc.mount.auto = cgroup`, \
         `cgroup:mixed`, `cgroup:rw`, `cgroup2`) gets one named `ns`.", cgroup.dir_container_inner),
    scalar!(Cgroup, "lxc.cgroup.relative", "lxc.cgroup.relative = 1",
        "1: never escape to the root cgroup.", cgroup.relative)
        .ignored("rlxc always places containers below the cgroup it was started in, which is \
                  what 1 asks; 0 does not make it escape to the root cgroup"),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Version {
    fn prefix(self) -> &'static str {
        match self {
            Version::V1 => "lxc.cgroup",
            Version::V2 => "lxc.cgroup2",
        }
    }

    fn settings(self, spec: &mut ContainerSpec) -> &mut Vec<CgroupSetting> {
        match self {
            Version::V1 => &mut spec.cgroup.v1,
            Version::V2 => &mut spec.cgroup.v2,
        }
    }
}

/// `controller.file` of a full key; `None` for the bare `lxc.cgroup`.
fn file_of(version: Version, key: &str) -> Result<Option<&str>, ValueError> {
    let rest = key.strip_prefix(version.prefix()).unwrap_or_default();
    let Some(file) = rest.strip_prefix('.') else {
        return Ok(None);
    };
    let well_formed = file.contains('.')
        && !file.starts_with('.')
        && !file.ends_with('.')
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !well_formed {
        return Err(ValueError(format!(
            "{} is not a cgroup file name (expected CONTROLLER.FILE, e.g. memory.max)",
            quote(file)
        )));
    }
    Ok(Some(file))
}

/// Device rules add up in order; every other file keeps only its last value.
fn accumulates(file: &str) -> bool {
    file == "devices.allow" || file == "devices.deny"
}

fn set(
    spec: &mut ContainerSpec,
    version: Version,
    key: &str,
    value: &str,
) -> Result<(), ValueError> {
    let Some(file) = file_of(version, key)? else {
        return Err(ValueError(format!(
            "{} can only be used with an empty value (to clear every {}.* setting)",
            version.prefix(),
            version.prefix()
        )));
    };
    validate_cgroup_value(version == Version::V2, file, value)?;
    // Appended only: an earlier value of the same file goes in [`settle`], once for the
    // whole config (a search here, per line, made a long config quadratic).
    version.settings(spec).push(CgroupSetting {
        key: file.to_string(),
        value: value.to_string(),
    });
    Ok(())
}

fn clear(spec: &mut ContainerSpec, version: Version, key: &str) -> Result<(), ValueError> {
    let file = file_of(version, key)?;
    let settings = version.settings(spec);
    match file {
        None => settings.clear(),
        // A mark that [`settle`] reads as "forget every earlier line of this file".
        Some(file) => settings.push(CgroupSetting {
            key: file.to_string(),
            value: String::new(),
        }),
    }
    Ok(())
}

/// What the lines appended by `set` and `clear` mean, in one pass: a file keeps its last
/// value (at the place of that last line), device rules add up, and an empty value (a
/// cleared file) drops every earlier line of its file.
pub(crate) fn settle(spec: &mut ContainerSpec) {
    for settings in [&mut spec.cgroup.v1, &mut spec.cgroup.v2] {
        let mut done: HashSet<String> = HashSet::new();
        let mut kept = Vec::with_capacity(settings.len());
        for setting in std::mem::take(settings).into_iter().rev() {
            if done.contains(&setting.key) {
                continue;
            }
            if setting.value.is_empty() || !accumulates(&setting.key) {
                done.insert(setting.key.clone());
            }
            if !setting.value.is_empty() {
                kept.push(setting);
            }
        }
        kept.reverse();
        *settings = kept;
    }
}

fn render(spec: &ContainerSpec, version: Version, out: &mut Vec<(String, String)>) {
    let settings = match version {
        Version::V1 => &spec.cgroup.v1,
        Version::V2 => &spec.cgroup.v2,
    };
    for setting in settings {
        out.push((
            format!("{}.{}", version.prefix(), setting.key),
            setting.value.clone(),
        ));
    }
}
