//! The clone's own name inside its rootfs: `/etc/hostname` holds the new name where the file
//! exists (as `lxc-copy` writes it), and the loopback line of `/etc/hosts` that named the old
//! one names the new one (rlxc's templates write `127.0.1.1 NAME`; LXC leaves it stale).
//!
//! Both files are reached with `openat2(RESOLVE_IN_ROOT)`: a symlink in the rootfs resolves
//! as it would inside the container, never to the host's file.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::path::Path;

use rustix::fs::{fstat, openat, openat2, FileType, Mode, OFlags, ResolveFlags, CWD};
use rustix::io::Errno;

/// Renames the clone inside `rootfs` from `old` to `new`. Files that are missing, or are not
/// regular files, are left alone.
pub fn rename_in_rootfs(rootfs: &Path, old: &str, new: &str) -> io::Result<()> {
    let root = openat(
        CWD,
        rootfs,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rewrite(&root, "etc/hostname", |_| Some(format!("{new}\n")))?;
    rewrite(&root, "etc/hosts", |text| hosts_renamed(text, old, new))
}

fn open_regular(root: &OwnedFd, path: &str, access: OFlags) -> io::Result<Option<File>> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    // O_NONBLOCK: a FIFO at that name must not hang the copy.
    let flags = access | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match openat2(root, path, flags, Mode::empty(), resolve) {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP | Errno::ISDIR | Errno::XDEV) => {
            return Ok(None)
        }
        Err(errno) => return Err(io::Error::from(errno)),
    };
    if FileType::from_raw_mode(fstat(&fd)?.st_mode) != FileType::RegularFile {
        return Ok(None);
    }
    Ok(Some(File::from(fd)))
}

/// Read-only first, and opened for writing (truncated) only when the text changes: in an
/// overlay clone, a write open of a file of the lower layer copies it up, data and fsync
/// included, and a truncate after that frees the copied block again (a synchronous discard
/// on a `discard` mount); `O_TRUNC` copies up no data, as `lxc-copy`'s open does.
fn rewrite(
    root: &OwnedFd,
    path: &str,
    change: impl FnOnce(&str) -> Option<String>,
) -> io::Result<()> {
    let Some(mut file) = open_regular(root, path, OFlags::RDONLY)? else {
        return Ok(());
    };
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        // Not text: not a file of names.
        return Ok(());
    }
    let Some(new) = change(&text) else {
        return Ok(());
    };
    if new == text {
        return Ok(());
    }
    match open_regular(root, path, OFlags::WRONLY | OFlags::TRUNC)? {
        Some(file) => std::os::unix::fs::FileExt::write_all_at(&file, new.as_bytes(), 0),
        None => Ok(()),
    }
}

/// `/etc/hosts` with `old` replaced by `new` as a whole name on loopback lines (`127.*`,
/// `::1`); `None` when no line names it.
fn hosts_renamed(text: &str, old: &str, new: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + new.len());
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let address = line.split_whitespace().next().unwrap_or_default();
        let loopback = address.starts_with("127.") || address == "::1";
        if !loopback || line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        // Fields keep their separators: split on the name's word boundaries only.
        let mut rest = line;
        while let Some(at) = rest.find(old) {
            let before = &rest[..at];
            let after = &rest[at + old.len()..];
            let starts = before.chars().last().is_none_or(char::is_whitespace);
            let ends = after
                .chars()
                .next()
                .is_none_or(|c| c.is_whitespace() || c == '#');
            out.push_str(before);
            if starts && ends && !before.trim().is_empty() {
                out.push_str(new);
                changed = true;
            } else {
                out.push_str(old);
            }
            rest = after;
        }
        out.push_str(rest);
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_line_gets_the_new_name_and_nothing_else_changes() {
        let hosts = "127.0.0.1\tlocalhost\n127.0.1.1\tweb web.lan\n10.0.0.1 web\n# 127.0.1.1 web\n127.0.1.1 webby\n";
        assert_eq!(
            hosts_renamed(hosts, "web", "db").as_deref(),
            Some("127.0.0.1\tlocalhost\n127.0.1.1\tdb web.lan\n10.0.0.1 web\n# 127.0.1.1 web\n127.0.1.1 webby\n")
        );
        assert_eq!(hosts_renamed("127.0.0.1 localhost\n", "web", "db"), None);
    }

    #[test]
    fn files_are_found_inside_the_rootfs_and_a_symlink_out_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("host-hostname");
        std::fs::write(&outside, "host\n").expect("write");
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).expect("mkdir");
        std::os::unix::fs::symlink(&outside, rootfs.join("etc/hostname")).expect("symlink");
        std::fs::write(rootfs.join("etc/hosts"), "127.0.1.1 web\n").expect("write");
        rename_in_rootfs(&rootfs, "web", "db").expect("rename");
        assert_eq!(std::fs::read_to_string(&outside).expect("read"), "host\n");
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/hosts")).expect("read"),
            "127.0.1.1 db\n"
        );
        std::fs::remove_file(rootfs.join("etc/hostname")).expect("rm");
        std::fs::write(rootfs.join("etc/hostname"), "web\n").expect("write");
        rename_in_rootfs(&rootfs, "web", "db").expect("rename");
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/hostname")).expect("read"),
            "db\n"
        );
    }
}
