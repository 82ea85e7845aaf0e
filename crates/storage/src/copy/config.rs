//! The clone's config, as LXC's `lxc-copy` writes it: `lxc.uts.name` is the new name
//! (unless `-K`), `lxc.rootfs.path` the new rootfs, every `lxc.net.N.hwaddr` a new random
//! MAC with the old one's first three octets (unless `-M`), and paths below the old
//! container's directory (`lxc.mount.fstab`, hooks, logs, includes) below the new one.
//!
//! Unlike LXC, which writes the config anew from its parsed form, the text is kept: comments,
//! blank lines and order stay, only the values change.

use std::path::{Path, PathBuf};

use rlxc_config::grammar::{parse_line, Line};

/// What the clone is called and where it goes.
#[derive(Debug, Clone)]
pub struct Renaming<'a> {
    pub old_name: &'a str,
    pub new_name: &'a str,
    /// `$lxcpath/OLD` and `$newpath/NEW`.
    pub old_dir: &'a Path,
    pub new_dir: &'a Path,
    /// The new `lxc.rootfs.path` value; `None` leaves it as it is.
    pub rootfs: Option<&'a str>,
    /// `-K`: the hostname stays.
    pub keep_name: bool,
    /// `-M`: the MACs stay.
    pub keep_macs: bool,
}

/// The new config's text and the files of the old container's directory it names (to copy
/// along: an fstab, hook scripts, an included file), relative to that directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub text: String,
    pub referenced: Vec<PathBuf>,
}

/// Keys whose values may name files of the container's directory.
fn names_paths(key: &str) -> bool {
    key.starts_with("lxc.hook.")
        || key.starts_with("lxc.net.") && key.contains(".script.")
        || matches!(
            key,
            "lxc.mount.fstab"
                | "lxc.console.logfile"
                | "lxc.log.file"
                | "lxc.logfile"
                | "lxc.include"
                | "lxc.seccomp.profile"
                | "lxc.seccomp"
        )
}

/// Keys whose files are written by the container (nothing to copy).
fn is_output(key: &str) -> bool {
    matches!(key, "lxc.console.logfile" | "lxc.log.file" | "lxc.logfile")
}

fn is_hwaddr(key: &str) -> bool {
    (key.starts_with("lxc.net.") || key.starts_with("lxc.network.")) && key.ends_with(".hwaddr")
        || key == "lxc.network.hwaddr"
}

/// `text` rewritten for the clone (see the module's text).
pub fn rewrite(text: &str, renaming: &Renaming<'_>) -> Rewritten {
    let old_dir = renaming.old_dir.to_string_lossy();
    let new_dir = renaming.new_dir.to_string_lossy();
    let mut out = String::with_capacity(text.len() + 64);
    let mut referenced = Vec::new();
    let (mut saw_uts, mut saw_rootfs) = (false, false);
    for raw in text.split_inclusive('\n') {
        let Line::Entry { key, value } = parse_line(raw) else {
            out.push_str(raw);
            continue;
        };
        let new_value = match key {
            "lxc.uts.name" | "lxc.utsname" => {
                saw_uts = true;
                (!renaming.keep_name).then(|| renaming.new_name.to_string())
            }
            "lxc.rootfs.path" | "lxc.rootfs" => {
                saw_rootfs = true;
                renaming.rootfs.map(str::to_string)
            }
            _ if is_hwaddr(key) && !renaming.keep_macs => new_mac(value),
            _ if names_paths(key) => {
                let (replaced, found) = replace_dir(value, &old_dir, &new_dir);
                if !is_output(key) {
                    referenced.extend(found);
                }
                replaced
            }
            _ => None,
        };
        match new_value.and_then(|new| replace_value(raw, value, &new)) {
            Some(line) => out.push_str(&line),
            None => out.push_str(raw),
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !saw_rootfs {
        if let Some(rootfs) = renaming.rootfs {
            out.push_str(&format!("lxc.rootfs.path = {rootfs}\n"));
        }
    }
    if !saw_uts && !renaming.keep_name {
        out.push_str(&format!("lxc.uts.name = {}\n", renaming.new_name));
    }
    referenced.sort();
    referenced.dedup();
    Rewritten {
        text: out,
        referenced,
    }
}

/// `value` with every path that is `old_dir` or below it moved below `new_dir` (see
/// [`rewrite`]); for a hook's command line, a rename's `lxc.rootfs.path`.
pub fn relocate(value: &str, old_dir: &Path, new_dir: &Path) -> String {
    let (old, new) = (old_dir.to_string_lossy(), new_dir.to_string_lossy());
    replace_dir(value, &old, &new)
        .0
        .unwrap_or_else(|| value.to_string())
}

/// `raw` with the bytes of `value` (a slice of it, see [`parse_line`]) replaced.
fn replace_value(raw: &str, value: &str, new: &str) -> Option<String> {
    let start = (value.as_ptr() as usize).checked_sub(raw.as_ptr() as usize)?;
    Some(format!(
        "{}{new}{}",
        raw.get(..start)?,
        raw.get(start + value.len()..)?
    ))
}

/// Every path in `value` that is `old_dir` or below it, as a whole word (after the start,
/// a blank, `=` or `:`), moved below `new_dir`; with the relative paths of those below.
fn replace_dir(value: &str, old_dir: &str, new_dir: &str) -> (Option<String>, Vec<PathBuf>) {
    let mut out = String::with_capacity(value.len());
    let mut found = Vec::new();
    let mut rest = value;
    let mut changed = false;
    while let Some(at) = rest.find(old_dir) {
        let (before, from) = rest.split_at(at);
        let after = &from[old_dir.len()..];
        let starts_word = out
            .chars()
            .chain(before.chars())
            .last()
            .is_none_or(|c| c.is_whitespace() || c == '=' || c == ':');
        let ends_word = after
            .chars()
            .next()
            .is_none_or(|c| c == '/' || c.is_whitespace() || c == ':');
        out.push_str(before);
        if starts_word && ends_word && !old_dir.is_empty() {
            out.push_str(new_dir);
            changed = true;
            if let Some(below) = after.strip_prefix('/') {
                let word = below
                    .split(|c: char| c.is_whitespace() || c == ':')
                    .next()
                    .unwrap_or_default();
                if !word.is_empty() {
                    found.push(PathBuf::from(word));
                }
            }
        } else {
            out.push_str(old_dir);
        }
        rest = after;
    }
    out.push_str(rest);
    (changed.then_some(out), found)
}

/// A new random MAC for `old`: its first three octets kept (LXC's `00:16:3e`, or the
/// prefix the admin chose; `x` digits filled), the last three random. `None` when `old` is
/// not a MAC (the line is left for `config check` to report).
fn new_mac(old: &str) -> Option<String> {
    let octets: Vec<&str> = old.split(':').collect();
    let is_octet = |octet: &&str| {
        octet.len() == 2
            && octet
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c.eq_ignore_ascii_case(&'x'))
    };
    if octets.len() != 6 || !octets.iter().all(is_octet) {
        return None;
    }
    let mut random = [0u8; 9];
    fill_random(&mut random);
    let mut digits = random[3..].iter();
    let prefix: Vec<String> = octets[..3]
        .iter()
        .map(|octet| {
            octet
                .chars()
                .map(|c| match c {
                    'x' | 'X' => {
                        let nibble = digits.next().copied().unwrap_or(0) & 0xf;
                        char::from_digit(u32::from(nibble), 16).unwrap_or('0')
                    }
                    c => c.to_ascii_lowercase(),
                })
                .collect()
        })
        .collect();
    Some(format!(
        "{}:{:02x}:{:02x}:{:02x}",
        prefix.join(":"),
        random[0],
        random[1],
        random[2]
    ))
}

fn fill_random(buffer: &mut [u8]) {
    let mut filled = 0;
    while filled < buffer.len() {
        match rustix::rand::getrandom(&mut buffer[filled..], rustix::rand::GetRandomFlags::empty())
        {
            Ok(count) => filled += count,
            Err(rustix::io::Errno::INTR) => {}
            // getrandom(2) exists since 3.17; without it the clock is random enough for a
            // MAC that only has to differ from its neighbours'.
            Err(_) => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_nanos())
                    .unwrap_or(0);
                for (byte, shift) in buffer[filled..].iter_mut().zip((0..128).step_by(8)) {
                    *byte = (nanos >> shift) as u8;
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn renaming<'a>(old_dir: &'a Path, new_dir: &'a Path) -> Renaming<'a> {
        Renaming {
            old_name: "web",
            new_name: "web2",
            old_dir,
            new_dir,
            rootfs: Some("dir:/srv/lxc/web2/rootfs"),
            keep_name: false,
            keep_macs: false,
        }
    }

    const CONFIG: &str = "# made by rlxc\n\
        lxc.uts.name = web   # the name\n\
        lxc.rootfs.path = dir:/srv/lxc/web/rootfs\n\
        lxc.net.0.type = veth\n\
        lxc.net.0.hwaddr = 00:16:3e:11:22:33\n\
        lxc.mount.fstab = /srv/lxc/web/fstab\n\
        lxc.hook.clone = /srv/lxc/web/hooks/clone.sh /srv/lxc/webby/x\n\
        lxc.console.logfile = /srv/lxc/web/console.log\n\
        lxc.mount.entry = /srv/lxc/web/data data none bind 0 0\n";

    #[test]
    fn name_rootfs_macs_and_paths_change_and_nothing_else() {
        let (old, new) = (Path::new("/srv/lxc/web"), Path::new("/srv/lxc/web2"));
        let rewritten = rewrite(CONFIG, &renaming(old, new));
        let lines: Vec<&str> = rewritten.text.lines().collect();
        assert_eq!(lines[0], "# made by rlxc");
        assert_eq!(lines[1], "lxc.uts.name = web2   # the name");
        assert_eq!(lines[2], "lxc.rootfs.path = dir:/srv/lxc/web2/rootfs");
        assert_eq!(lines[3], "lxc.net.0.type = veth");
        let mac = lines[4]
            .strip_prefix("lxc.net.0.hwaddr = 00:16:3e:")
            .expect("prefix");
        assert_eq!(mac.len(), 8, "{mac}");
        assert_ne!(mac, "11:22:33");
        assert_eq!(lines[5], "lxc.mount.fstab = /srv/lxc/web2/fstab");
        // A path that only starts with the old directory's name is another directory's.
        assert_eq!(
            lines[6],
            "lxc.hook.clone = /srv/lxc/web2/hooks/clone.sh /srv/lxc/webby/x"
        );
        assert_eq!(lines[7], "lxc.console.logfile = /srv/lxc/web2/console.log");
        // A mount's source is shared data, not the container's own.
        assert_eq!(
            lines[8],
            "lxc.mount.entry = /srv/lxc/web/data data none bind 0 0"
        );
        assert_eq!(
            rewritten.referenced,
            [PathBuf::from("fstab"), PathBuf::from("hooks/clone.sh")]
        );
    }

    #[test]
    fn keep_name_and_macs_leave_them_and_a_missing_name_is_added() {
        let (old, new) = (Path::new("/srv/lxc/web"), Path::new("/srv/lxc/web2"));
        let kept = rewrite(
            CONFIG,
            &Renaming {
                keep_name: true,
                keep_macs: true,
                ..renaming(old, new)
            },
        );
        assert!(kept.text.contains("lxc.uts.name = web   # the name\n"));
        assert!(kept.text.contains("lxc.net.0.hwaddr = 00:16:3e:11:22:33\n"));
        let bare = rewrite("lxc.net.0.hwaddr = 02:00:xx:xx:xx:xx", &renaming(old, new));
        let lines: Vec<&str> = bare.text.lines().collect();
        let mac = lines[0]
            .strip_prefix("lxc.net.0.hwaddr = 02:00:")
            .expect("prefix");
        assert!(!mac.contains('x'), "{mac}");
        assert_eq!(lines[1], "lxc.rootfs.path = dir:/srv/lxc/web2/rootfs");
        assert_eq!(lines[2], "lxc.uts.name = web2");
    }

    #[test]
    fn the_result_loads() {
        let (old, new) = (Path::new("/srv/lxc/web"), Path::new("/srv/lxc/web2"));
        let rewritten = rewrite(CONFIG, &renaming(old, new));
        let loaded = rlxc_config::load_str(&rewritten.text, Path::new("config")).expect("loads");
        assert_eq!(loaded.spec.uts_name.as_deref(), Some("web2"));
    }
}
