//! The `tarball` template: unpack a rootfs tarball (OpenVZ/Funtoo/distribution images), plain
//! or gzip/xz/zstd compressed, keeping owners, modes, links, device nodes and xattrs.
//!
//! Every member is checked before it is written: an absolute path or a `..` refuses the whole
//! tarball, and the tar crate's `unpack_in` refuses to write through a symlink that leads out.

use std::cell::Cell;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use rustix::fs::{chownat, makedev, mknodat, AtFlags, FileType, Mode, CWD};
use tar::EntryType;

use super::parallel_writes::{FileJob, FileWriters, LARGEST_QUEUED};
use super::staging::Staging;
use super::CreateError;

/// Top-level names of a rootfs; a tarball whose only top directory has another name (and
/// holds these) is taken to be `NAME/etc/...` and unpacked one level up.
const ROOTFS_TOP_LEVEL: &[&str] = &["bin", "etc", "lib", "sbin", "usr", "var"];

/// How far an unpack is, for a progress line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpacking {
    /// Bytes of the (compressed) source read so far, of `total`.
    pub done: u64,
    pub total: u64,
    /// Members written so far; 0 where the source does not count them.
    pub files: u64,
}

/// Called now and then while a rootfs is unpacked.
pub type Progress<'a> = &'a mut dyn FnMut(Unpacking);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

/// Unpacks `tarball` into `rootfs` (which must not exist), using `staging` (a directory on
/// the same filesystem) for the intermediate tree.
pub(crate) fn unpack(
    tarball: &Path,
    staging: &Path,
    rootfs: &Path,
    progress: Progress,
) -> Result<(), CreateError> {
    unpack_filtered(tarball, staging, rootfs, progress, &|_| false)
}

/// [`unpack`], leaving out the members `skip` names (an image's excludes).
pub(crate) fn unpack_filtered(
    tarball: &Path,
    staging: &Path,
    rootfs: &Path,
    progress: Progress,
    skip: &dyn Fn(&Path) -> bool,
) -> Result<(), CreateError> {
    let file = File::open(tarball).map_err(|cause| CreateError::OpenTarball {
        path: tarball.to_path_buf(),
        cause,
    })?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    let read_so_far = Rc::new(Cell::new(0u64));
    let mut source = BufReader::new(SourceReader {
        inner: file,
        read: Rc::clone(&read_so_far),
    });
    let compression = sniff(tarball, &mut source)?;
    let decoded: Box<dyn Read> = match compression {
        Compression::None => Box::new(source),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(source)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(source)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(source).map_err(unpack_error(tarball))?,
        ),
    };
    let unpacked = staging.join("unpacked");
    fs::create_dir(&unpacked).map_err(CreateError::io("making", &unpacked))?;
    let mut archive = archive(decoded);
    let entries = archive.entries().map_err(unpack_error(tarball))?;
    let mut writers = FileWriters::start(&unpacked).map_err(unpack_error(tarball))?;
    let failed = |(path, cause): (PathBuf, io::Error)| {
        unpack_error(tarball)(io::Error::new(
            cause.kind(),
            format!("writing {}: {cause}", path.display()),
        ))
    };
    let mut files = 0;
    for entry in entries {
        let mut entry = entry.map_err(unpack_error(tarball))?;
        check_member(tarball, &entry)?;
        let path = entry.path().map_err(unpack_error(tarball))?.into_owned();
        if skip(&path) {
            continue;
        }
        let relative: PathBuf = path
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        let kind = entry.header().entry_type();
        // A hard link needs its target written; a second member of a name replaces the first.
        if kind.is_hard_link() || writers.may_hold(&relative) {
            writers.wait_idle().map_err(failed)?;
        }
        // A name ending in `/` in an old (pre-ustar) header is a directory to the tar crate,
        // whatever its type: left to it.
        if writers.active()
            && kind == EntryType::Regular
            && entry.size() <= LARGEST_QUEUED
            && relative.file_name().is_some()
            && !entry.path_bytes().ends_with(b"/")
        {
            let job = file_job(&mut entry, relative).map_err(unpack_error(tarball))?;
            writers.write(job).map_err(failed)?;
        } else {
            write_member(tarball, &unpacked, &mut entry)?;
        }
        files += 1;
        progress(Unpacking {
            done: read_so_far.get(),
            total,
            files,
        });
    }
    writers.finish().map_err(failed)?;
    progress(Unpacking {
        done: total,
        total,
        files,
    });
    move_into_place(&unpacked, rootfs)
}

/// A regular member, read, for the file writers: its bytes and what the tar crate would set
/// (owner, mode, mtime, the xattrs of PAX `SCHILY.xattr.` records).
fn file_job<R: Read>(entry: &mut tar::Entry<R>, path: PathBuf) -> io::Result<FileJob> {
    let header = entry.header();
    let id = |value: u64| u32::try_from(value).map_err(|_| io::Error::other("id out of range"));
    let (mode, uid, gid, mtime) = (
        header.mode()?,
        id(header.uid()?)?,
        id(header.gid()?)?,
        header.mtime()?,
    );
    let mut xattrs = Vec::new();
    if let Some(extensions) = entry.pax_extensions()? {
        for extension in extensions {
            let extension = extension?;
            if let Some(name) = extension.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                xattrs.push((name.to_vec(), extension.value_bytes().to_vec()));
            }
        }
    }
    let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry.read_to_end(&mut data)?;
    Ok(FileJob {
        path,
        mode,
        uid,
        gid,
        mtime,
        xattrs,
        data,
    })
}

/// A tar reader that keeps owners, modes, mtimes and xattrs, and replaces existing files.
pub(crate) fn archive<R: Read>(reader: R) -> tar::Archive<R> {
    let mut archive = tar::Archive::new(reader);
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(true);
    archive.set_preserve_mtime(true);
    archive.set_unpack_xattrs(true);
    archive.set_overwrite(true);
    archive
}

/// Writes one member (already passed by [`check_member`]) below `root`. `source` names the
/// archive in errors.
pub(crate) fn write_member<R: Read>(
    source: &Path,
    root: &Path,
    entry: &mut tar::Entry<R>,
) -> Result<(), CreateError> {
    match entry.header().entry_type() {
        EntryType::Char | EntryType::Block | EntryType::Fifo => {
            make_node(root, entry).map_err(unpack_error(source))
        }
        _ => {
            let written = entry.unpack_in(root).map_err(unpack_error(source))?;
            if !written {
                return Err(CreateError::UnsafeMember {
                    tarball: source.to_path_buf(),
                    member: member_name(entry),
                    reason: "it would be written outside the rootfs",
                });
            }
            Ok(())
        }
    }
}

/// The error for a failed read or write, unless a signal is the real reason.
pub(crate) fn unpack_error(tarball: &Path) -> impl Fn(io::Error) -> CreateError + '_ {
    move |source| match Staging::check_interrupted() {
        Err(interrupted) => interrupted,
        Ok(()) => CreateError::Unpack {
            path: tarball.to_path_buf(),
            cause: with_causes(source),
        },
    }
}

/// The tar crate's errors say "failed to unpack PATH" and keep the reason as their source,
/// which a plain display leaves out: the message gets the whole chain.
fn with_causes(error: io::Error) -> io::Error {
    let mut text = error.to_string();
    let mut source = error.get_ref().and_then(|inner| inner.source());
    if source.is_none() {
        return error;
    }
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    io::Error::new(error.kind(), text)
}

pub(crate) fn sniff(tarball: &Path, source: &mut impl BufRead) -> Result<Compression, CreateError> {
    let head = source.fill_buf().map_err(unpack_error(tarball))?;
    let unsupported = |format| CreateError::UnsupportedCompression {
        path: tarball.to_path_buf(),
        format,
    };
    Ok(match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Compression::Xz,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'B', b'Z', b'h', ..] => return Err(unsupported("bzip2")),
        [0x04, 0x22, 0x4d, 0x18, ..] => return Err(unsupported("lz4")),
        _ => Compression::None,
    })
}

pub(crate) fn member_name<R: Read>(entry: &tar::Entry<R>) -> String {
    String::from_utf8_lossy(&entry.path_bytes()).into_owned()
}

/// Refuses absolute paths and `..` in member names and hard link targets. (Symlink targets
/// may be anything: they are resolved inside the container.)
pub(crate) fn check_member<R: Read>(
    tarball: &Path,
    entry: &tar::Entry<R>,
) -> Result<(), CreateError> {
    let refuse = |reason| CreateError::UnsafeMember {
        tarball: tarball.to_path_buf(),
        member: member_name(entry),
        reason,
    };
    let path = entry.path().map_err(unpack_error(tarball))?;
    escape_reason(&path).map_or(Ok(()), |reason| Err(refuse(reason)))?;
    if entry.header().entry_type().is_hard_link() {
        if let Some(target) = entry.link_name().map_err(unpack_error(tarball))? {
            if let Some(reason) = escape_reason(&target) {
                return Err(refuse(reason));
            }
        }
    }
    Ok(())
}

pub(crate) fn escape_reason(path: &Path) -> Option<&'static str> {
    path.components().find_map(|component| match component {
        Component::RootDir | Component::Prefix(_) => Some("absolute paths are not allowed"),
        Component::ParentDir => Some("'..' would leave the rootfs"),
        Component::CurDir | Component::Normal(_) => None,
    })
}

/// Character and block devices and FIFOs, which the tar crate would write as plain files.
fn make_node<R: Read>(root: &Path, entry: &tar::Entry<R>) -> io::Result<()> {
    let header = entry.header();
    let relative: PathBuf = entry.path()?.components().collect();
    let target = root.join(&relative);
    let parent = target.parent().unwrap_or(root);
    fs::create_dir_all(parent)?;
    // An earlier member may have made a parent a symlink to somewhere else.
    if !fs::canonicalize(parent)?.starts_with(fs::canonicalize(root)?) {
        return Err(io::Error::other(format!(
            "{} would be made outside the rootfs",
            relative.display()
        )));
    }
    let file_type = match header.entry_type() {
        EntryType::Char => FileType::CharacterDevice,
        EntryType::Block => FileType::BlockDevice,
        _ => FileType::Fifo,
    };
    // FIFOs have no device numbers, and many tar writers leave those fields blank.
    let number = |field: io::Result<Option<u32>>| field.ok().flatten().unwrap_or(0);
    let device = if file_type == FileType::Fifo {
        makedev(0, 0)
    } else {
        makedev(number(header.device_major()), number(header.device_minor()))
    };
    let mode = header.mode()? & 0o7777;
    match fs::symlink_metadata(&target) {
        Ok(meta) if meta.is_dir() => fs::remove_dir(&target)?,
        Ok(_) => fs::remove_file(&target)?,
        Err(_) => {}
    }
    mknodat(CWD, &target, file_type, Mode::from_raw_mode(mode), device)?;
    let owner = rustix::fs::Uid::from_raw(header.uid()? as u32);
    let group = rustix::fs::Gid::from_raw(header.gid()? as u32);
    chownat(
        CWD,
        &target,
        Some(owner),
        Some(group),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    // After the chown, which clears set-id bits; and not through the umask, unlike mknod.
    rustix::fs::chmod(&target, Mode::from_raw_mode(mode))?;
    Ok(())
}

/// `unpacked` becomes the rootfs, or its only directory does when the tarball wrapped the
/// rootfs in one (`stage3-amd64/etc/...`).
fn move_into_place(unpacked: &Path, rootfs: &Path) -> Result<(), CreateError> {
    let wrapped = single_wrapping_dir(unpacked).map_err(CreateError::io("reading", unpacked))?;
    match wrapped {
        Some(top) => {
            fs::rename(&top, rootfs).map_err(CreateError::io("moving into place", &top))?;
            fs::remove_dir(unpacked).map_err(CreateError::io("removing", unpacked))
        }
        None => {
            fs::rename(unpacked, rootfs).map_err(CreateError::io("moving into place", unpacked))
        }
    }
}

fn single_wrapping_dir(unpacked: &Path) -> io::Result<Option<PathBuf>> {
    let mut entries = fs::read_dir(unpacked)?.collect::<Result<Vec<_>, _>>()?;
    if entries.len() != 1 {
        return Ok(None);
    }
    let only = entries.remove(0);
    let name = only.file_name();
    let is_dir = only.file_type()?.is_dir();
    if !is_dir || ROOTFS_TOP_LEVEL.iter().any(|top| name == *top) {
        return Ok(None);
    }
    let path = only.path();
    let looks_like_rootfs = ROOTFS_TOP_LEVEL.iter().any(|top| path.join(top).is_dir());
    Ok(looks_like_rootfs.then_some(path))
}

/// The tarball's bytes, counted for the progress line, and cut short by SIGINT/SIGTERM.
struct SourceReader {
    inner: File,
    read: Rc<Cell<u64>>,
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if Staging::check_interrupted().is_err() {
                return Err(io::Error::other("interrupted by a signal"));
            }
            match self.inner.read(buf) {
                // EINTR from our own signal handler: look at the flag again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(n) => {
                    self.read.set(self.read.get() + n as u64);
                    return Ok(n);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_named() {
        assert_eq!(escape_reason(Path::new("./etc/passwd")), None);
        assert_eq!(
            escape_reason(Path::new("etc/../../x")),
            Some("'..' would leave the rootfs")
        );
        assert_eq!(
            escape_reason(Path::new("/etc/passwd")),
            Some("absolute paths are not allowed")
        );
    }

    #[test]
    fn an_old_header_naming_a_directory_with_a_slash_makes_a_directory() {
        // Type `0` (or NUL) with a trailing slash, as v7 and old BSD tars wrote directories.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(EntryType::Regular);
        header.set_size(0);
        header.set_mode(0o755);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1);
        header.as_old_mut().name[..7].copy_from_slice(b"olddir/");
        header.set_cksum();
        builder.append(&header, io::empty()).expect("append dir");
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(1);
        header.set_cksum();
        builder
            .append_data(&mut header, "olddir/f", &b"hi"[..])
            .expect("append file");
        let dir = tempfile::tempdir().expect("tempdir");
        let tarball = dir.path().join("old.tar");
        fs::write(&tarball, builder.into_inner().expect("tar")).expect("write");
        let staging = dir.path().join("staging");
        fs::create_dir(&staging).expect("mkdir");
        let rootfs = dir.path().join("rootfs");
        unpack(&tarball, &staging, &rootfs, &mut |_| {}).expect("unpacks");
        assert!(rootfs.join("olddir").is_dir());
        assert_eq!(fs::read(rootfs.join("olddir/f")).expect("read"), b"hi");
    }

    #[test]
    fn without_openat2_the_members_are_still_written() {
        // A kernel before 5.6 (or a container's seccomp profile) answers ENOSYS; a filter on
        // this thread, inherited by the threads it starts, makes this kernel answer so.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut builder = tar::Builder::new(Vec::new());
        for name in ["etc/hostname", "etc/hosts", "usr/bin/tool"] {
            let mut header = tar::Header::new_gnu();
            header.set_size(3);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(1);
            header.set_cksum();
            builder
                .append_data(&mut header, name, &b"abc"[..])
                .expect("append");
        }
        let tarball = dir.path().join("plain.tar");
        fs::write(&tarball, builder.into_inner().expect("tar")).expect("write");
        let staging = dir.path().join("staging");
        fs::create_dir(&staging).expect("mkdir");
        let rootfs = dir.path().join("rootfs");
        let unpacked = std::thread::spawn(move || {
            use libseccomp::{ScmpAction, ScmpFilterContext, ScmpSyscall};
            let mut filter = ScmpFilterContext::new(ScmpAction::Allow).expect("filter");
            let openat2 = ScmpSyscall::from_name("openat2").expect("openat2");
            filter
                .add_rule(ScmpAction::Errno(libc::ENOSYS), openat2)
                .expect("rule");
            filter.load().expect("load");
            unpack(&tarball, &staging, &rootfs, &mut |_| {})
                .map_err(|error| error.to_string())
                .map(|()| rootfs)
        })
        .join()
        .expect("unpacking thread");
        let rootfs = unpacked.expect("unpacks without openat2");
        assert_eq!(fs::read(rootfs.join("usr/bin/tool")).expect("read"), b"abc");
    }

    #[test]
    fn a_wrapping_directory_is_stripped_but_a_plain_rootfs_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wrapped = dir.path().join("wrapped");
        fs::create_dir_all(wrapped.join("stage3/etc")).expect("mkdir");
        assert_eq!(
            single_wrapping_dir(&wrapped).expect("read"),
            Some(wrapped.join("stage3"))
        );
        let plain = dir.path().join("plain");
        fs::create_dir_all(plain.join("usr/bin")).expect("mkdir");
        assert_eq!(single_wrapping_dir(&plain).expect("read"), None);
    }
}
