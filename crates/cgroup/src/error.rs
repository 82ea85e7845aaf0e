use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("reading mount table {path}: {source}")]
    ReadMountinfo {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("mount table line {line_number}: {reason}: {line:?}")]
    MalformedMountinfo {
        line_number: usize,
        line: String,
        reason: &'static str,
    },
    #[error("reading the cgroup2 controllers from {path}: {source}")]
    ReadControllers {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
