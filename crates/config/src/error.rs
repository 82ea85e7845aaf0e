//! Errors and warnings of config loading, each pointing at a file, a line and a key.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

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

/// One thing wrong with a config. Displayed as `FILE:LINE: KEY: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("{origin}: expected `lxc.KEY = VALUE`, found {found:?}")]
    Syntax { origin: Origin, found: String },
    #[error("{origin}: {reason}")]
    Encoding { origin: Origin, reason: String },
    #[error("{origin}: {key}: unknown key{}", suggestion_text(.suggestion))]
    UnknownKey {
        origin: Origin,
        key: String,
        suggestion: Option<String>,
    },
    #[error("{origin}: {key}: {reason}")]
    Value {
        origin: Origin,
        key: String,
        reason: String,
    },
    /// A key rlxc does not do, set: the start would not do what the config says.
    #[error("{origin}: {key}: refused: {reason}")]
    Refused {
        origin: Origin,
        key: String,
        reason: String,
    },
    #[error("{origin}: lxc.include: include loop: {}", .chain.join(" -> "))]
    IncludeLoop { origin: Origin, chain: Vec<String> },
    #[error("{origin}: {key}: cannot be used together with {other_key} (set at {other_origin})")]
    Conflict {
        origin: Origin,
        key: String,
        other_key: String,
        other_origin: Origin,
    },
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
        write!(f, "{}: {}: {}", self.origin, self.key, self.message)
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
