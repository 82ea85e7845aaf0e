//! The security section of `rlxc config check`: settings that open a way out of the container
//! or onto the host, each with the reason. It only reports; it never changes the config.

use crate::spec::ContainerSpec;
use crate::values::{Capability, CgroupAuto, CgroupMode, DeviceKind, DeviceRule};

/// One risky setting and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The setting as the user would look for it in the config.
    pub setting: String,
    pub risk: &'static str,
}

/// Everything risky in `spec`, most severe first.
pub fn audit(spec: &ContainerSpec) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mknod = keeps(spec, Capability::Mknod);
    if let Some(rule) = console_rule(spec) {
        if mknod {
            findings.push(Finding {
                setting: rule,
                risk:
                    "with mknod kept, the container could create c 5:1 and open the host's console \
                       (LXC lets it; rlxc denies 5:1 last, whatever the rules)",
            });
        }
    } else if no_device_policy(spec) && mknod {
        findings.push(Finding {
            setting: "no lxc.cgroup.devices.* rules".into(),
            risk: "with mknod kept, every device node could be created and opened, host disks \
                   included (LXC lets it; rlxc applies LXC's common.conf device list instead)",
        });
    }
    for (cap, risk) in [
        (
            Capability::DacReadSearch,
            "with open_by_handle_at it reads any host file (the \"shocker\" escape; rlxc's default seccomp policy denies that call)",
        ),
        (
            Capability::SysAdmin,
            "mount, namespaces and most of the kernel's admin interfaces are open to the container",
        ),
    ] {
        if keeps(spec, cap) {
            findings.push(Finding {
                setting: format!("capability {} kept", cap.name()),
                risk,
            });
        }
    }
    if let Some(auto) = spec.mounts.auto.as_ref().and_then(|a| a.cgroup) {
        let writable = match auto {
            CgroupAuto::V1 { mode, .. } => mode == CgroupMode::Rw,
            CgroupAuto::V2 { ro, .. } => !ro,
        };
        if writable {
            findings.push(Finding {
                setting: format!("lxc.mount.auto = {auto}"),
                risk: "a writable cgroupfs lets the container raise its own limits",
            });
        }
    }
    let has_pids_limit = spec
        .cgroup
        .v1
        .iter()
        .chain(&spec.cgroup.v2)
        .any(|s| s.key == "pids.max" && s.value != "max");
    if !has_pids_limit {
        findings.push(Finding {
            setting: "no pids.max".into(),
            risk: "rlxc applies pids.max = 4096 (LXC none: a fork bomb takes every pid of the \
                   host); set lxc.cgroup.pids.max to what the container needs, or max",
        });
    }
    if spec.security.seccomp_profile.as_deref() == Some("") {
        findings.push(Finding {
            setting: "lxc.seccomp.profile = (empty)".into(),
            risk: "no seccomp policy: kernel keyrings, module loading, kexec and the host's kernel log are reachable",
        });
    }
    findings
}

/// Whether the container keeps `cap` in its bounding set.
fn keeps(spec: &ContainerSpec, cap: Capability) -> bool {
    match &spec.capabilities.keep {
        Some(keep) => keep.contains(&cap),
        None => !spec.capabilities.drop.contains(&cap),
    }
}

/// The device rule that lets the container read or write c 5:1, as the config wrote it.
fn console_rule(spec: &ContainerSpec) -> Option<String> {
    let settings = spec
        .cgroup
        .v1
        .iter()
        .map(|s| ("lxc.cgroup", s))
        .chain(spec.cgroup.v2.iter().map(|s| ("lxc.cgroup2", s)));
    settings
        .filter(|(_, s)| s.key == "devices.allow")
        .find(|(_, s)| {
            s.value.parse::<DeviceRule>().is_ok_and(|rule| {
                matches!(rule.kind, DeviceKind::All | DeviceKind::Char)
                    && rule.major.is_none_or(|m| m == 5)
                    && rule.minor.is_none_or(|m| m == 1)
                    && (rule.access.read || rule.access.write)
            })
        })
        .map(|(prefix, s)| format!("{prefix}.devices.allow = {}", s.value))
}

fn no_device_policy(spec: &ContainerSpec) -> bool {
    !spec
        .cgroup
        .v1
        .iter()
        .chain(&spec.cgroup.v2)
        .any(|s| s.key.starts_with("devices."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn findings(config: &str) -> Vec<String> {
        let spec = crate::load_str(config, Path::new("t.conf"))
            .expect("config")
            .spec;
        audit(&spec).into_iter().map(|f| f.setting).collect()
    }

    #[test]
    fn the_seeds_config_is_flagged_where_it_is_risky() {
        let seed = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/funtoo0.conf"),
        )
        .expect("seed");
        let found = findings(&seed);
        assert!(
            found.contains(&"lxc.cgroup.devices.allow = c 5:1 rwm".to_string()),
            "{found:?}"
        );
        assert!(
            found.contains(&"capability dac_read_search kept".to_string()),
            "{found:?}"
        );
        assert!(found.contains(&"no pids.max".to_string()), "{found:?}");
        // The seed drops sys_admin.
        assert!(!found.iter().any(|f| f.contains("sys_admin")), "{found:?}");
    }

    #[test]
    fn a_careful_config_has_no_findings() {
        let found = findings(
            "lxc.cap.drop = mknod dac_read_search sys_admin\n\
             lxc.cgroup.devices.deny = a\nlxc.cgroup.devices.allow = c 1:3 rwm\n\
             lxc.cgroup.pids.max = 500\nlxc.mount.auto = proc:mixed sys:ro cgroup:ro\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn writable_cgroupfs_and_no_seccomp_are_flagged() {
        let found = findings("lxc.mount.auto = cgroup:rw\nlxc.seccomp.profile =\n");
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("lxc.mount.auto = cgroup:rw")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.starts_with("lxc.seccomp.profile")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f == "no lxc.cgroup.devices.* rules"),
            "{found:?}"
        );
    }
}
