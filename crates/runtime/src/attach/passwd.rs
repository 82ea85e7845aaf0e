//! The login shell of a user, from the container's own `/etc/passwd`.
//!
//! The file is the container's to write, so it is opened below init's root with
//! `openat2(RESOLVE_IN_ROOT)`: a symlink `/etc/passwd -> /../../host/file` resolves inside the
//! container, never on the host. Only a regular file is read (a FIFO there would hang us) and
//! only its first megabyte.

use std::io::Read;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};

/// What attach runs when no command is given and the user has no (usable) shell.
pub const FALLBACK_SHELL: &str = "/bin/sh";

const MAX_PASSWD: u64 = 1 << 20;

/// The shell of `uid` in the container whose root is `root`, or [`FALLBACK_SHELL`].
pub(crate) fn login_shell(root: &OwnedFd, uid: u32) -> String {
    read_in_root(root, "etc/passwd")
        .and_then(|text| shell_of(&text, uid))
        .unwrap_or_else(|| FALLBACK_SHELL.to_string())
}

pub(crate) fn read_in_root(root: &OwnedFd, path: &str) -> Option<String> {
    let fd = rfs::openat2(
        root,
        path,
        OFlags::RDONLY | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
    .ok()?;
    let stat = rfs::fstat(&fd).ok()?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return None;
    }
    let mut text = String::new();
    std::fs::File::from(fd)
        .take(MAX_PASSWD)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The shell field of the first passwd line for `uid`; `None` when there is none or it is
/// empty (login(1) then uses /bin/sh too) or not an absolute path.
pub(crate) fn shell_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() != 7 || fields[2].parse::<u32>().ok()? != uid {
            return None;
        }
        let shell = fields[6].trim();
        shell.starts_with('/').then(|| shell.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/ash
# a comment
broken line
daemon:x:1:1:daemon:/usr/sbin:
web:x:1000:1000:Web,,,:/home/web:/usr/bin/zsh
odd:x:1001:1001::/:bin/relative
";

    #[test]
    fn shells_come_from_the_uids_line() {
        assert_eq!(shell_of(PASSWD, 0).as_deref(), Some("/bin/ash"));
        assert_eq!(shell_of(PASSWD, 1000).as_deref(), Some("/usr/bin/zsh"));
    }

    #[test]
    fn missing_empty_or_relative_shells_give_none() {
        assert_eq!(shell_of(PASSWD, 1), None);
        assert_eq!(shell_of(PASSWD, 1001), None);
        assert_eq!(shell_of(PASSWD, 4242), None);
        assert_eq!(shell_of("", 0), None);
    }

    #[test]
    fn a_symlink_out_of_the_root_resolves_inside_it() {
        let root_dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(outside.path().join("passwd"), "root:x:0:0::/:/host/shell\n")
            .expect("write");
        std::fs::create_dir(root_dir.path().join("etc")).expect("mkdir");
        // Absolute and `..` targets both stay below the root with RESOLVE_IN_ROOT.
        let target = format!("../../../../../..{}/passwd", outside.path().display());
        std::os::unix::fs::symlink(&target, root_dir.path().join("etc/passwd")).expect("link");
        let root = rfs::open(
            root_dir.path(),
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .expect("open root");
        assert_eq!(login_shell(&root, 0), FALLBACK_SHELL);

        std::fs::remove_file(root_dir.path().join("etc/passwd")).expect("rm");
        std::fs::write(root_dir.path().join("etc/passwd"), PASSWD).expect("write");
        assert_eq!(login_shell(&root, 0), "/bin/ash");
    }
}
