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
                    format!("the first field must be u (user ids) or g (group ids), not '{kind}'"),
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
