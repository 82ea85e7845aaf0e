//! Applying an image's metadata as LXC's `lxc-download` does: the excludes while unpacking,
//! the `templates` files, the `config` and the `fstab` with LXC's template variables
//! replaced, and the `create-message`.

use std::fs;
use std::io::{Read, Seek, Write};
use std::os::fd::AsFd;
use std::path::{Component, Path};

use rustix::fs::{openat2, Mode as FileMode, OFlags, ResolveFlags};

use super::{CachedImage, DownloadError, Mode};

/// LXC's directories that image configs name through variables.
const LXC_TEMPLATE_CONFIG: &str = "/usr/share/lxc/config";
const LXC_HOOK_DIR: &str = "/usr/share/lxc/hooks";

/// What a container's files are called, for LXC's template variables.
pub(crate) struct Names<'a> {
    pub name: &'a str,
    /// `$lxcpath/NAME`, where it will be once created.
    pub path: &'a Path,
    pub rootfs: &'a Path,
}

impl Names<'_> {
    /// LXC replaces these in this order (with sed, everywhere in the file).
    fn substitute(&self, text: &str) -> String {
        text.replace("LXC_NAME", self.name)
            .replace("LXC_PATH", &self.path.to_string_lossy())
            .replace("LXC_ROOTFS", &self.rootfs.to_string_lossy())
            .replace("LXC_TEMPLATE_CONFIG", LXC_TEMPLATE_CONFIG)
            .replace("LXC_HOOK_DIR", LXC_HOOK_DIR)
    }
}

/// The image's part of the container's config, and what to tell the user.
pub(crate) struct Applied {
    /// The `config` (or `config-user`) file, variables replaced.
    pub config: String,
    /// `create-message`, printed after the create.
    pub message: Option<String>,
    /// The image's `fstab`, variables replaced: written as the container's `fstab` and named
    /// by `lxc.mount.fstab`, as LXC does.
    pub fstab: Option<String>,
}

/// `excludes` (or `excludes-user`): tar patterns, anchored at the rootfs, of members left out.
pub(crate) fn excludes(image: &CachedImage, mode: Mode) -> Result<Vec<String>, DownloadError> {
    let Some(path) = image.relevant_file("excludes", mode) else {
        return Ok(Vec::new());
    };
    let text = fs::read_to_string(&path).map_err(DownloadError::io("reading", &path))?;
    Ok(text
        .lines()
        .map(|line| normalize(line.trim()))
        .filter(|line| !line.is_empty())
        .collect())
}

/// A member path as tar compares it: no leading `./` or `/`.
fn normalize(path: &str) -> String {
    let mut rest = path;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix('/') {
            rest = r;
        } else {
            break;
        }
    }
    rest.trim_end_matches('/').to_string()
}

/// True when tar `--anchored --exclude=PATTERN` would skip `member`: the pattern matches it
/// or one of its parent directories.
pub(crate) fn excluded(patterns: &[String], member: &Path) -> bool {
    if patterns.is_empty() {
        return false;
    }
    let member = normalize(&member.to_string_lossy());
    let mut prefix = String::new();
    for part in member.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if patterns
            .iter()
            .any(|p| glob(p.as_bytes(), prefix.as_bytes()))
        {
            return true;
        }
    }
    false
}

/// fnmatch without flags: `*` and `?` match `/` too, as in tar's exclude patterns.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// After the rootfs is unpacked into `staged_rootfs`: `dev/pts`, the templated files, the
/// config text and the message.
pub(crate) fn apply(
    image: &CachedImage,
    mode: Mode,
    staged_rootfs: &Path,
    names: &Names,
) -> Result<Applied, DownloadError> {
    let pts = staged_rootfs.join("dev/pts");
    fs::create_dir_all(&pts).map_err(DownloadError::io("making", &pts))?;
    if let Some(list) = image.relevant_file("templates", mode) {
        let text = fs::read_to_string(&list).map_err(DownloadError::io("reading", &list))?;
        let root =
            fs::File::open(staged_rootfs).map_err(DownloadError::io("opening", staged_rootfs))?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            template_in_rootfs(&root, staged_rootfs, line, names)?;
        }
    }
    let config_path = image
        .relevant_file("config", mode)
        .ok_or(DownloadError::NoConfig)?;
    let config =
        fs::read_to_string(&config_path).map_err(DownloadError::io("reading", &config_path))?;
    let message = match image.relevant_file("create-message", mode) {
        Some(path) => Some(fs::read_to_string(&path).map_err(DownloadError::io("reading", &path))?),
        None => None,
    };
    let fstab =
        match image.relevant_file("fstab", mode) {
            Some(path) => Some(names.substitute(
                &fs::read_to_string(&path).map_err(DownloadError::io("reading", &path))?,
            )),
            None => None,
        };
    Ok(Applied {
        config: names.substitute(&config),
        message,
        fstab,
    })
}

/// Replaces the variables in one file of the rootfs. Opened with `RESOLVE_IN_ROOT`: a symlink
/// in the image cannot make rlxc rewrite a host file. A missing file is skipped, as in LXC.
fn template_in_rootfs(
    root: &fs::File,
    root_path: &Path,
    line: &str,
    names: &Names,
) -> Result<(), DownloadError> {
    let relative: std::path::PathBuf = Path::new(line)
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let shown = root_path.join(&relative);
    let fd = match openat2(
        root.as_fd(),
        &relative,
        OFlags::RDWR | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        FileMode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(errno) => {
            return Err(DownloadError::io("opening the template file", shown)(
                std::io::Error::from(errno),
            ))
        }
    };
    let mut file = fs::File::from(fd);
    let io_error = |step| DownloadError::io(step, shown.clone());
    let is_file = file.metadata().map_err(io_error("inspecting"))?.is_file();
    if !is_file {
        return Ok(());
    }
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        // Not text: LXC's sed would leave it as good as alone.
        return Ok(());
    }
    let replaced = names.substitute(&text);
    if replaced != text {
        file.set_len(0).map_err(io_error("truncating"))?;
        file.rewind().map_err(io_error("rewinding"))?;
        file.write_all(replaced.as_bytes())
            .map_err(io_error("writing"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excludes_match_as_tar_anchored_does() {
        let patterns = vec![normalize("./dev/*"), normalize("etc/secret")];
        assert!(excluded(&patterns, Path::new("./dev/null")));
        assert!(excluded(&patterns, Path::new("etc/secret/key")));
        assert!(!excluded(&patterns, Path::new("dev")));
        assert!(!excluded(&patterns, Path::new("etc/secrets")));
        assert!(!excluded(&patterns, Path::new("usr/dev/null")));
    }

    #[test]
    fn a_template_file_that_is_a_symlink_out_of_the_rootfs_leaves_the_host_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        fs::write(&outside, "LXC_NAME\n").expect("host file");
        let rootfs = dir.path().join("rootfs");
        fs::create_dir_all(rootfs.join("etc")).expect("mkdir");
        std::os::unix::fs::symlink("../../outside", rootfs.join("etc/hostname")).expect("link");
        fs::write(rootfs.join("etc/hosts"), "127.0.1.1 LXC_NAME\n").expect("hosts");
        let names = Names {
            name: "c1",
            path: Path::new("/x/c1"),
            rootfs: Path::new("/x/c1/rootfs"),
        };
        let root = fs::File::open(&rootfs).expect("open");
        for line in ["/etc/hostname", "/etc/hosts"] {
            template_in_rootfs(&root, &rootfs, line, &names).expect("template");
        }
        assert_eq!(fs::read_to_string(&outside).expect("read"), "LXC_NAME\n");
        assert_eq!(
            fs::read_to_string(rootfs.join("etc/hosts")).expect("read"),
            "127.0.1.1 c1\n"
        );
    }

    #[test]
    fn variables_are_replaced_in_lxcs_order() {
        let names = Names {
            name: "c1",
            path: Path::new("/var/lib/lxc/c1"),
            rootfs: Path::new("/var/lib/lxc/c1/rootfs"),
        };
        assert_eq!(
            names.substitute(
                "lxc.include = LXC_TEMPLATE_CONFIG/debian.common.conf\nLXC_NAME LXC_PATH/fstab"
            ),
            "lxc.include = /usr/share/lxc/config/debian.common.conf\nc1 /var/lib/lxc/c1/fstab"
        );
    }
}
