//! Finding and reading the kernel config: `$CONFIG`, then the fallbacks in order.
//!
//! The fallbacks are `/proc/config.gz`, `/boot/config-$(uname -r)` and
//! `/lib/modules/$(uname -r)/build/.config`. Tests (and users with unusual layouts) replace
//! them with `RLXC_KERNEL_CONFIG_FALLBACKS`, a `:`-separated list of paths; set it to the empty
//! string for no fallbacks at all.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

pub const CONFIG_ENV: &str = "CONFIG";
pub const FALLBACKS_ENV: &str = "RLXC_KERNEL_CONFIG_FALLBACKS";

/// Where to look, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSearch {
    /// `$CONFIG`, tried first when set.
    pub explicit: Option<PathBuf>,
    pub fallbacks: Vec<PathBuf>,
}

/// A config that was found and read.
#[derive(Debug)]
pub struct FoundConfig {
    pub path: PathBuf,
    pub text: String,
    pub gzipped: bool,
    /// False when it came from a fallback rather than `$CONFIG`.
    pub explicit: bool,
    /// Paths tried before this one, with why they failed.
    pub skipped: Vec<Tried>,
}

/// A candidate that could not be read.
#[derive(Debug)]
pub struct Tried {
    pub path: PathBuf,
    pub error: io::Error,
    /// It was `$CONFIG` rather than a fallback.
    pub explicit: bool,
}

impl ConfigSearch {
    /// Builds the search from the two environment values (passed in so tests need not touch
    /// the real environment) and the running kernel's release.
    pub fn new(config: Option<OsString>, fallbacks: Option<OsString>, release: &str) -> Self {
        let explicit = config.filter(|value| !value.is_empty()).map(PathBuf::from);
        let fallbacks = match fallbacks {
            Some(list) => std::env::split_paths(&list)
                .filter(|path| !path.as_os_str().is_empty())
                .collect(),
            None => default_fallbacks(release),
        };
        Self {
            explicit,
            fallbacks,
        }
    }

    pub fn from_environment(release: &str) -> Self {
        Self::new(
            std::env::var_os(CONFIG_ENV),
            std::env::var_os(FALLBACKS_ENV),
            release,
        )
    }

    /// Reads the first candidate that can be read; `Err` lists every path tried.
    pub fn find(&self) -> Result<FoundConfig, Vec<Tried>> {
        let mut skipped = Vec::new();
        let candidates = self
            .explicit
            .iter()
            .map(|path| (path, true))
            .chain(self.fallbacks.iter().map(|path| (path, false)));
        for (path, explicit) in candidates {
            match read_config_file(path) {
                Ok((text, gzipped)) => {
                    return Ok(FoundConfig {
                        path: path.clone(),
                        text,
                        gzipped,
                        explicit,
                        skipped,
                    })
                }
                Err(error) => skipped.push(Tried {
                    path: path.clone(),
                    error,
                    explicit,
                }),
            }
        }
        Err(skipped)
    }
}

pub fn default_fallbacks(release: &str) -> Vec<PathBuf> {
    vec![
        PathBuf::from("/proc/config.gz"),
        PathBuf::from(format!("/boot/config-{release}")),
        PathBuf::from(format!("/lib/modules/{release}/build/.config")),
    ]
}

/// Reads a config, gunzipping it when it starts with the gzip magic (whatever its name).
pub fn read_config_file(path: &Path) -> io::Result<(String, bool)> {
    let bytes = fs::read(path)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        GzDecoder::new(bytes.as_slice()).read_to_string(&mut text)?;
        Ok((text, true))
    } else {
        let text = String::from_utf8(bytes)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        Ok((text, false))
    }
}

/// The running kernel's release (`uname -r`), read from procfs.
pub fn running_release() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|text| text.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, bytes).expect("write fixture");
        path
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(text.as_bytes()).expect("compress");
        encoder.finish().expect("finish gzip")
    }

    #[test]
    fn default_order_is_procfs_then_boot_then_build_tree() {
        let search = ConfigSearch::new(None, None, "6.1.0-test");
        assert_eq!(search.explicit, None);
        assert_eq!(
            search.fallbacks,
            [
                PathBuf::from("/proc/config.gz"),
                PathBuf::from("/boot/config-6.1.0-test"),
                PathBuf::from("/lib/modules/6.1.0-test/build/.config"),
            ]
        );
    }

    #[test]
    fn fallbacks_can_be_replaced_or_emptied() {
        let search = ConfigSearch::new(Some("/x".into()), Some("/a:/b".into()), "r");
        assert_eq!(search.explicit, Some(PathBuf::from("/x")));
        assert_eq!(search.fallbacks, [PathBuf::from("/a"), PathBuf::from("/b")]);
        let none = ConfigSearch::new(Some("".into()), Some("".into()), "r");
        assert_eq!(none.explicit, None);
        assert!(none.fallbacks.is_empty());
    }

    #[test]
    fn explicit_config_wins_over_fallbacks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let explicit = write(dir.path(), "mine", b"CONFIG_A=y\n");
        let fallback = write(dir.path(), "fallback", b"CONFIG_B=y\n");
        let found = ConfigSearch {
            explicit: Some(explicit.clone()),
            fallbacks: vec![fallback],
        }
        .find()
        .expect("found");
        assert_eq!(found.path, explicit);
        assert!(found.explicit);
        assert!(found.skipped.is_empty());
    }

    #[test]
    fn a_missing_explicit_config_falls_back_and_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fallback = write(dir.path(), "fallback", b"CONFIG_B=y\n");
        let found = ConfigSearch {
            explicit: Some(dir.path().join("nope")),
            fallbacks: vec![dir.path().join("also-nope"), fallback.clone()],
        }
        .find()
        .expect("found");
        assert_eq!(found.path, fallback);
        assert!(!found.explicit);
        assert_eq!(found.skipped.len(), 2);
        assert_eq!(found.skipped[0].error.kind(), io::ErrorKind::NotFound);
        assert!(found.skipped[0].explicit);
        assert!(!found.skipped[1].explicit);
    }

    #[test]
    fn nothing_found_lists_every_path_tried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tried = ConfigSearch {
            explicit: Some(dir.path().join("a")),
            fallbacks: vec![dir.path().join("b")],
        }
        .find()
        .expect_err("nothing there");
        assert_eq!(tried.len(), 2);
    }

    #[test]
    fn gzip_is_recognised_by_content_not_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "config", &gzip("CONFIG_VETH=y\n"));
        let (text, gzipped) = read_config_file(&path).expect("read");
        assert!(gzipped);
        assert_eq!(text, "CONFIG_VETH=y\n");
        let plain = write(dir.path(), "config.gz", b"CONFIG_VETH=m\n");
        assert_eq!(
            read_config_file(&plain).expect("read"),
            ("CONFIG_VETH=m\n".to_owned(), false)
        );
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_garbage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = gzip("CONFIG_VETH=y\n");
        bytes.truncate(12);
        let path = write(dir.path(), "config.gz", &bytes);
        assert!(read_config_file(&path).is_err());
    }
}
