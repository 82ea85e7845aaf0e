//! The id maps of a container's user namespace, written by the monitor (root on the host) to
//! `/proc/PID/uid_map` and `gid_map` of the new child before it may go on.
//!
//! No `newuidmap`/`newgidmap`: they exist so that an unprivileged user can write maps within
//! their `/etc/subuid` ranges; rlxc runs as root, and root in the parent namespace may write
//! any map itself. `setgroups` is left at `allow`: the kernel demands `deny` only when the
//! writer of `gid_map` lacks CAP_SETGID in the parent namespace, which root has. With `allow`,
//! init's first step inside is `setgroups` to drop the supplementary groups it inherited from
//! the host (unmapped inside, yet still counted in permission checks), and `lxc.init.groups`
//! works; the groups it can set are only ids of its own range, so no "negative" group
//! permission of a host file can be escaped that way (the reason `deny` exists).

use std::io::Write;

use rlxc_config::values::{host_id, IdKind, IdMap};

/// A map file's text must be shorter than a page (the kernel takes it in one write).
const MAX_MAP_TEXT: usize = 4095;

/// One `uid_map` or `gid_map` text: `CONTAINER HOST COUNT` per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMapText(pub String);

/// Everything the start needs to give init a user namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMapPlan {
    pub uid_map: IdMapText,
    pub gid_map: IdMapText,
    /// The host ids of the container's root: owner of its rootfs and its cgroups.
    pub root_uid: u32,
    pub root_gid: u32,
}

impl IdMapPlan {
    /// The plan for `maps` (already checked as a whole by the config loader), or `None`
    /// without maps: no maps, no user namespace, as in LXC.
    pub fn from_maps(maps: &[IdMap]) -> Result<Option<IdMapPlan>, String> {
        if maps.is_empty() {
            return Ok(None);
        }
        let root = |kind, letter| {
            host_id(maps, kind, 0).ok_or_else(|| format!("lxc.idmap: no {letter} range maps id 0"))
        };
        Ok(Some(IdMapPlan {
            uid_map: map_text(maps, IdKind::Uid)?,
            gid_map: map_text(maps, IdKind::Gid)?,
            root_uid: root(IdKind::Uid, "u")?,
            root_gid: root(IdKind::Gid, "g")?,
        }))
    }

    /// Writes `uid_map`, then `gid_map`, of process `pid` (a child still waiting for `Go`).
    pub fn write(&self, pid: i32) -> std::io::Result<()> {
        for (file, text) in [("uid_map", &self.uid_map), ("gid_map", &self.gid_map)] {
            let path = format!("/proc/{pid}/{file}");
            let mut map = std::fs::OpenOptions::new().write(true).open(&path)?;
            // One write: the kernel refuses a second write to a map file.
            map.write_all(text.0.as_bytes())
                .map_err(|e| std::io::Error::new(e.kind(), format!("{path}: {e}")))?;
        }
        Ok(())
    }
}

fn map_text(maps: &[IdMap], kind: IdKind) -> Result<IdMapText, String> {
    let text: String = maps
        .iter()
        .filter(|m| m.kind == kind)
        .map(|m| format!("{} {} {}\n", m.container_first, m.host_first, m.count))
        .collect();
    if text.len() > MAX_MAP_TEXT {
        return Err(format!(
            "lxc.idmap: the {} map is {} bytes; the kernel takes at most {MAX_MAP_TEXT}",
            if kind == IdKind::Uid { "uid" } else { "gid" },
            text.len()
        ));
    }
    Ok(IdMapText(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(text: &str) -> Vec<IdMap> {
        text.split(',').map(|m| m.parse().expect("map")).collect()
    }

    #[test]
    fn plans_split_the_kinds_and_find_root() {
        let plan = IdMapPlan::from_maps(&maps("u 0 200000 1000,g 0 300000 65536,u 1000 1000 1"))
            .expect("plan")
            .expect("some");
        assert_eq!(plan.uid_map.0, "0 200000 1000\n1000 1000 1\n");
        assert_eq!(plan.gid_map.0, "0 300000 65536\n");
        assert_eq!((plan.root_uid, plan.root_gid), (200000, 300000));
        assert_eq!(IdMapPlan::from_maps(&[]), Ok(None));
    }

    #[test]
    fn a_map_longer_than_a_page_is_refused() {
        let many: Vec<String> = (0..340)
            .map(|i| format!("u {} {} 1", 4_000_000_000u32 + i, 3_000_000_000u32 + i))
            .chain(["u 0 100000 1".to_string(), "g 0 100000 1".to_string()])
            .collect();
        let error = IdMapPlan::from_maps(&maps(&many.join(","))).expect_err("too long");
        assert!(error.contains("uid map"), "{error}");
    }
}
