//! Reading config text into `key = value` entries, following `lxc.include`.
//!
//! Includes are expanded here, in place, so every entry keeps the file and line it came from.
//! A directory include reads its `*.conf` files in name order. An include loop is an error
//! naming the chain (LXC 5 recurses until it crashes).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{ConfigError, Origin, Warning};
use crate::grammar::{parse_line, Line};
use crate::limits::{shorten_path, MAX_LINE_LEN, SHOWN_CHARS};

/// How deep includes may nest before we call it a mistake, loop or not.
const MAX_INCLUDE_DEPTH: usize = 32;

/// The largest config file read: LXC's biggest distro config is a few KiB and a generated one
/// of 100,000 lines some 5 MiB; a file past this is a mistake (or `/dev/zero`) that would
/// otherwise be read into memory whole.
pub const MAX_FILE_SIZE: u64 = 16 << 20;

/// The bytes of a config file: a regular file only (a device or a FIFO named by mistake would
/// be read for ever or block), of at most [`MAX_FILE_SIZE`]. Opened without blocking, so a
/// FIFO is told apart before anything waits on it.
pub(crate) fn read_config_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a config is read from a regular file only)",
        ));
    }
    let too_big = || {
        std::io::Error::other(format!(
            "larger than {} MiB, the most a config file may be",
            MAX_FILE_SIZE >> 20
        ))
    };
    if metadata.len() > MAX_FILE_SIZE {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // Bounded again while reading: the file may grow after the look.
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(too_big());
    }
    Ok(bytes)
}

/// One `key = value` line, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub origin: Origin,
    pub key: String,
    pub value: String,
}

/// What reading found besides entries: errors are collected, not fatal, so a check can
/// report all of them at once.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<Warning>,
}

/// Reads `path` (and what it includes) into entries.
pub fn read_file(path: &Path, diagnostics: &mut Diagnostics) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut stack = Vec::new();
    read_into(path, None, &mut stack, &mut entries, diagnostics);
    entries
}

/// Reads config text that does not come from a file (tests, fuzzing).
/// Includes in it are resolved against the current directory.
pub fn read_text(text: &str, name: &Path, diagnostics: &mut Diagnostics) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut stack = vec![name.to_path_buf()];
    read_lines(text, name, &mut stack, &mut entries, diagnostics);
    entries
}

fn read_into(
    path: &Path,
    included_from: Option<&Origin>,
    stack: &mut Vec<PathBuf>,
    entries: &mut Vec<Entry>,
    diagnostics: &mut Diagnostics,
) {
    let identity = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    if let Some(origin) = included_from {
        if stack.contains(&identity) || stack.len() >= MAX_INCLUDE_DEPTH {
            let mut chain: Vec<String> = stack.iter().map(|p| p.display().to_string()).collect();
            chain.push(identity.display().to_string());
            diagnostics.errors.push(ConfigError::IncludeLoop {
                origin: origin.clone(),
                chain,
            });
            return;
        }
    }
    if identity.is_dir() {
        read_directory(&identity, included_from, stack, entries, diagnostics);
        return;
    }
    let bytes = match read_config_file(path) {
        Ok(bytes) => bytes,
        // LXC skips an include that does not exist (Debian's userns.conf includes a
        // userns.conf.d/ that no package creates); say so instead of failing.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && included_from.is_some() => {
            if let Some(origin) = included_from {
                diagnostics.warnings.push(Warning {
                    origin: origin.clone(),
                    key: "lxc.include".into(),
                    message: format!("{} does not exist; skipped", shorten_path(path)),
                });
            }
            return;
        }
        Err(err) => {
            diagnostics.errors.push(match included_from {
                Some(origin) => ConfigError::Value {
                    origin: origin.clone(),
                    key: "lxc.include".into(),
                    reason: format!("cannot read {}: {err}", shorten_path(path)),
                },
                None => ConfigError::Read {
                    path: path.to_path_buf(),
                    reason: err.to_string(),
                },
            });
            return;
        }
    };
    stack.push(identity);
    match decode(&bytes, path) {
        Ok(text) => read_lines(&text, path, stack, entries, diagnostics),
        Err(err) => diagnostics.errors.push(err),
    }
    stack.pop();
}

fn read_directory(
    dir: &Path,
    included_from: Option<&Origin>,
    stack: &mut Vec<PathBuf>,
    entries: &mut Vec<Entry>,
    diagnostics: &mut Diagnostics,
) {
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(err) => {
            diagnostics.errors.push(ConfigError::Read {
                path: dir.to_path_buf(),
                reason: err.to_string(),
            });
            return;
        }
    };
    let mut files: Vec<PathBuf> = listing
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "conf") && p.is_file())
        .collect();
    files.sort();
    stack.push(dir.to_path_buf());
    for file in files {
        read_into(&file, included_from, stack, entries, diagnostics);
    }
    stack.pop();
}

/// Config files are text: a NUL byte or invalid UTF-8 is an error at its line, never a silent
/// end of file (LXC stops reading at a NUL, dropping every setting after it).
fn decode(bytes: &[u8], path: &Path) -> Result<String, ConfigError> {
    let origin_at = |offset: usize| Origin::File {
        path: path.to_path_buf(),
        line: 1 + bytes[..offset].iter().filter(|b| **b == b'\n').count(),
    };
    if let Some(offset) = bytes.iter().position(|b| *b == 0) {
        return Err(ConfigError::Encoding {
            origin: origin_at(offset),
            reason: "NUL byte in a config file (is this a binary file?)".into(),
        });
    }
    String::from_utf8(bytes.to_vec()).map_err(|err| ConfigError::Encoding {
        origin: origin_at(err.utf8_error().valid_up_to()),
        reason: "not valid UTF-8".into(),
    })
}

fn read_lines(
    text: &str,
    path: &Path,
    stack: &mut Vec<PathBuf>,
    entries: &mut Vec<Entry>,
    diagnostics: &mut Diagnostics,
) {
    for (index, raw) in text.lines().enumerate() {
        let origin = Origin::File {
            path: path.to_path_buf(),
            line: index + 1,
        };
        if crate::load::too_many_errors(&mut diagnostics.errors, &origin) {
            return;
        }
        if raw.len() > MAX_LINE_LEN {
            diagnostics.errors.push(ConfigError::LineTooLong {
                origin,
                start: raw.chars().take(SHOWN_CHARS).collect(),
                length: raw.len(),
                limit: MAX_LINE_LEN,
            });
            continue;
        }
        match parse_line(raw) {
            Line::Blank | Line::Martian => {}
            Line::Malformed => diagnostics.errors.push(ConfigError::Syntax {
                origin,
                found: raw.trim().to_string(),
            }),
            Line::Entry {
                key: "lxc.include",
                value,
            } => {
                if value.is_empty() {
                    continue;
                }
                let target = resolve_include(path, value);
                read_into(&target, Some(&origin), stack, entries, diagnostics);
            }
            Line::Entry { key, value } => entries.push(Entry {
                origin,
                key: key.to_string(),
                value: value.to_string(),
            }),
        }
    }
}

/// A relative include is relative to the including file's directory, which is what someone
/// who writes `lxc.include = common.conf` beside a config means.
fn resolve_include(including: &Path, value: &str) -> PathBuf {
    let target = Path::new(value);
    if target.is_absolute() {
        return target.to_path_buf();
    }
    match including.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(target),
        _ => target.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).expect("write fixture");
        path
    }

    #[test]
    fn entries_keep_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = write(
            dir.path(),
            "config",
            "# c\n\nlxc.uts.name = a\nfoo = bar\nlxc.tty.max = 2\n",
        );
        let mut diagnostics = Diagnostics::default();
        let entries = read_file(&main, &mut diagnostics);
        assert!(diagnostics.errors.is_empty(), "{diagnostics:?}");
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].origin,
            Origin::File {
                path: main.clone(),
                line: 3
            }
        );
        assert_eq!(entries[1].key, "lxc.tty.max");
        assert_eq!(
            entries[1].origin,
            Origin::File {
                path: main,
                line: 5
            }
        );
    }

    /// A device, a FIFO or an oversized file is refused at once, naming why, instead of
    /// being read without end (`/dev/zero`), blocking (a FIFO), or filling memory.
    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(status.success());
        let big = dir.path().join("big.conf");
        fs::write(&big, vec![b'#'; MAX_FILE_SIZE as usize + 1]).expect("big file");
        let cases = [
            (PathBuf::from("/dev/zero"), "not a regular file"),
            (fifo, "not a regular file"),
            (big, "larger than 16 MiB"),
        ];
        for (path, says) in cases {
            let main = write(
                dir.path(),
                "config",
                &format!("lxc.include = {}\n", path.display()),
            );
            let mut diagnostics = Diagnostics::default();
            read_file(&main, &mut diagnostics);
            let errors: Vec<String> = diagnostics.errors.iter().map(|e| e.to_string()).collect();
            assert!(
                errors.len() == 1 && errors[0].contains(says),
                "{}: {errors:?}",
                path.display()
            );
            let mut direct = Diagnostics::default();
            read_file(&path, &mut direct);
            assert_eq!(direct.errors.len(), 1, "{}", path.display());
        }
    }

    #[test]
    fn includes_a_file_relative_to_the_including_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "common.conf", "lxc.tty.max = 4\n");
        let main = write(
            dir.path(),
            "config",
            "lxc.include = common.conf\nlxc.uts.name = a\n",
        );
        let mut diagnostics = Diagnostics::default();
        let entries = read_file(&main, &mut diagnostics);
        assert!(diagnostics.errors.is_empty(), "{diagnostics:?}");
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["lxc.tty.max", "lxc.uts.name"]);
    }

    #[test]
    fn includes_every_conf_of_a_directory_in_name_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sub = dir.path().join("conf.d");
        fs::create_dir(&sub).expect("mkdir");
        write(&sub, "20-b.conf", "lxc.uts.name = b\n");
        write(&sub, "10-a.conf", "lxc.tty.max = 1\n");
        write(&sub, "README", "lxc.pty.max = 9\n");
        let main = write(dir.path(), "config", "lxc.include = conf.d/\n");
        let mut diagnostics = Diagnostics::default();
        let entries = read_file(&main, &mut diagnostics);
        assert!(diagnostics.errors.is_empty(), "{diagnostics:?}");
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["lxc.tty.max", "lxc.uts.name"]);
    }

    #[test]
    fn include_loops_are_reported_with_the_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "a.conf", "lxc.include = b.conf\n");
        write(dir.path(), "b.conf", "lxc.include = a.conf\n");
        let mut diagnostics = Diagnostics::default();
        read_file(&dir.path().join("a.conf"), &mut diagnostics);
        let errors = diagnostics.errors;
        assert_eq!(errors.len(), 1, "{errors:?}");
        let text = errors[0].to_string();
        assert!(text.contains("include loop"), "{text}");
        assert!(text.contains("b.conf:1"), "{text}");
    }

    #[test]
    fn a_file_including_itself_is_a_loop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write(dir.path(), "a.conf", "lxc.include = a.conf\n");
        let mut diagnostics = Diagnostics::default();
        read_file(&a, &mut diagnostics);
        let errors = diagnostics.errors;
        assert!(
            matches!(errors[..], [ConfigError::IncludeLoop { .. }]),
            "{errors:?}"
        );
    }

    #[test]
    fn missing_include_is_skipped_with_a_warning_at_the_including_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write(dir.path(), "a.conf", "\nlxc.include = nope.conf\n");
        let mut diagnostics = Diagnostics::default();
        read_file(&a, &mut diagnostics);
        assert!(diagnostics.errors.is_empty(), "{diagnostics:?}");
        let text = diagnostics.warnings[0].to_string();
        assert!(text.contains("a.conf:2: lxc.include: "), "{text}");
        assert!(
            text.ends_with("nope.conf does not exist; skipped"),
            "{text}"
        );
    }

    #[test]
    fn unreadable_include_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write(dir.path(), "a.conf", "lxc.include = /proc/self/mem\n");
        let mut diagnostics = Diagnostics::default();
        read_file(&a, &mut diagnostics);
        let text = diagnostics.errors[0].to_string();
        assert!(
            text.contains("a.conf:1: lxc.include: cannot read"),
            "{text}"
        );
    }

    #[test]
    fn nul_byte_is_an_error_at_its_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.conf");
        fs::write(&a, b"lxc.uts.name = a\nlxc.cap.drop = \0sys_admin\n").expect("write");
        let mut diagnostics = Diagnostics::default();
        let entries = read_file(&a, &mut diagnostics);
        assert!(entries.is_empty());
        let errors = diagnostics.errors;
        assert!(
            errors[0].to_string().contains("a.conf:2: NUL byte"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn malformed_line_is_an_error() {
        let mut diagnostics = Diagnostics::default();
        read_text("lxc.uts.name web\n", Path::new("x.conf"), &mut diagnostics);
        let errors = diagnostics.errors;
        assert!(
            errors[0].to_string().starts_with("x.conf:1: expected"),
            "{}",
            errors[0]
        );
    }
}
