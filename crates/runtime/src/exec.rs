//! Exec of a container's command the way a shell finds it: a name without a slash is looked
//! up in the PATH of the command's own environment (not rlxc's), as LXC's start, execute and
//! attach do (`lxc-execute -n web -- sh -c ...`).

use std::ffi::CString;
use std::io;

/// The PATH a command gets when its environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The value of `name` in an execve environment list.
pub(crate) fn lookup<'a>(env: &'a [CString], name: &str) -> Option<&'a [u8]> {
    env.iter().find_map(|entry| {
        entry
            .as_bytes()
            .strip_prefix(name.as_bytes())
            .and_then(|rest| rest.strip_prefix(b"="))
    })
}

/// Why the command did not run.
#[derive(Debug)]
pub(crate) struct ExecFailure {
    /// What `argv[0]` said it was.
    pub name: String,
    pub error: io::Error,
    /// Some candidate exists (a shell's 126), else none was found (127).
    pub found: bool,
}

impl ExecFailure {
    /// `sh: command not found in the container`, or the error of the file that was found.
    pub fn message(&self) -> String {
        if !self.found && !self.name.contains('/') {
            format!("{}: command not found in the container", self.name)
        } else {
            format!("{}: {}", self.name, self.error)
        }
    }

    /// A shell's exit code for it: 126 found but not runnable, 127 not found.
    pub fn exit_code(&self) -> u8 {
        if self.found {
            126
        } else {
            127
        }
    }
}

/// The places `argv[0]` is tried, in order: itself when it has a slash, else each directory
/// of the environment's PATH (an empty entry is the current directory).
pub(crate) fn candidates(program: &CString, env: &[CString]) -> Vec<CString> {
    if program.as_bytes().contains(&b'/') {
        return vec![program.clone()];
    }
    let path = lookup(env, "PATH").unwrap_or(DEFAULT_PATH.as_bytes());
    path.split(|b| *b == b':')
        .map(|dir| if dir.is_empty() { b".".as_slice() } else { dir })
        .filter_map(|dir| {
            let mut full = dir.to_vec();
            full.push(b'/');
            full.extend_from_slice(program.as_bytes());
            CString::new(full).ok()
        })
        .collect()
}

/// execve of the command, searched as [`candidates`] says; returns only on failure, with
/// the error of the first candidate that exists (over "not found" from the others).
pub(crate) fn exec_command(argv: &[CString], env: &[CString]) -> ExecFailure {
    let Some(program) = argv.first() else {
        return ExecFailure {
            name: String::new(),
            error: io::Error::from_raw_os_error(libc::ENOENT),
            found: false,
        };
    };
    let mut found_error: Option<io::Error> = None;
    for candidate in candidates(program, env) {
        let error = crate::process::exec::execve(candidate.as_c_str(), argv, env);
        let missing = matches!(error.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR));
        if !missing && found_error.is_none() {
            found_error = Some(error);
        }
    }
    ExecFailure {
        name: program.to_string_lossy().into_owned(),
        found: found_error.is_some(),
        error: found_error.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOENT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(text: &str) -> CString {
        CString::new(text).expect("no NUL")
    }

    #[test]
    fn a_name_is_searched_in_the_commands_own_path_and_a_path_is_taken_as_it_is() {
        let env = [c("HOME=/root"), c("PATH=/opt/bin::/bin")];
        assert_eq!(
            candidates(&c("sh"), &env),
            [c("/opt/bin/sh"), c("./sh"), c("/bin/sh")]
        );
        assert_eq!(candidates(&c("./run"), &env), [c("./run")]);
        assert_eq!(candidates(&c("/bin/sh"), &env), [c("/bin/sh")]);
        // No PATH: the default one, ending in /bin.
        let defaults = candidates(&c("sh"), &[c("HOME=/")]);
        assert_eq!(defaults.first(), Some(&c("/usr/local/sbin/sh")));
        assert_eq!(defaults.last(), Some(&c("/bin/sh")));
    }

    #[test]
    fn lookup_finds_the_whole_name_only() {
        let env = [c("PATHX=/x"), c("PATH=/bin")];
        assert_eq!(lookup(&env, "PATH"), Some(b"/bin".as_slice()));
        assert_eq!(lookup(&env, "HOME"), None);
    }
}
