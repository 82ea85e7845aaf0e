//! One config line: LXC's `key = value` grammar, plus inline comments.
//!
//! LXC 5 treats everything after `=` as the value. The seed's configs, pasted from a wiki, write
//! `lxc.tty = 0  # set to 0 if ...` and `lxc.network.hwaddr = #put your MAC here`, which LXC
//! reads as values that are invalid (or, for the hwaddr, garbage). rlxc ends a value at a `#`
//! that follows whitespace, so those lines mean what their authors meant; a `#` glued to a word
//! (`a#b`) stays part of the value, and a quoted value keeps everything inside its quotes.

/// What one line of a config file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    /// Empty, whitespace only, or a whole-line `#` comment.
    Blank,
    /// A line not starting with `lxc.`: LXC ignores these silently, and so do we.
    Martian,
    /// `key = value`, with the value's inline comment and matching quotes removed.
    Entry { key: &'a str, value: &'a str },
    /// Starts with `lxc.` but has no `=`.
    Malformed,
}

/// Classifies one line (without its newline).
pub fn parse_line(raw: &str) -> Line<'_> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Line::Blank;
    }
    if !line.starts_with("lxc.") {
        return Line::Martian;
    }
    let Some((key, rest)) = line.split_once('=') else {
        return Line::Malformed;
    };
    Line::Entry {
        key: key.trim(),
        value: parse_value(rest),
    }
}

/// The value part after `=`: quotes, then inline comment, then surrounding whitespace.
pub fn parse_value(rest: &str) -> &str {
    let trimmed = rest.trim_start();
    if let Some(quoted) = quoted_value(trimmed) {
        return quoted;
    }
    strip_inline_comment(rest).trim()
}

/// `"..."` or `'...'` followed by nothing but whitespace or a comment.
fn quoted_value(s: &str) -> Option<&str> {
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &s[1..];
    let end = body.find(quote)?;
    let after = body[end + 1..].trim_start();
    (after.is_empty() || after.starts_with('#')).then(|| &body[..end])
}

/// Cuts the value at the first `#` that starts the value or follows a space or tab.
fn strip_inline_comment(rest: &str) -> &str {
    let bytes = rest.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            return &rest[..i];
        }
    }
    rest
}

/// Splits off the inline comment of a line, for tools that rewrite a file in place:
/// returns (content, comment-with-leading-whitespace).
pub fn split_trailing_comment(raw: &str) -> (&str, &str) {
    if let Some((_, rest)) = raw.split_once('=') {
        let value_start = raw.len() - rest.len();
        let trimmed = rest.trim_start();
        if quoted_value(trimmed).is_some() {
            // Everything after the closing quote is whitespace or a comment.
            let quote_start = raw.len() - trimmed.len();
            let quote = &raw[quote_start..quote_start + 1];
            if let Some(close) = raw[quote_start + 1..].find(quote) {
                let after = quote_start + 1 + close + 1;
                return (&raw[..after], &raw[after..]);
            }
        }
        let value = strip_inline_comment(rest);
        let cut = value_start + value.trim_end().len();
        return (&raw[..cut], &raw[cut..]);
    }
    (raw, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(raw: &str) -> (String, String) {
        match parse_line(raw) {
            Line::Entry { key, value } => (key.to_string(), value.to_string()),
            other => panic!("{raw:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn plain_key_value() {
        assert_eq!(
            entry("lxc.uts.name = web"),
            ("lxc.uts.name".into(), "web".into())
        );
        assert_eq!(
            entry("  lxc.uts.name=web  "),
            ("lxc.uts.name".into(), "web".into())
        );
    }

    #[test]
    fn whole_line_comments_and_blank_lines() {
        assert_eq!(parse_line("# lxc.tty = 6"), Line::Blank);
        assert_eq!(parse_line("   #lxc.tty = 6"), Line::Blank);
        assert_eq!(parse_line(""), Line::Blank);
        assert_eq!(parse_line("   \t "), Line::Blank);
    }

    #[test]
    fn lines_not_starting_with_lxc_are_ignored() {
        assert_eq!(parse_line("random.garbage = x"), Line::Martian);
        assert_eq!(parse_line("hello"), Line::Martian);
    }

    #[test]
    fn lxc_line_without_equals_is_malformed() {
        assert_eq!(parse_line("lxc.uts.name web"), Line::Malformed);
    }

    #[test]
    fn seed_inline_comments_end_the_value() {
        assert_eq!(entry("lxc.tty = 0  # set to 0 if you dont plan").1, "0");
        assert_eq!(
            entry("lxc.cgroup.devices.allow = c 1:3 rwm # /dev/null").1,
            "c 1:3 rwm"
        );
        assert_eq!(
            entry("lxc.cgroup.cpuset.cpus = 0        # limits container to CPU0").1,
            "0"
        );
        assert_eq!(
            entry("lxc.cgroup.blkio.weight = 500\t# requires cfq").1,
            "500"
        );
    }

    #[test]
    fn a_value_that_is_only_a_comment_is_empty() {
        let (_, v) = entry("lxc.network.hwaddr = #put your LXC container MAC address here");
        assert_eq!(v, "");
    }

    #[test]
    fn hash_inside_a_word_stays() {
        assert_eq!(entry("lxc.environment = A=b#c").1, "A=b#c");
        assert_eq!(entry("lxc.uts.name = web#1").1, "web#1");
    }

    #[test]
    fn matching_quotes_are_stripped_and_protect_hashes() {
        assert_eq!(entry("lxc.environment = \"A=b #c\"").1, "A=b #c");
        assert_eq!(entry("lxc.environment = 'x y' # note").1, "x y");
        // Unbalanced quotes are kept as written.
        assert_eq!(entry("lxc.environment = \"abc").1, "\"abc");
    }

    #[test]
    fn the_value_may_contain_equals_signs() {
        assert_eq!(
            entry("lxc.environment = PATH=/bin:/usr/bin").1,
            "PATH=/bin:/usr/bin"
        );
    }

    #[test]
    fn trailing_comment_is_split_for_rewriting() {
        assert_eq!(
            split_trailing_comment("lxc.tty = 0  # set to 0"),
            ("lxc.tty = 0", "  # set to 0")
        );
        assert_eq!(
            split_trailing_comment("lxc.pts = 1024"),
            ("lxc.pts = 1024", "")
        );
        assert_eq!(
            split_trailing_comment("lxc.network.hwaddr = #put it here"),
            ("lxc.network.hwaddr =", " #put it here")
        );
        assert_eq!(
            split_trailing_comment("lxc.environment = \"a #b\" # c"),
            ("lxc.environment = \"a #b\"", " # c")
        );
    }
}
