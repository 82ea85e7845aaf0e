//! Just enough of `/proc/PID/mountinfo` (proc(5)) to find cgroup mounts.

use std::path::PathBuf;

use crate::Error;

/// One line of mountinfo, reduced to what the cgroup code needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    /// The path inside the filesystem that is mounted (not `/` under a cgroup namespace).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// Per-superblock options; for cgroup v1 these name the controllers.
    pub super_options: String,
}

pub(crate) fn parse(text: &str) -> Result<Vec<MountEntry>, Error> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| parse_line(line).map_err(|reason| malformed(index + 1, line, reason)))
        .collect()
}

fn malformed(line_number: usize, line: &str, reason: &'static str) -> Error {
    Error::MalformedMountinfo {
        line_number,
        line: line.to_owned(),
        reason,
    }
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`: six
/// fixed fields, any number of optional fields, a lone `-`, then type, source, super options.
fn parse_line(line: &str) -> Result<MountEntry, &'static str> {
    let fields: Vec<&str> = line.split(' ').collect();
    let separator = fields
        .iter()
        .skip(6)
        .position(|field| *field == "-")
        .map(|position| position + 6)
        .ok_or("no ` - ` separator after six fields")?;
    let after = &fields[separator + 1..];
    let [fs_type, _source, super_options, ..] = after else {
        return Err("fewer than three fields after the separator");
    };
    Ok(MountEntry {
        root: PathBuf::from(unescape(fields[3])),
        mount_point: PathBuf::from(unescape(fields[4])),
        fs_type: (*fs_type).to_owned(),
        super_options: (*super_options).to_owned(),
    })
}

/// The kernel writes space, tab, newline and backslash in paths as three-digit octal escapes.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let octal = bytes.get(index + 1..index + 4).and_then(|digits| {
            let text = std::str::from_utf8(digits).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[index], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                index += 4;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_optional_fields_and_escapes() {
        let entries = parse(
            "36 35 98:0 / /mnt/with\\040space rw,noatime shared:1 master:2 - cgroup cgroup rw,cpu\n",
        )
        .expect("valid line");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].mount_point, PathBuf::from("/mnt/with space"));
        assert_eq!(entries[0].fs_type, "cgroup");
        assert_eq!(entries[0].super_options, "rw,cpu");
    }

    #[test]
    fn reports_the_bad_line() {
        let error = parse("1 2 0:1 / /a rw - tmpfs tmpfs rw\n1 2 3\n").expect_err("bad line");
        assert!(matches!(
            error,
            Error::MalformedMountinfo { line_number: 2, .. }
        ));
    }
}
