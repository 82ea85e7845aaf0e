//! Config lines a start runs without enforcing, because of what this host is (a kernel
//! without AppArmor) or what rlxc itself runs under (the seccomp filter of a container it is
//! nested in). Found by the one validation, said once at the line by `start` and
//! `config check` alike, never dropped in silence.

/// `key = value` as the config wrote it (for the CLI to find its file and line), and why
/// the container runs without it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} = {value}: {why}")]
pub struct Unenforced {
    pub key: &'static str,
    pub value: String,
    pub why: &'static str,
}
