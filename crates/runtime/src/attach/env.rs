//! The attached command's environment, LXC's way: the caller's environment (`--keep-env`, the
//! default) or an empty one (`--clear-env`) with the `--keep-var`s, then `container=lxc`, then
//! the `-v VAR=VALUE`s, then a PATH if there is still none.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

pub use crate::exec::DEFAULT_PATH;

/// How to build the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvPolicy {
    /// `--clear-env`: start from nothing instead of the caller's environment.
    pub clear: bool,
    /// `--keep-var`: caller variables that survive `--clear-env`.
    pub keep_vars: Vec<String>,
    /// `-v VAR=VALUE`, in order; later ones win.
    pub set_vars: Vec<(String, String)>,
}

/// The `NAME=VALUE` list for execve. `caller` is the caller's environment (passed in so tests
/// need not touch the process's own). Names or values with a NUL byte cannot be passed to
/// execve and are left out.
pub(crate) fn build(
    policy: &EnvPolicy,
    caller: impl IntoIterator<Item = (OsString, OsString)>,
) -> Vec<CString> {
    let mut vars: Vec<(OsString, OsString)> = caller
        .into_iter()
        .filter(|(name, _)| !policy.clear || policy.keep_vars.iter().any(|k| OsStr::new(k) == name))
        .collect();
    set(&mut vars, "container", "lxc");
    for (name, value) in &policy.set_vars {
        set(&mut vars, name, value);
    }
    if !vars.iter().any(|(name, _)| name == "PATH") {
        set(&mut vars, "PATH", DEFAULT_PATH);
    }
    vars.into_iter()
        .filter_map(|(name, value)| {
            let mut entry = name.into_vec();
            entry.push(b'=');
            entry.extend_from_slice(value.as_bytes());
            CString::new(entry).ok()
        })
        .collect()
}

fn set(vars: &mut Vec<(OsString, OsString)>, name: &str, value: &str) {
    vars.retain(|(existing, _)| existing != name);
    vars.push((name.into(), value.into()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::lookup;

    fn caller() -> Vec<(OsString, OsString)> {
        [
            ("HOME", "/root"),
            ("TERM", "xterm"),
            ("PATH", "/host/bin"),
            ("container", "no"),
        ]
        .into_iter()
        .map(|(n, v)| (n.into(), v.into()))
        .collect()
    }

    fn strings(env: &[CString]) -> Vec<String> {
        env.iter()
            .map(|e| e.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn keep_env_is_the_callers_plus_container_lxc() {
        let env = strings(&build(&EnvPolicy::default(), caller()));
        assert_eq!(
            env,
            [
                "HOME=/root",
                "TERM=xterm",
                "PATH=/host/bin",
                "container=lxc"
            ]
        );
    }

    #[test]
    fn clear_env_keeps_only_container_the_kept_vars_the_set_vars_and_a_path() {
        let policy = EnvPolicy {
            clear: true,
            keep_vars: vec!["TERM".into()],
            set_vars: vec![("A".into(), "B".into()), ("A".into(), "C=D".into())],
        };
        let env = strings(&build(&policy, caller()));
        assert_eq!(
            env,
            [
                "TERM=xterm".to_string(),
                "container=lxc".into(),
                "A=C=D".into(),
                format!("PATH={DEFAULT_PATH}"),
            ]
        );
    }

    #[test]
    fn set_vars_win_over_container_and_path_lookup_reads_the_list() {
        let policy = EnvPolicy {
            set_vars: vec![("container".into(), "custom".into())],
            ..EnvPolicy::default()
        };
        let env = build(&policy, caller());
        assert_eq!(lookup(&env, "container"), Some(b"custom".as_slice()));
        assert_eq!(lookup(&env, "PATH"), Some(b"/host/bin".as_slice()));
        assert_eq!(lookup(&env, "PAT"), None);
    }
}
