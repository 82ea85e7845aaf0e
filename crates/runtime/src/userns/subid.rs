//! `/etc/subuid` and `/etc/subgid` (subuid(5)): `USER:FIRST:COUNT` lines that delegate host id
//! ranges to a user. `rlxc create --idmap auto` takes root's first range from each.

use std::path::{Path, PathBuf};

/// One delegated range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubidRange {
    pub first: u32,
    pub count: u32,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubidError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}:{line}: expected USER:FIRST:COUNT, found {text:?}")]
    Malformed {
        path: PathBuf,
        line: usize,
        text: String,
    },
    #[error(
        "{path} delegates no range to {user}: add a line such as `{user}:100000:65536` \
         (and the same in the other of /etc/subuid, /etc/subgid), or give the ranges \
         explicitly, e.g. --idmap u:0:100000:65536,g:0:100000:65536"
    )]
    NoRange { path: PathBuf, user: String },
}

/// Every `(user, range)` of a subuid/subgid text, in file order. Blank lines and `#`
/// comments are skipped; a line of any other shape is an error naming it (a typo there would
/// otherwise silently hand out no range, or the wrong one).
pub fn parse_subid(text: &str, path: &Path) -> Result<Vec<(String, SubidRange)>, SubidError> {
    let mut ranges = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let malformed = || SubidError::Malformed {
            path: path.to_path_buf(),
            line: index + 1,
            text: raw.to_string(),
        };
        let mut fields = line.split(':');
        let (Some(user), Some(first), Some(count), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(malformed());
        };
        let first: u32 = first.parse().map_err(|_| malformed())?;
        let count: u32 = count.parse().map_err(|_| malformed())?;
        if user.is_empty() || count == 0 || first.checked_add(count).is_none() {
            return Err(malformed());
        }
        ranges.push((user.to_string(), SubidRange { first, count }));
    }
    Ok(ranges)
}

/// The first range `path` delegates to the user `name` or, as shadow's tools accept, to
/// their numeric id `uid`.
pub fn subid_range(path: &Path, name: &str, uid: u32) -> Result<SubidRange, SubidError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        // A missing file delegates nothing: the same advice as an empty one.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(SubidError::Read {
                path: path.to_path_buf(),
                cause: source,
            })
        }
    };
    let uid = uid.to_string();
    parse_subid(&text, path)?
        .into_iter()
        .find(|(user, _)| user == name || *user == uid)
        .map(|(_, range)| range)
        .ok_or_else(|| SubidError::NoRange {
            path: path.to_path_buf(),
            user: name.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_comments_and_numeric_users() {
        let text = "# delegated\nalice:100000:65536\n\n0:200000:65536\nroot:300000:1000\n";
        let ranges = parse_subid(text, Path::new("/etc/subuid")).expect("parse");
        assert_eq!(ranges.len(), 3);
        assert_eq!(
            ranges[1],
            (
                "0".to_string(),
                SubidRange {
                    first: 200000,
                    count: 65536
                }
            )
        );
    }

    #[test]
    fn malformed_lines_are_named() {
        for bad in [
            "root:1",
            "root:a:1",
            "root:1:0",
            ":1:1",
            "root:1:2:3",
            "root:4294967295:2",
        ] {
            let error = parse_subid(&format!("ok:1:1\n{bad}\n"), Path::new("/etc/subgid"))
                .expect_err(bad)
                .to_string();
            assert!(error.starts_with("/etc/subgid:2: "), "{bad}: {error}");
        }
    }

    #[test]
    fn the_first_range_of_the_user_or_their_uid_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("subuid");
        std::fs::write(&path, "alice:1:1\n0:200000:65536\nroot:300000:65536\n").expect("write");
        let range = subid_range(&path, "root", 0).expect("range");
        assert_eq!(range.first, 200000);
        let error = subid_range(&path, "bob", 1001)
            .expect_err("none")
            .to_string();
        assert!(error.contains("delegates no range to bob"), "{error}");
        let missing = subid_range(&dir.path().join("nope"), "root", 0).expect_err("missing");
        assert!(matches!(missing, SubidError::NoRange { .. }));
    }
}
