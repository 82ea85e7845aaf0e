//! One fstab-style line, as in `lxc.mount.entry` and `lxc.mount.fstab` files.

use std::fmt;
use std::str::FromStr;

use super::ValueError;
use crate::limits::shorten;

keyword_enum! {
    /// Mount options that become `mount(2)` flags rather than filesystem data.
    pub enum MountFlag {
        Ro = "ro", Rw = "rw", Nosuid = "nosuid", Suid = "suid", Nodev = "nodev", Dev = "dev",
        Noexec = "noexec", Exec = "exec", Sync = "sync", Async = "async", Remount = "remount",
        Mand = "mand", Nomand = "nomand", Dirsync = "dirsync", Noatime = "noatime",
        Atime = "atime", Nodiratime = "nodiratime", Diratime = "diratime", Bind = "bind",
        Rbind = "rbind", Relatime = "relatime", Norelatime = "norelatime",
        Strictatime = "strictatime", Lazytime = "lazytime", Defaults = "defaults",
        Silent = "silent", Loud = "loud",
    }
}

keyword_enum! {
    /// Mount propagation options, applied after the mount itself.
    pub enum Propagation {
        Private = "private", Rprivate = "rprivate", Shared = "shared", Rshared = "rshared",
        Slave = "slave", Rslave = "rslave", Unbindable = "unbindable",
        Runbindable = "runbindable",
    }
}

/// What `create=` makes at the target before mounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CreateKind {
    Dir,
    File,
}

/// One comma-separated word of the options field, classified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MountOption {
    Flag(MountFlag),
    Propagation(Propagation),
    /// LXC: `create=dir` / `create=file`.
    Create(CreateKind),
    /// LXC: `optional` — a failing mount is not an error.
    Optional,
    /// LXC: `relative` — the source is relative to the rootfs.
    Relative,
    /// LXC: `idmap=<path to a user namespace>|container` — an idmapped bind mount.
    Idmap(String),
    /// Anything else, passed to the filesystem as data (`size=256m`, `mode=1777`).
    Data(String),
}

impl MountOption {
    fn parse(input: &str, word: &str) -> Result<Self, ValueError> {
        if let Some(f) = MountFlag::from_word(word).filter(|f| f.name() == word) {
            return Ok(MountOption::Flag(f));
        }
        if let Some(p) = Propagation::from_word(word).filter(|p| p.name() == word) {
            return Ok(MountOption::Propagation(p));
        }
        match word {
            "optional" => return Ok(MountOption::Optional),
            "relative" => return Ok(MountOption::Relative),
            _ => {}
        }
        if let Some(kind) = word.strip_prefix("create=") {
            return match kind {
                "dir" => Ok(MountOption::Create(CreateKind::Dir)),
                "file" => Ok(MountOption::Create(CreateKind::File)),
                _ => Err(ValueError::new(
                    input,
                    format!("'{}': create= takes dir or file", shorten(word)),
                )),
            };
        }
        if let Some(path) = word.strip_prefix("idmap=") {
            if path.is_empty() {
                return Err(ValueError::new(
                    input,
                    "idmap= needs a user namespace path or the word container",
                ));
            }
            return Ok(MountOption::Idmap(path.to_string()));
        }
        Ok(MountOption::Data(word.to_string()))
    }
}

impl fmt::Display for MountOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MountOption::Flag(x) => x.fmt(f),
            MountOption::Propagation(p) => p.fmt(f),
            MountOption::Create(CreateKind::Dir) => f.write_str("create=dir"),
            MountOption::Create(CreateKind::File) => f.write_str("create=file"),
            MountOption::Optional => f.write_str("optional"),
            MountOption::Relative => f.write_str("relative"),
            MountOption::Idmap(p) => write!(f, "idmap={p}"),
            MountOption::Data(d) => f.write_str(d),
        }
    }
}

/// `source target fstype [options [dump [pass]]]`, with fstab's octal escapes (`\040` for a
/// space) decoded in the first three fields. Options keep their written order so the line
/// round-trips; the accessors sort them by role.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MountEntry {
    pub source: String,
    /// Usually relative to the container's root; see [`MountEntry::target_escapes`].
    pub target: String,
    pub fstype: String,
    /// Empty when the options field was left out. Display writes `defaults` if this is
    /// empty while dump or pass is not 0, since the field cannot be skipped then.
    pub options: Vec<MountOption>,
    pub dump: u32,
    pub pass: u32,
}

impl MountEntry {
    /// The mount flags, in order.
    pub fn flags(&self) -> impl Iterator<Item = MountFlag> + '_ {
        self.options.iter().filter_map(|o| match o {
            MountOption::Flag(f) => Some(*f),
            _ => None,
        })
    }

    /// The propagation options, in order.
    pub fn propagation(&self) -> impl Iterator<Item = Propagation> + '_ {
        self.options.iter().filter_map(|o| match o {
            MountOption::Propagation(p) => Some(*p),
            _ => None,
        })
    }

    /// The filesystem data string for `mount(2)`, e.g. `mode=1777,size=256m`.
    pub fn data(&self) -> String {
        let words: Vec<&str> = self
            .options
            .iter()
            .filter_map(|o| match o {
                MountOption::Data(d) => Some(d.as_str()),
                _ => None,
            })
            .collect();
        words.join(",")
    }

    /// `create=`, the last one written if several.
    pub fn create(&self) -> Option<CreateKind> {
        self.options.iter().rev().find_map(|o| match o {
            MountOption::Create(k) => Some(*k),
            _ => None,
        })
    }

    pub fn optional(&self) -> bool {
        self.options.contains(&MountOption::Optional)
    }

    pub fn relative(&self) -> bool {
        self.options.contains(&MountOption::Relative)
    }

    /// `idmap=`, the last one written if several.
    pub fn idmap(&self) -> Option<&str> {
        self.options.iter().rev().find_map(|o| match o {
            MountOption::Idmap(p) => Some(p.as_str()),
            _ => None,
        })
    }

    /// True if the target has a `..` component, which could climb out of the container's
    /// root; the runtime refuses such entries.
    pub fn target_escapes(&self) -> bool {
        self.target.split('/').any(|c| c == "..")
    }
}

/// Decodes fstab's `\NNN` octal escapes. Only escapes of ASCII characters are decoded, so
/// the result stays valid UTF-8; any other backslash is kept as written.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = String::with_capacity(field.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if let Some(code) = bytes
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)))
                .map(|d| d.iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0')))
                .filter(|c| *c < 0x80)
                .and_then(char::from_u32)
            {
                out.push(code);
                i += 4;
                continue;
            }
        }
        // Copy one whole character (fields are UTF-8 and escapes are ASCII).
        let ch_len = field[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&field[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// Escapes what would otherwise split or end a field.
fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            _ => out.push(c),
        }
    }
    out
}

impl FromStr for MountEntry {
    type Err = ValueError;

    fn from_str(input: &str) -> Result<Self, ValueError> {
        let fields: Vec<&str> = input.split_whitespace().collect();
        if !(3..=6).contains(&fields.len()) {
            return Err(ValueError::new(
                input,
                format!(
                    "expected 'source target fstype [options [dump [pass]]]', 3 to 6 fields (found {}); write spaces inside a path as \\040",
                    fields.len()
                ),
            ));
        }
        let options = match fields.get(3) {
            Some(opts) => opts
                .split(',')
                .filter(|w| !w.is_empty())
                .map(|w| MountOption::parse(input, w))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let number = |i: usize, what: &str| match fields.get(i) {
            Some(f) => super::parse_u32(input, f, what),
            None => Ok(0),
        };
        let entry = MountEntry {
            source: unescape(fields[0]),
            target: unescape(fields[1]),
            fstype: unescape(fields[2]),
            options,
            dump: number(4, "the dump field")?,
            pass: number(5, "the pass field")?,
        };
        // The target is inside the rootfs; a `..` could climb out of it (and `create=dir`
        // would then make directories on the host). Refused here, so `config check` says
        // so and a start stops before anything exists; the runtime refuses it again.
        if entry.target_escapes() {
            return Err(ValueError::new(
                input,
                "the target has a '..' component, which could leave the rootfs",
            ));
        }
        Ok(entry)
    }
}

impl fmt::Display for MountEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            escape(&self.source),
            escape(&self.target),
            escape(&self.fstype)
        )?;
        if self.options.is_empty() && self.dump == 0 && self.pass == 0 {
            return Ok(());
        }
        f.write_str(" ")?;
        if self.options.is_empty() {
            f.write_str("defaults")?;
        }
        for (i, o) in self.options.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            o.fmt(f)?;
        }
        write!(f, " {} {}", self.dump, self.pass)
    }
}

serialize_display!(MountEntry, MountOption);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(s: &str) -> MountEntry {
        s.parse().unwrap_or_else(|e: ValueError| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_seed_entries() {
        let shm = entry(
            "shm dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,mode=1777,size=256m,create=dir 0 0",
        );
        assert_eq!(
            (
                shm.source.as_str(),
                shm.target.as_str(),
                shm.fstype.as_str()
            ),
            ("shm", "dev/shm", "tmpfs")
        );
        use MountFlag::*;
        assert_eq!(
            shm.flags().collect::<Vec<_>>(),
            vec![Rw, Nosuid, Nodev, Noexec, Relatime]
        );
        assert_eq!(shm.data(), "mode=1777,size=256m");
        assert_eq!(shm.create(), Some(CreateKind::Dir));
        assert!(!shm.optional());
        assert_eq!(
            shm.to_string(),
            "shm dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,mode=1777,size=256m,create=dir 0 0"
        );
        let proc_ = entry("proc proc proc nosuid,nodev,noexec  0 0");
        assert_eq!(proc_.to_string(), "proc proc proc nosuid,nodev,noexec 0 0");
        let sys = entry("sysfs sys sysfs nosuid,nodev,noexec,ro 0 0");
        assert!(sys.flags().any(|f| f == Ro));
        let run = entry("tmpfs run tmpfs nosuid,nodev,noexec,mode=0755,size=128m 0 0");
        assert_eq!(run.data(), "mode=0755,size=128m");
        let bind = entry("/srv/funtoo0 /lxc/funtoo0/rootfs/srv/funtoo0 none defaults,bind 0 0");
        assert_eq!(bind.flags().collect::<Vec<_>>(), vec![Defaults, Bind]);
    }

    #[test]
    fn lxc_options_and_escapes() {
        let e = entry(
            "/a\\040b mnt/x\\011y none bind,optional,relative,idmap=container,rslave,create=file",
        );
        assert_eq!(e.source, "/a b");
        assert_eq!(e.target, "mnt/x\ty");
        assert!(e.optional() && e.relative());
        assert_eq!(e.idmap(), Some("container"));
        assert_eq!(e.create(), Some(CreateKind::File));
        assert_eq!(
            e.propagation().collect::<Vec<_>>(),
            vec![Propagation::Rslave]
        );
        assert_eq!((e.dump, e.pass), (0, 0));
        assert_eq!(e.to_string(), "/a\\040b mnt/x\\011y none bind,optional,relative,idmap=container,rslave,create=file 0 0");
        assert_eq!(entry("a\\134b\\q c d").source, "a\\b\\q");
        assert_eq!(entry("a b c").to_string(), "a b c");
        assert_eq!(entry("a b c opt 1").pass, 0);
    }

    #[test]
    fn escaping_targets() {
        for text in ["/x ../etc none bind", "/x a/../../b none bind"] {
            let error = text.parse::<MountEntry>().expect_err(text);
            assert!(error.to_string().contains("'..' component"), "{error}");
        }
        assert!(!entry("/x a/..b none bind").target_escapes());
        assert!(!entry("/x dev/shm none bind").target_escapes());
    }

    #[test]
    fn rejects_bad_lines() {
        let why = |s: &str| s.parse::<MountEntry>().unwrap_err().0;
        assert!(why("a b").contains("found 2"));
        assert!(why("a b c d 0 0 x").contains("found 7"));
        assert!(why("a b c d x 0").contains("dump"));
        assert!(why("a b c d 0 -1").contains("pass"));
        assert!(why("a b c create=fifo").contains("dir or file"));
        assert!(why("a b c idmap=").contains("idmap="));
    }

    fn arb_option() -> impl Strategy<Value = MountOption> {
        prop_oneof![
            proptest::sample::select(MountFlag::ALL).prop_map(MountOption::Flag),
            proptest::sample::select(Propagation::ALL).prop_map(MountOption::Propagation),
            Just(MountOption::Create(CreateKind::Dir)),
            Just(MountOption::Create(CreateKind::File)),
            Just(MountOption::Optional),
            Just(MountOption::Relative),
            "[a-z/]{1,8}".prop_map(MountOption::Idmap),
            "(size|mode|uid)=[0-9a-z]{1,5}".prop_map(MountOption::Data),
        ]
    }

    proptest! {
        #[test]
        fn round_trips(
            source in "[a-z/ \\\\\t]{1,10}",
            target in "[a-z/. ]{1,10}",
            fstype in "[a-z0-9]{1,6}",
            options in proptest::collection::vec(arb_option(), 0..6),
            dump in any::<u32>(),
            pass in any::<u32>(),
        ) {
            let e = MountEntry { source, target, fstype, options, dump, pass };
            let back = e.to_string().parse::<MountEntry>();
            if e.target_escapes() {
                // Refused on parse (see from_str): nothing to round-trip.
                prop_assert!(back.is_err());
            } else if e.options.is_empty() && (dump, pass) != (0, 0) {
                // Display had to write `defaults` to reach the dump/pass fields.
                let mut with_defaults = e.clone();
                with_defaults.options.push(MountOption::Flag(MountFlag::Defaults));
                prop_assert_eq!(back, Ok(with_defaults));
            } else {
                prop_assert_eq!(back, Ok(e));
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<MountEntry>();
        }
    }
}
