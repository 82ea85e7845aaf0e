//! Loop images: made by `create -B loop` (a sparse file and `mkfs.TYPE`, as LXC makes them),
//! and the filesystem in one told by its superblock's magic.

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// `--fssize` when not given: LXC's 1 GiB.
pub const DEFAULT_SIZE: u64 = 1 << 30;
/// `--fstype` when not given: LXC's ext4.
pub const DEFAULT_FSTYPE: &str = "ext4";
/// The filesystems an image may hold: what rlxc tells by magic and mounts.
pub const FSTYPES: &[&str] = &["ext2", "ext3", "ext4", "btrfs", "xfs"];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    #[error("--fssize {0:?}: not a size such as 1G, 512M or 1073741824")]
    Size(String),
    #[error("--fstype {0:?}: rlxc makes loop images of ext2, ext3, ext4, btrfs or xfs")]
    Fstype(String),
    #[error("making the image {path}: {cause}")]
    Io { path: String, cause: io::Error },
    #[error("{program} on {path} failed: {output}")]
    Mkfs {
        program: String,
        path: String,
        output: String,
    },
}

/// A size as `lxc-create --fssize` takes it: bytes, or with a `K`, `M`, `G` or `T` suffix
/// (binary units, an optional `B` or `iB` after it).
pub fn parse_size(text: &str) -> Result<u64, ImageError> {
    let bad = || ImageError::Size(text.to_string());
    let upper = text.trim().to_ascii_uppercase();
    let stripped = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match stripped.chars().last() {
        Some('K') => (&stripped[..stripped.len() - 1], 10),
        Some('M') => (&stripped[..stripped.len() - 1], 20),
        Some('G') => (&stripped[..stripped.len() - 1], 30),
        Some('T') => (&stripped[..stripped.len() - 1], 40),
        _ => (stripped, 0),
    };
    let number: u64 = digits.trim().parse().map_err(|_| bad())?;
    let size = number.checked_mul(1u64 << shift).ok_or_else(bad)?;
    if size == 0 {
        return Err(bad());
    }
    Ok(size)
}

/// A new image at `path` (which must not exist; mode 0600, as LXC's): a sparse file of
/// `size` bytes, then `mkfs.FSTYPE` on it. A failure removes the file again.
pub fn make(path: &Path, size: u64, fstype: &str) -> Result<(), ImageError> {
    if !FSTYPES.contains(&fstype) {
        return Err(ImageError::Fstype(fstype.to_string()));
    }
    let io_error = |cause| ImageError::Io {
        path: path.display().to_string(),
        cause,
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io_error)?;
    let made = file.set_len(size).map_err(io_error).and_then(|()| {
        drop(file);
        mkfs(path, fstype)
    });
    if made.is_err() {
        let _ = std::fs::remove_file(path);
    }
    made
}

fn mkfs(path: &Path, fstype: &str) -> Result<(), ImageError> {
    let program = format!("mkfs.{fstype}");
    let mut command = Command::new(&program);
    command.arg("-q");
    // mke2fs asks before writing to a file that is not a block device, unless forced.
    if fstype.starts_with("ext") {
        command.arg("-F");
    }
    let output = command
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|cause| ImageError::Mkfs {
            program: program.clone(),
            path: path.display().to_string(),
            output: cause.to_string(),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(ImageError::Mkfs {
        program,
        path: path.display().to_string(),
        output: format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    })
}

/// The filesystem type to mount an image (or device) with, told by its superblock: ext2/3/4
/// (`0xEF53` at 1024 + 56; mounted as `ext4`, which reads all three), btrfs (`_BHRfS_M` at
/// 64 KiB + 64), xfs (`XFSB` at 0). `None` for anything else.
pub fn detect_fstype(path: &Path) -> io::Result<Option<&'static str>> {
    let mut file = std::fs::File::open(path)?;
    let mut read_at = |offset: u64, len: usize| -> io::Result<Vec<u8>> {
        let mut buf = vec![0; len];
        file.seek(SeekFrom::Start(offset))?;
        match file.read_exact(&mut buf) {
            Ok(()) => Ok(buf),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    };
    if read_at(0, 4)? == b"XFSB" {
        return Ok(Some("xfs"));
    }
    if read_at(1024 + 56, 2)? == [0x53, 0xEF] {
        return Ok(Some("ext4"));
    }
    if read_at(0x10040, 8)? == b"_BHRfS_M" {
        return Ok(Some("btrfs"));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_lxc_create_takes_them() {
        assert_eq!(parse_size("1G").unwrap(), 1 << 30);
        assert_eq!(parse_size("512M").unwrap(), 512 << 20);
        assert_eq!(parse_size("64mb").unwrap(), 64 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        for bad in ["", "G", "1X", "0", "-1G", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn magic_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let image = |name: &str, offset: usize, magic: &[u8]| {
            let mut bytes = vec![0u8; 0x10100];
            bytes[offset..offset + magic.len()].copy_from_slice(magic);
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let ext = image("ext", 1024 + 56, &[0x53, 0xEF]);
        assert_eq!(detect_fstype(&ext).unwrap(), Some("ext4"));
        let xfs = image("xfs", 0, b"XFSB");
        assert_eq!(detect_fstype(&xfs).unwrap(), Some("xfs"));
        let btrfs = image("btrfs", 0x10040, b"_BHRfS_M");
        assert_eq!(detect_fstype(&btrfs).unwrap(), Some("btrfs"));
        let zero = image("zero", 0, b"");
        assert_eq!(detect_fstype(&zero).unwrap(), None);
        let short = dir.path().join("short");
        std::fs::write(&short, b"x").unwrap();
        assert_eq!(detect_fstype(&short).unwrap(), None);
    }
}
