//! `rlxc update-config`: rewrite a legacy config in place with today's keys.
//!
//! Unlike LXC's sed script, this uses the same translation as the parser, so `lxc.limit.*` and
//! indexed `lxc.network.N.ipv4` come out right, and the result loads to the same spec. Comments,
//! blank lines, order and inline comments stay; commented-out legacy lines are renamed too, so
//! uncommenting them later still works. Removed keys are commented out with the reason.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::grammar::{parse_line, split_trailing_comment, Line};
use crate::legacy::{Translation, Translator};

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReport {
    /// Where the original was kept; `None` when nothing needed changing (nothing written).
    pub backup: Option<PathBuf>,
    /// Lines that changed (1-based).
    pub changed_lines: Vec<usize>,
}

/// Why an update could not be done; the file is untouched then.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{path}: not UTF-8 text")]
    NotText { path: PathBuf },
    #[error("{path}:{line}: {key}: {reason}")]
    Translate {
        path: PathBuf,
        line: usize,
        key: String,
        reason: String,
    },
}

/// Rewrites `path` in place (atomically), keeping the original at `PATH.backup`.
pub fn update_file(path: &Path) -> Result<UpdateReport, UpdateError> {
    let io = |cause| UpdateError::Io {
        path: path.to_path_buf(),
        cause,
    };
    let original = crate::source::read_config_file(path).map_err(io)?;
    let text = String::from_utf8(original.clone()).map_err(|_| UpdateError::NotText {
        path: path.to_path_buf(),
    })?;
    let (updated, changed_lines) =
        update_text(&text).map_err(|(line, key, reason)| UpdateError::Translate {
            path: path.to_path_buf(),
            line,
            key,
            reason,
        })?;
    if changed_lines.is_empty() {
        return Ok(UpdateReport {
            backup: None,
            changed_lines,
        });
    }
    let backup = backup_path(path);
    fs::write(&backup, &original).map_err(|cause| UpdateError::Io {
        path: backup.clone(),
        cause,
    })?;
    write_atomically(path, updated.as_bytes()).map_err(io)?;
    Ok(UpdateReport {
        backup: Some(backup),
        changed_lines,
    })
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".backup");
    PathBuf::from(name)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    if let Ok(meta) = fs::metadata(path) {
        temp.as_file().set_permissions(meta.permissions())?;
    }
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The rewritten text and the changed line numbers; an error is (line, key, reason).
pub fn update_text(text: &str) -> Result<(String, Vec<usize>), (usize, String, String)> {
    let backend = rootfs_backend(text);
    let mut translator = Translator::new();
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = Vec::new();
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let (body, newline) = match raw.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (raw, ""),
        };
        let rewritten = match commented_entry(body) {
            // Commented-out lines are renamed without moving the network counter.
            Some((hash_prefix, inner)) => {
                let mut scratch = translator.clone();
                rewrite_line(inner, &mut scratch, backend.as_deref())
                    .ok()
                    .flatten()
                    .map(|line| format!("{hash_prefix}{line}"))
            }
            None => rewrite_line(body, &mut translator, backend.as_deref())
                .map_err(|(key, reason)| (index + 1, key, reason))?,
        };
        match rewritten {
            Some(line) if line != body => {
                changed.push(index + 1);
                out.push_str(&line);
            }
            _ => out.push_str(body),
        }
        out.push_str(newline);
    }
    Ok((out, changed))
}

/// `#lxc.tty = 6` → ("#", "lxc.tty = 6").
fn commented_entry(body: &str) -> Option<(&str, &str)> {
    let trimmed = body.trim_start();
    let after_hashes = trimmed.trim_start_matches('#');
    if after_hashes.len() == trimmed.len() {
        return None;
    }
    let inner = after_hashes.trim_start();
    inner
        .starts_with("lxc.")
        .then(|| (&body[..body.len() - inner.len()], inner))
}

/// The line with its key translated; `None` when it needs no change.
fn rewrite_line(
    body: &str,
    translator: &mut Translator,
    backend: Option<&str>,
) -> Result<Option<String>, (String, String)> {
    let Line::Entry { key, value } = parse_line(body) else {
        return Ok(None);
    };
    let translation = translator
        .translate(key, value)
        .map_err(|reason| (key.to_string(), reason))?;
    let key_at = body.find(key).unwrap_or(0);
    let (before, after) = (&body[..key_at], &body[key_at + key.len()..]);
    match translation {
        Translation::Modern(_) => Ok(None),
        Translation::Removed { reason, .. } => Ok(Some(format!(
            "# removed by rlxc update-config ({reason}): {body}"
        ))),
        Translation::Legacy { modern, .. } => {
            let line = format!("{before}{modern}{after}");
            match (modern.as_str(), backend) {
                ("lxc.rootfs.path", Some(backend)) if value.starts_with('/') => {
                    let (content, comment) = split_trailing_comment(&line);
                    let prefixed = content.replacen(value, &format!("{backend}:{value}"), 1);
                    Ok(Some(format!("{prefixed}{comment}")))
                }
                _ => Ok(Some(line)),
            }
        }
    }
}

/// A non-`dir` `lxc.rootfs.backend`, which moves into the rootfs path as `TYPE:`.
fn rootfs_backend(text: &str) -> Option<String> {
    text.lines().rev().find_map(|raw| match parse_line(raw) {
        Line::Entry {
            key: "lxc.rootfs.backend",
            value,
        } if !value.is_empty() && value != "dir" => Some(value.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(text: &str) -> String {
        update_text(text).expect("update").0
    }

    #[test]
    fn renames_keys_keeping_spacing_and_comments() {
        assert_eq!(update("lxc.utsname = web\n"), "lxc.uts.name = web\n");
        assert_eq!(
            update("lxc.tty = 0  # no ttys\n"),
            "lxc.tty.max = 0  # no ttys\n"
        );
        assert_eq!(update("  lxc.pts=1024\n"), "  lxc.pty.max=1024\n");
        assert_eq!(
            update("# just a comment\n\nfoo = bar\n"),
            "# just a comment\n\nfoo = bar\n"
        );
    }

    #[test]
    fn network_lines_get_indices() {
        let text = "lxc.network.type = veth\nlxc.network.ipv4 = 10.0.0.2/24\n\
                    lxc.network.type = macvlan\nlxc.network.link = eth1\n";
        assert_eq!(
            update(text),
            "lxc.net.0.type = veth\nlxc.net.0.ipv4.address = 10.0.0.2/24\n\
             lxc.net.1.type = macvlan\nlxc.net.1.link = eth1\n"
        );
    }

    #[test]
    fn what_lxc_update_config_gets_wrong() {
        assert_eq!(
            update("lxc.limit.nofile = 1024\n"),
            "lxc.prlimit.nofile = 1024\n"
        );
        assert_eq!(
            update("lxc.network.0.ipv4 = 10.0.0.2/24\n"),
            "lxc.net.0.ipv4.address = 10.0.0.2/24\n"
        );
    }

    #[test]
    fn commented_out_legacy_lines_are_renamed_without_counting() {
        let text = "#lxc.tty = 6\n# lxc.network.type = veth\nlxc.network.type = veth\n";
        assert_eq!(
            update(text),
            "#lxc.tty.max = 6\n# lxc.net.0.type = veth\nlxc.net.0.type = veth\n"
        );
    }

    #[test]
    fn removed_keys_are_commented_out() {
        let out = update("lxc.pivotdir = lxc_putold\n");
        assert!(out.starts_with("# removed by rlxc update-config"), "{out}");
        assert!(out.contains("lxc.pivotdir = lxc_putold"), "{out}");
    }

    #[test]
    fn rootfs_backend_moves_into_the_path() {
        let out = update("lxc.rootfs.backend = lvm\nlxc.rootfs = /dev/vg/web\n");
        assert!(out.contains("lxc.rootfs.path = lvm:/dev/vg/web\n"), "{out}");
    }

    #[test]
    fn console_file_becomes_the_logfile() {
        assert_eq!(
            update("lxc.console = /var/log/web.console  # log it\n"),
            "lxc.console.logfile = /var/log/web.console  # log it\n"
        );
    }

    #[test]
    fn no_trailing_newline_is_kept() {
        assert_eq!(update("lxc.utsname = a"), "lxc.uts.name = a");
    }
}
