//! Namespaces and id maps, resource limits and kernel parameters, init and its environment.

use std::collections::BTreeMap;

use super::macros::{list, scalar, KeyValue};
use super::{KeyDef, Section, Support};
use crate::limits::quote;
use crate::values::{Namespace, PrLimit, Resource, ValueError};

pub(super) static NAMESPACE_KEYS: &[KeyDef] = &[
    list!(Namespaces, "lxc.idmap", "lxc.idmap = u 0 100000 65536",
        "`u|g CONTAINER_ID HOST_ID COUNT`: map ids into a new user namespace; repeatable.", idmaps),
    scalar!(Namespaces, "lxc.namespace.clone", "lxc.namespace.clone = mnt pid uts ipc net",
        "Exactly which namespaces to create (cgroup ipc mnt net pid time user uts).", namespaces.clone),
    scalar!(Namespaces, "lxc.namespace.keep", "lxc.namespace.keep = net",
        "Namespaces to keep from the host instead of creating them.", namespaces.keep),
    KeyDef {
        name: "lxc.namespace.share",
        prefix: true,
        list: false,
        section: Section::Namespaces,
        legacy: &[],
        doc: "`lxc.namespace.share.NS = NAME|PID|PATH`: join that namespace of another container or process.",
        example: "lxc.namespace.share.net = web",
        support: Support::Partly("net, ipc, uts and pid; other namespaces are refused at start"),
        set: |spec, key, value| {
            let ns = suffix_of("lxc.namespace.share", key)?.parse::<Namespace>()?;
            spec.namespaces.share.insert(ns, value.to_string());
            Ok(())
        },
        clear: |spec, key| {
            match suffix_of("lxc.namespace.share", key) {
                Ok(ns) => {
                    spec.namespaces.share.remove(&ns.parse::<Namespace>()?);
                }
                Err(_) => spec.namespaces.share.clear(),
            }
            Ok(())
        },
        render: |spec, out| {
            for (ns, target) in &spec.namespaces.share {
                out.push((format!("lxc.namespace.share.{ns}"), target.clone()));
            }
        },
    },
    scalar!(Namespaces, "lxc.time.offset.boot", "lxc.time.offset.boot = -5h",
        "CLOCK_BOOTTIME offset in the container's time namespace (unit required: h m s ms us ns).", time_offsets.boot),
    scalar!(Namespaces, "lxc.time.offset.monotonic", "lxc.time.offset.monotonic = 10s",
        "CLOCK_MONOTONIC offset in the container's time namespace.", time_offsets.monotonic),
];

pub(super) static RESOURCE_KEYS: &[KeyDef] = &[
    KeyDef {
        name: "lxc.prlimit",
        prefix: true,
        list: false,
        section: Section::Resources,
        legacy: &["lxc.limit"],
        doc: "`lxc.prlimit.RESOURCE = SOFT[:HARD]` (nofile, nproc, ...; `unlimited`) for the container's init.",
        example: "lxc.prlimit.nofile = 1024:4096",
        support: Support::Supported,
        set: |spec, key, value| {
            let resource = suffix_of("lxc.prlimit", key)?.parse::<Resource>()?;
            spec.prlimits.insert(resource, value.parse::<PrLimit>()?);
            Ok(())
        },
        clear: |spec, key| match suffix_of("lxc.prlimit", key) {
            Ok(name) => {
                spec.prlimits.remove(&name.parse::<Resource>()?);
                Ok(())
            }
            Err(_) => {
                spec.prlimits.clear();
                Ok(())
            }
        },
        render: |spec, out| {
            for (resource, limit) in &spec.prlimits {
                out.push((format!("lxc.prlimit.{resource}"), limit.to_string()));
            }
        },
    },
    KeyDef {
        name: "lxc.sysctl",
        prefix: true,
        list: false,
        section: Section::Resources,
        legacy: &[],
        doc: "`lxc.sysctl.NAME = VALUE` writes `/proc/sys/NAME` (dots become slashes) inside the container.",
        example: "lxc.sysctl.net.ipv4.ip_forward = 1",
        support: Support::Supported,
        set: |spec, key, value| {
            let name = checked_name("lxc.sysctl", key)?;
            spec.sysctls.insert(name, value.to_string());
            Ok(())
        },
        clear: |spec, key| {
            clear_named(&mut spec.sysctls, "lxc.sysctl", key);
            Ok(())
        },
        render: |spec, out| render_named(&spec.sysctls, "lxc.sysctl", out),
    },
    KeyDef {
        name: "lxc.proc",
        prefix: true,
        list: false,
        section: Section::Resources,
        legacy: &[],
        doc: "`lxc.proc.FILE = VALUE` writes `/proc/<init>/FILE` (e.g. `oom_score_adj`).",
        example: "lxc.proc.oom_score_adj = 10",
        support: Support::Supported,
        set: |spec, key, value| {
            let name = checked_name("lxc.proc", key)?;
            if name.contains('.') {
                return Err(ValueError(format!(
                    "{} is not a file of /proc/PID/",
                    quote(&name)
                )));
            }
            spec.proc_settings.insert(name, value.to_string());
            Ok(())
        },
        clear: |spec, key| {
            clear_named(&mut spec.proc_settings, "lxc.proc", key);
            Ok(())
        },
        render: |spec, out| render_named(&spec.proc_settings, "lxc.proc", out),
    },
    scalar!(Resources, "lxc.sched.core", "lxc.sched.core = 1",
        "1: put the container in its own core-scheduling domain (attached commands join it); \
         refused where the kernel or CPU has no core scheduling.", sched_core),
];

pub(super) static INIT_KEYS: &[KeyDef] = &[
    scalar!(
        Init,
        "lxc.init.cmd",
        ["lxc.init_cmd"],
        "lxc.init.cmd = /sbin/init",
        "The container's init and its arguments (default `/sbin/init`).",
        init.cmd
    ),
    scalar!(
        Init,
        "lxc.execute.cmd",
        "lxc.execute.cmd = /bin/sh -c 'echo hi'",
        "The default command of `rlxc execute`.",
        init.execute_cmd
    ),
    scalar!(
        Init,
        "lxc.init.cwd",
        "lxc.init.cwd = /",
        "Working directory of init.",
        init.cwd
    ),
    scalar!(
        Init,
        "lxc.init.uid",
        ["lxc.init_uid"],
        "lxc.init.uid = 0",
        "User id init runs as (and the default of attach).",
        init.uid
    ),
    scalar!(
        Init,
        "lxc.init.gid",
        ["lxc.init_gid"],
        "lxc.init.gid = 0",
        "Group id init runs as.",
        init.gid
    ),
    KeyDef {
        name: "lxc.init.groups",
        prefix: false,
        list: true,
        section: Section::Init,
        legacy: &[],
        doc: "Supplementary group ids of init, comma-separated; repeatable.",
        example: "lxc.init.groups = 10,20",
        support: Support::Supported,
        set: |spec, _, value| {
            for gid in value.split(',').map(str::trim) {
                spec.init.groups.push(u32::parse_value(gid)?);
            }
            Ok(())
        },
        clear: |spec, _| {
            spec.init.groups.clear();
            Ok(())
        },
        render: |spec, out| {
            if !spec.init.groups.is_empty() {
                let gids: Vec<String> = spec.init.groups.iter().map(u32::to_string).collect();
                out.push(("lxc.init.groups".into(), gids.join(",")));
            }
        },
    },
    KeyDef {
        name: "lxc.environment",
        prefix: false,
        list: true,
        section: Section::Init,
        legacy: &[],
        doc:
            "`NAME=VALUE` in init's environment; a bare `NAME` copies the host's value; repeatable.",
        example: "lxc.environment = LANG=C.UTF-8",
        support: Support::Supported,
        set: |spec, _, value| {
            let name = value.split_once('=').map_or(value, |(name, _)| name);
            if name.is_empty() || name.chars().any(char::is_whitespace) {
                return Err(ValueError(format!(
                    "{} is not NAME=VALUE (or a bare NAME to copy from the host)",
                    quote(value)
                )));
            }
            spec.environment.push(value.to_string());
            Ok(())
        },
        clear: |spec, _| {
            spec.environment.clear();
            Ok(())
        },
        render: |spec, out| {
            for var in &spec.environment {
                out.push(("lxc.environment".into(), var.clone()));
            }
        },
    },
];

/// The part after `prefix.` of a prefix key; an error for the bare prefix.
fn suffix_of<'k>(prefix: &str, key: &'k str) -> Result<&'k str, ValueError> {
    key.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|rest| !rest.is_empty())
        .ok_or_else(|| ValueError(format!("{prefix} needs a name after it ({prefix}.NAME)")))
}

/// A sysctl or /proc name: it must not climb out of its directory.
fn checked_name(prefix: &str, key: &str) -> Result<String, ValueError> {
    let name = suffix_of(prefix, key)?;
    let safe = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.contains("..");
    if !safe {
        return Err(ValueError(format!(
            "{} is not a valid name (letters, digits, _ - and single dots only)",
            quote(name)
        )));
    }
    Ok(name.to_string())
}

fn clear_named(map: &mut BTreeMap<String, String>, prefix: &str, key: &str) {
    match suffix_of(prefix, key) {
        Ok(name) => {
            map.remove(name);
        }
        Err(_) => map.clear(),
    }
}

fn render_named(map: &BTreeMap<String, String>, prefix: &str, out: &mut Vec<(String, String)>) {
    for (name, value) in map {
        out.push((format!("{prefix}.{name}"), value.clone()));
    }
}
