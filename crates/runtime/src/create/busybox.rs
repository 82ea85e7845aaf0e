//! The built-in `busybox` template: a bootable rootfs made of the host's static busybox, one
//! relative symlink per applet, and just enough of /etc for init, getty and login.

use std::fs::{self, DirBuilder, File};
use std::io::Read;
use std::os::unix::fs::{symlink, DirBuilderExt};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use super::busybox_files::{self, RootfsFile};
use super::staging::Staging;
use super::CreateError;

/// Where Debian's busybox-static (and most distributions) put busybox, merged /usr or not.
pub const BUSYBOX_LOCATIONS: &[&str] = &[
    "/bin/busybox",
    "/usr/bin/busybox",
    "/sbin/busybox",
    "/usr/sbin/busybox",
];

/// The FHS directories every busybox rootfs gets, with their modes.
const DIRECTORIES: &[(&str, u32)] = &[
    ("", 0o755),
    ("bin", 0o755),
    ("sbin", 0o755),
    ("etc", 0o755),
    ("etc/init.d", 0o755),
    ("dev", 0o755),
    ("proc", 0o555),
    ("sys", 0o555),
    ("tmp", 0o1777),
    ("run", 0o755),
    ("root", 0o700),
    ("var", 0o755),
    ("var/log", 0o755),
    ("home", 0o755),
    ("usr", 0o755),
    ("usr/bin", 0o755),
    ("usr/sbin", 0o755),
    ("usr/share", 0o755),
    ("usr/share/udhcpc", 0o755),
];

/// The first statically linked busybox among `candidates`. A container cannot use a dynamic
/// one: the libraries it needs are not in the rootfs.
pub fn find_static_busybox(candidates: &[&str]) -> Result<PathBuf, CreateError> {
    let mut dynamic = None;
    for candidate in candidates {
        let path = Path::new(candidate);
        match is_static_elf(path) {
            Ok(true) => return Ok(path.to_path_buf()),
            Ok(false) => {
                dynamic.get_or_insert_with(|| path.to_path_buf());
            }
            Err(_) => {}
        }
    }
    Err(CreateError::NoStaticBusybox {
        looked_at: candidates.iter().map(|c| c.to_string()).collect(),
        dynamic,
    })
}

/// Builds the rootfs in `rootfs` (an empty directory) for a container named `name`.
pub(crate) fn build_rootfs(busybox: &Path, rootfs: &Path, name: &str) -> Result<(), CreateError> {
    make_directories(rootfs)?;
    let installed = rootfs.join("bin/busybox");
    fs::copy(busybox, &installed).map_err(CreateError::io("copying busybox to", &installed))?;
    Staging::check_interrupted()?;
    for applet in list_applets(busybox)? {
        link_applet(rootfs, &applet)?;
    }
    Staging::check_interrupted()?;
    for file in busybox_files::files(name) {
        write_file(rootfs, &file)?;
    }
    Ok(())
}

fn make_directories(rootfs: &Path) -> Result<(), CreateError> {
    for (dir, mode) in DIRECTORIES {
        let path = rootfs.join(dir);
        match DirBuilder::new().mode(*mode).create(&path) {
            // The root itself exists when it is a store's (a subvolume, a mounted image).
            Err(e) if dir.is_empty() && e.kind() == std::io::ErrorKind::AlreadyExists => {}
            made => made.map_err(CreateError::io("making", &path))?,
        }
        // The umask may have taken bits (the sticky /tmp, world-writable).
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(*mode))
            .map_err(CreateError::io("setting the mode of", &path))?;
    }
    Ok(())
}

/// The applets' paths relative to `/` (`sbin/init`, `usr/bin/env`, ...), from
/// `busybox --list-full`, or `bin/NAME` from `--list` for a busybox built without it.
fn list_applets(busybox: &Path) -> Result<Vec<PathBuf>, CreateError> {
    let run =
        |flag: &str| -> Result<String, CreateError> {
            let output = Command::new(busybox).arg(flag).output().map_err(|e| {
                CreateError::BusyboxApplets {
                    busybox: busybox.to_path_buf(),
                    reason: e.to_string(),
                }
            })?;
            if !output.status.success() {
                return Err(CreateError::BusyboxApplets {
                    busybox: busybox.to_path_buf(),
                    reason: format!("{flag} exited with {}", output.status),
                });
            }
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        };
    let applets: Vec<PathBuf> = match run("--list-full") {
        Ok(full) => full.lines().map(PathBuf::from).collect(),
        Err(_) => run("--list")?
            .lines()
            .map(|name| Path::new("bin").join(name))
            .collect(),
    };
    Ok(applets.into_iter().filter(|a| is_fhs_applet(a)).collect())
}

/// Keeps applets in a directory of their own below `/` (not `linuxrc`, not busybox itself),
/// and nothing that could point out of the rootfs.
fn is_fhs_applet(applet: &Path) -> bool {
    let plain = applet
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    plain && applet.components().count() >= 2 && applet != Path::new("bin/busybox")
}

/// `usr/bin/env` -> `../../bin/busybox`: relative, so it resolves the same from the host and
/// from inside the container.
fn link_applet(rootfs: &Path, applet: &Path) -> Result<(), CreateError> {
    let depth = applet.components().count() - 1;
    let target: PathBuf = (0..depth)
        .map(|_| "..")
        .collect::<PathBuf>()
        .join("bin/busybox");
    let link = rootfs.join(applet);
    if let Some(parent) = link.parent() {
        if !parent.is_dir() {
            fs::create_dir_all(parent).map_err(CreateError::io("making", parent))?;
        }
    }
    match symlink(&target, &link) {
        Ok(()) => Ok(()),
        // Some busybox builds list an applet twice.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CreateError::io("linking applet", &link)(e)),
    }
}

fn write_file(rootfs: &Path, file: &RootfsFile) -> Result<(), CreateError> {
    let path = rootfs.join(file.path);
    // Some files replace an applet link (/sbin/reboot): writing through the link would
    // overwrite busybox itself.
    if fs::symlink_metadata(&path).is_ok() {
        fs::remove_file(&path).map_err(CreateError::io("replacing", &path))?;
    }
    fs::write(&path, &file.content).map_err(CreateError::io("writing", &path))?;
    fs::set_permissions(
        &path,
        std::os::unix::fs::PermissionsExt::from_mode(file.mode),
    )
    .map_err(CreateError::io("setting the mode of", &path))
}

/// True for an ELF file without a `PT_INTERP` program header (nothing asks for a dynamic
/// loader). Reads only the ELF header and the program headers.
fn is_static_elf(path: &Path) -> std::io::Result<bool> {
    const PT_INTERP: u32 = 3;
    let mut header = [0u8; 64];
    let mut file = File::open(path)?;
    file.read_exact(&mut header[..52])?;
    if &header[..4] != b"\x7fELF" {
        return Ok(false);
    }
    let is_64 = header[4] == 2;
    let little = header[5] == 1;
    if is_64 {
        file.read_exact(&mut header[52..64])?;
    }
    let u16_at = |b: &[u8], at: usize| {
        let bytes = [b[at], b[at + 1]];
        u64::from(if little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    };
    let u32_at = |b: &[u8], at: usize| {
        let bytes = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }
    };
    let u64_at = |b: &[u8], at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&b[at..at + 8]);
        if little {
            u64::from_le_bytes(bytes)
        } else {
            u64::from_be_bytes(bytes)
        }
    };
    let (phoff, phentsize, phnum) = if is_64 {
        (
            u64_at(&header, 32),
            u16_at(&header, 54),
            u16_at(&header, 56),
        )
    } else {
        (
            u64::from(u32_at(&header, 28)),
            u16_at(&header, 42),
            u16_at(&header, 44),
        )
    };
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(phoff))?;
    file.read_exact(&mut table)?;
    let interp = table
        .chunks_exact(phentsize.max(4) as usize)
        .any(|entry| u32_at(entry, 0) == PT_INTERP);
    Ok(!interp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applets_outside_a_directory_or_escaping_are_skipped() {
        assert!(is_fhs_applet(Path::new("sbin/init")));
        assert!(is_fhs_applet(Path::new("usr/bin/env")));
        assert!(!is_fhs_applet(Path::new("linuxrc")));
        assert!(!is_fhs_applet(Path::new("bin/busybox")));
        assert!(!is_fhs_applet(Path::new("/bin/sh")));
        assert!(!is_fhs_applet(Path::new("usr/../../etc/passwd")));
    }

    #[test]
    fn a_dynamic_binary_is_not_taken_and_the_error_names_the_package() {
        // /bin/sh is dynamically linked on every distribution rlxc runs on.
        let err = find_static_busybox(&["/bin/sh", "/nonexistent/busybox"])
            .expect_err("a dynamic binary is not a static busybox");
        let message = err.to_string();
        assert!(message.contains("busybox-static"), "{message}");
        assert!(
            message.contains("/bin/sh is dynamically linked"),
            "{message}"
        );
    }

    #[test]
    fn a_static_binary_is_recognised_when_present() {
        if let Ok(found) = find_static_busybox(BUSYBOX_LOCATIONS) {
            assert!(is_static_elf(&found).expect("readable"));
        }
    }
}
