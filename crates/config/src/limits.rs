//! Bounds on config input, and the one way messages quote it.
//!
//! A config is read by every verb, `rlxc ls` reads every container's: one mistaken line (a
//! 10 MB key, a binary pasted into a value) must cost a short, clear error, never a minute of
//! work or a screenful of its own text echoed back.

use std::borrow::Cow;
use std::path::Path;

/// The longest config line read, in bytes. No value longer than Linux's `MAX_ARG_STRLEN`
/// (128 KiB, the most one argument or environment string may be) can do anything: an
/// `lxc.environment` or `lxc.hook` value is passed to exec whole, and every other value is
/// a path (4 KiB), a mount entry (two paths and a page of options) or a short word. The
/// extra 4 KiB leave room for the key, spaces, quotes and a comment around such a value.
pub const MAX_LINE_LEN: usize = 128 * 1024 + 4 * 1024;

/// The longest key, in bytes. The table's longest is 30 (`lxc.cgroup.dir.container.inner`);
/// the open-ended ones (`lxc.cgroup2.FILE`, `lxc.sysctl.NAME`, `lxc.net.N.SUB`) stay well
/// under 100 with any real cgroup file or sysctl; 256 leaves room for what kernels add.
pub const MAX_KEY_LEN: usize = 256;

/// How many characters of an input a message shows before cutting it.
pub const SHOWN_CHARS: usize = 64;

/// `input` as written, or its first [`SHOWN_CHARS`] characters and `… (N bytes)`.
pub fn shorten(input: &str) -> Cow<'_, str> {
    match input.char_indices().nth(SHOWN_CHARS) {
        None => Cow::Borrowed(input),
        Some((cut, _)) => Cow::Owned(format!("{}… ({} bytes)", &input[..cut], input.len())),
    }
}

/// A path as [`Path::display`] shows it, cut only past `PATH_MAX` (4096) characters: a path
/// that long names no file, so it came from a mistaken value; a real one is shown whole.
pub fn shorten_path(path: &Path) -> Cow<'_, str> {
    const PATH_MAX: usize = 4096;
    let text = path.to_string_lossy();
    match text.char_indices().nth(PATH_MAX) {
        None => text,
        Some((cut, _)) => Cow::Owned(format!("{}… ({} bytes)", &text[..cut], text.len())),
    }
}

/// `input` in double quotes with escapes (so stray spaces, empty strings and control
/// characters show), cut as [`shorten`] does: `"abc…"… (N bytes)`.
pub fn quote(input: &str) -> String {
    match input.char_indices().nth(SHOWN_CHARS) {
        None => format!("{input:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &input[..cut], input.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_input_is_shown_whole() {
        assert_eq!(shorten("lxc.uts.name"), "lxc.uts.name");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn long_input_is_cut_at_a_character_with_its_size() {
        let long = "é".repeat(100);
        let shown = shorten(&long);
        assert_eq!(shown, format!("{}… (200 bytes)", "é".repeat(64)));
        assert_eq!(quote(&long), format!("\"{}\"… (200 bytes)", "é".repeat(64)));
    }
}
