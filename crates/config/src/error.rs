//! Errors and warnings of config loading, each pointing at a file, a line and a key.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::limits::{quote, shorten, shorten_path};

/// Where a config line came from: a file and line, or a `-s KEY=VAL` on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Origin {
    File { path: PathBuf, line: usize },
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{}:{}", path.display(), line),
            Origin::CommandLine => f.write_str("<command line>"),
        }
    }
}

/// One thing wrong with a config. Displayed as `FILE:LINE: KEY: reason`; every key, value or
/// line quoted is cut to its first [`SHOWN_CHARS`](crate::limits::SHOWN_CHARS) characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{}: cannot read: {reason}", shorten_path(.path))]
    Read { path: PathBuf, reason: String },
    #[error("{origin}: expected `lxc.KEY = VALUE`, found {}", quote(.found))]
    Syntax { origin: Origin, found: String },
    #[error("{origin}: {reason}")]
    Encoding { origin: Origin, reason: String },
    /// A line longer than [`MAX_LINE_LEN`](crate::limits::MAX_LINE_LEN); `start` is its
    /// beginning, which is all the message shows.
    #[error("{origin}: line of {length} bytes, longer than the {limit} a config line may be: {}…", quote(.start))]
    LineTooLong {
        origin: Origin,
        start: String,
        length: usize,
        limit: usize,
    },
    /// A key longer than [`MAX_KEY_LEN`](crate::limits::MAX_KEY_LEN); `key` is its beginning.
    #[error("{origin}: key of {length} bytes, longer than the {limit} a key may be: {}…", quote(.key))]
    KeyTooLong {
        origin: Origin,
        key: String,
        length: usize,
        limit: usize,
    },
    #[error("{origin}: {}: unknown key{}", shorten(.key), suggestion_text(.suggestion))]
    UnknownKey {
        origin: Origin,
        key: String,
        suggestion: Option<String>,
    },
    #[error("{origin}: {}: {reason}", shorten(.key))]
    Value {
        origin: Origin,
        key: String,
        reason: String,
    },
    /// A key rlxc does not do, set: the start would not do what the config says.
    #[error("{origin}: {}: refused: {reason}", shorten(.key))]
    Refused {
        origin: Origin,
        key: String,
        reason: String,
    },
    /// The config was not read past here: it already had [`MAX_ERRORS`](crate::load::MAX_ERRORS).
    #[error("{origin}: not read from here on: {count} errors already")]
    TooManyErrors { origin: Origin, count: usize },
    #[error("{origin}: lxc.include: include loop: {}", include_chain(.chain))]
    IncludeLoop { origin: Origin, chain: Vec<String> },
    #[error("{origin}: {}: cannot be used together with {other_key} (set at {other_origin})", shorten(.key))]
    Conflict {
        origin: Origin,
        key: String,
        other_key: String,
        other_origin: Origin,
    },
}

fn include_chain(chain: &[String]) -> String {
    let shown: Vec<Cow<'_, str>> = chain
        .iter()
        .map(|path| shorten_path(Path::new(path)))
        .collect();
    shown.join(" -> ")
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {s}?)"),
        None => String::new(),
    }
}

impl ConfigError {
    /// The origin the error points at, when it has one.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Syntax { origin, .. }
            | ConfigError::Encoding { origin, .. }
            | ConfigError::LineTooLong { origin, .. }
            | ConfigError::KeyTooLong { origin, .. }
            | ConfigError::TooManyErrors { origin, .. }
            | ConfigError::UnknownKey { origin, .. }
            | ConfigError::Value { origin, .. }
            | ConfigError::Refused { origin, .. }
            | ConfigError::IncludeLoop { origin, .. }
            | ConfigError::Conflict { origin, .. } => Some(origin),
        }
    }
}

/// Something accepted but worth telling: a legacy key, a setting that does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub origin: Origin,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.origin,
            shorten(&self.key),
            self.message
        )
    }
}

/// A config that could not be loaded: every error found, plus the warnings seen on the way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render_errors(.errors))]
pub struct LoadFailure {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<Warning>,
}

fn render_errors(errors: &[ConfigError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}
