//! User namespace id maps (`lxc.idmap = u 0 100000 65536`).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::ValueError;

/// Whether a map is for user or group ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdKind {
    Uid,
    Gid,
}

/// `count` ids starting at `container_first` inside map to ids starting at `host_first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IdMap {
    pub kind: IdKind,
    pub container_first: u32,
    pub host_first: u32,
    pub count: u32,
}

impl FromStr for IdMap {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let fields: Vec<&str> = input.split_whitespace().collect();
        let [kind, container, host, count] = fields[..] else {
            return Err(ValueError::new(
                input,
                format!(
                    "expected 4 fields 'u|g <container first id> <host first id> <count>', e.g. 'u 0 100000 65536' (found {})",
                    fields.len()
                ),
            ));
        };
        let kind = match kind {
            "u" | "U" => IdKind::Uid,
            "g" | "G" => IdKind::Gid,
            _ => {
                return Err(ValueError::new(
                    input,
                    format!(
                        "the first field must be u (user ids) or g (group ids), not '{}'",
                        crate::limits::shorten(kind)
                    ),
                ))
            }
        };
        let container_first = super::parse_u32(input, container, "the container id")?;
        let host_first = super::parse_u32(input, host, "the host id")?;
        let count = super::parse_u32(input, count, "the count")?;
        if count == 0 {
            return Err(ValueError::new(input, "the count must be at least 1"));
        }
        // The kernel needs first + count to stay below 2^32 on both sides; id 4294967295
        // is the "no id" marker and can never be mapped.
        for (first, side) in [(container_first, "container"), (host_first, "host")] {
            if first.checked_add(count).is_none() {
                return Err(ValueError::new(
                    input,
                    format!(
                        "the {side} range {first}+{count} goes past the largest id ({})",
                        u32::MAX - 1
                    ),
                ));
            }
        }
        Ok(IdMap {
            kind,
            container_first,
            host_first,
            count,
        })
    }
}

impl fmt::Display for IdMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            IdKind::Uid => "u",
            IdKind::Gid => "g",
        };
        write!(
            f,
            "{kind} {} {} {}",
            self.container_first, self.host_first, self.count
        )
    }
}

/// The most lines a `uid_map` or `gid_map` takes (Linux 4.15 and later).
pub const MAX_MAP_LINES: usize = 340;

/// The host id that `container_id` of `kind` maps to, if any map covers it.
pub fn host_id(maps: &[IdMap], kind: IdKind, container_id: u32) -> Option<u32> {
    maps.iter()
        .filter(|m| m.kind == kind)
        .find(|m| container_id >= m.container_first && container_id - m.container_first < m.count)
        .map(|m| m.host_first + (container_id - m.container_first))
}

/// Checks a container's maps as a whole, as the kernel will when they are written, but with
/// a message a user can act on: both kinds given, root mapped in each (the container's init
/// runs as its root), no two ranges of a kind overlapping on either side, and no more lines
/// than `uid_map` takes. No maps at all is fine: the container gets no user namespace.
pub fn check_id_maps(maps: &[IdMap]) -> Result<(), String> {
    if maps.is_empty() {
        return Ok(());
    }
    for (kind, letter, other) in [(IdKind::Uid, "u", "g"), (IdKind::Gid, "g", "u")] {
        let of_kind: Vec<&IdMap> = maps.iter().filter(|m| m.kind == kind).collect();
        if of_kind.is_empty() {
            return Err(format!(
                "there are {other} ranges but no {letter} range: a user namespace needs both, \
                 e.g. 'lxc.idmap = {letter} 0 100000 65536'"
            ));
        }
        if of_kind.len() > MAX_MAP_LINES {
            return Err(format!(
                "{} {letter} ranges; the kernel takes at most {MAX_MAP_LINES}",
                of_kind.len()
            ));
        }
        if host_id(maps, kind, 0).is_none() {
            return Err(format!(
                "no {letter} range maps the container's id 0 (root): the container's init \
                 runs as root, e.g. 'lxc.idmap = {letter} 0 100000 65536'"
            ));
        }
        for (i, a) in of_kind.iter().enumerate() {
            for b in &of_kind[i + 1..] {
                let side = if overlaps(a.container_first, b.container_first, a.count, b.count) {
                    Some("container")
                } else if overlaps(a.host_first, b.host_first, a.count, b.count) {
                    Some("host")
                } else {
                    None
                };
                if let Some(side) = side {
                    return Err(format!("'{a}' and '{b}' overlap on the {side} side"));
                }
            }
        }
    }
    Ok(())
}

fn overlaps(a_first: u32, b_first: u32, a_count: u32, b_count: u32) -> bool {
    let (a_end, b_end) = (
        u64::from(a_first) + u64::from(a_count),
        u64::from(b_first) + u64::from(b_count),
    );
    u64::from(a_first) < b_end && u64::from(b_first) < a_end
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_maps() {
        let m: IdMap = "u 0 100000 65536".parse().unwrap();
        assert_eq!(
            m,
            IdMap {
                kind: IdKind::Uid,
                container_first: 0,
                host_first: 100000,
                count: 65536
            }
        );
        assert_eq!(m.to_string(), "u 0 100000 65536");
        assert_eq!("g  0\t100000 1".parse::<IdMap>().unwrap().kind, IdKind::Gid);
        assert!("u 0 4294967294 1".parse::<IdMap>().is_ok());
    }

    #[test]
    fn rejects_bad_maps() {
        let why = |s: &str| s.parse::<IdMap>().unwrap_err().0;
        assert!(why("u 0 100000 0").contains("at least 1"));
        assert!(why("u 0 4294967295 1").contains("host range"));
        assert!(why("g 4294967000 0 1000").contains("container range"));
        assert!(why("x 0 0 1").contains("u (user ids) or g"));
        assert!(why("u 0 100000").contains("found 3"));
        assert!(why("u 0 100000 65536 1").contains("found 5"));
        assert!(why("u -1 0 1").contains("whole number"));
        assert!(why("u 0 0 99999999999").contains("too large"));
    }

    fn maps(text: &str) -> Vec<IdMap> {
        text.split(',').map(|m| m.parse().unwrap()).collect()
    }

    #[test]
    fn whole_sets_are_checked() {
        assert!(check_id_maps(&[]).is_ok());
        assert!(check_id_maps(&maps("u 0 100000 65536,g 0 100000 65536")).is_ok());
        // Disjoint pieces, root mapped on its own: fine.
        assert!(check_id_maps(&maps(
            "u 0 100000 1000,u 1000 1000 1,u 1001 101001 64535,g 0 100000 65536"
        ))
        .is_ok());
        let why = |text: &str| check_id_maps(&maps(text)).unwrap_err();
        assert!(why("u 0 100000 65536").contains("no g range"));
        assert!(why("g 0 100000 65536").contains("no u range"));
        assert!(why("u 1 100000 65536,g 0 100000 65536").contains("id 0 (root)"));
        assert!(why("u 0 100000 10,u 5 200000 10,g 0 1 1").contains("container side"));
        assert!(why("u 0 100000 10,u 10 100005 10,g 0 1 1").contains("host side"));
    }

    #[test]
    fn host_ids_follow_the_ranges() {
        let m = maps("u 0 100000 1000,u 1000 5000 10,g 0 300000 65536");
        assert_eq!(host_id(&m, IdKind::Uid, 0), Some(100000));
        assert_eq!(host_id(&m, IdKind::Uid, 999), Some(100999));
        assert_eq!(host_id(&m, IdKind::Uid, 1005), Some(5005));
        assert_eq!(host_id(&m, IdKind::Uid, 1010), None);
        assert_eq!(host_id(&m, IdKind::Gid, 5), Some(300005));
    }

    proptest! {
        #[test]
        fn overlap_is_symmetric_and_exact(a in 0u32..1000, b in 0u32..1000, n in 1u32..100, k in 1u32..100) {
            let brute = (a..a + n).any(|x| (b..b + k).contains(&x));
            prop_assert_eq!(overlaps(a, b, n, k), brute);
            prop_assert_eq!(overlaps(b, a, k, n), brute);
        }
    }

    proptest! {
        #[test]
        fn round_trips(uid in any::<bool>(), c in any::<u32>(), h in any::<u32>(), n in 1u32..) {
            let count = n.min(u32::MAX - c.max(h));
            prop_assume!(count > 0);
            let m = IdMap { kind: if uid { IdKind::Uid } else { IdKind::Gid }, container_first: c, host_first: h, count };
            prop_assert_eq!(m.to_string().parse::<IdMap>(), Ok(m));
        }
    }
}
