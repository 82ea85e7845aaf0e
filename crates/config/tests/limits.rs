//! Lines and keys have limits, refused with an error that names the limit (never a panic), and
//! no message quotes more than a short prefix of what it complains about, however long.

use std::path::Path;

use proptest::prelude::*;
use rlxc_config::keys;
use rlxc_config::limits::{MAX_KEY_LEN, MAX_LINE_LEN, SHOWN_CHARS};
use rlxc_config::{load_str, ConfigError};

/// The most a message may be: the file name, a line number, the key and reason words, and
/// a quoted prefix of at most `SHOWN_CHARS` characters (each at most 10 bytes escaped).
const MESSAGE_BOUND: usize = 600 + SHOWN_CHARS * 10;

fn errors(text: &str) -> Vec<ConfigError> {
    load_str(text, Path::new("c.conf"))
        .map(|_| Vec::new())
        .unwrap_or_else(|failure| failure.errors)
}

/// Any text of one line, the kind of thing pasted by mistake: control characters, quotes,
/// `=`, `#`, multibyte characters.
fn junk() -> impl Strategy<Value = String> {
    "[\\PC\\x01-\\x09\\x0b\\x0c\\x0e-\\x1f\\x7f =#\"'.]{1,40}"
}

/// Top-level keys whose example loads (so the long value is the only thing wrong).
fn key_names() -> Vec<&'static str> {
    keys::all()
        .filter(|def| !def.prefix && def.name != "lxc.include")
        .map(|def| def.name)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A line one byte or more past the limit is refused at its line, naming the limit,
    /// whatever it holds; nothing of it is parsed.
    #[test]
    fn overlong_lines_are_refused_naming_the_limit(
        start in junk(),
        fill in "[\\PC]",
        past in 1usize..2_000,
    ) {
        let mut line = format!("lxc.{start}");
        while line.len() < MAX_LINE_LEN + past {
            line.push_str(&fill);
        }
        let found = errors(&format!("lxc.tty.max = 1\n{line}\n"));
        prop_assert_eq!(found.len(), 1, "{:?}", found);
        let is_line_error = matches!(found[0], ConfigError::LineTooLong { .. });
        prop_assert!(is_line_error, "{:?}", found[0]);
        let message = found[0].to_string();
        prop_assert!(message.starts_with("c.conf:2: "), "{}", message);
        prop_assert!(message.contains(&format!("longer than the {MAX_LINE_LEN}")), "{}", message);
        prop_assert!(message.len() <= MESSAGE_BOUND, "{} bytes", message.len());
    }

    /// A key past its limit is refused naming that limit, and is never compared with the
    /// table's keys for a suggestion.
    #[test]
    fn overlong_keys_are_refused_naming_the_limit(
        start in "[a-z.]{1,20}",
        fill in "[\\PC&&[^\\s=#]]",
        past in 1usize..5_000,
        value in junk(),
    ) {
        let mut key = format!("lxc.{start}");
        while key.len() < MAX_KEY_LEN + past {
            key.push_str(&fill);
        }
        let found = errors(&format!("{key} = {value}\n"));
        prop_assert_eq!(found.len(), 1, "{:?}", found);
        let message = found[0].to_string();
        let expected = if key.len() + value.len() + 3 > MAX_LINE_LEN {
            format!("longer than the {MAX_LINE_LEN}")
        } else {
            format!("longer than the {MAX_KEY_LEN} a key may be")
        };
        prop_assert!(message.contains(&expected), "{}", message);
        prop_assert!(message.len() <= MESSAGE_BOUND, "{} bytes", message.len());
    }

    /// Any value of any key, however long (below the line limit), gets a message of bounded
    /// size: the value is quoted by its first characters only.
    #[test]
    fn messages_quote_a_short_prefix(
        pick in any::<prop::sample::Index>(),
        start in junk(),
        fill in "[\\PC]",
        length in 200usize..20_000,
    ) {
        let names = key_names();
        let key = pick.get(&names);
        let mut value = start;
        while value.len() < length {
            value.push_str(&fill);
        }
        for text in [
            format!("{key} = {value}\n"),
            format!("{key}x{} = 1\n", value.replace('=', "-").chars().take(150).collect::<String>()),
            format!("lxc.net.0.type = veth\nlxc.net.0.ipv4.address = {value}\n"),
        ] {
            for error in errors(&text) {
                let message = error.to_string();
                prop_assert!(message.len() <= MESSAGE_BOUND, "{} bytes: {}", message.len(),
                    message.chars().take(300).collect::<String>());
            }
        }
    }
}

/// Every key of the table, with long values of the shapes its parser takes apart (a number
/// then a suffix, fields, a device rule, an address): no message quotes a part whole. The
/// property test above found `lxc.console.size = 0AAAA…` quoting its whole "suffix".
#[test]
fn every_key_quotes_a_short_prefix_of_each_part() {
    let long = "A".repeat(2_000);
    let shapes = [
        format!("0{long}"),
        format!("1{long}"),
        long.clone(),
        format!("u 0 {long}"),
        format!("c {long}"),
        format!("c 1:{long} rwm"),
        format!("1:{long}"),
        format!("10.0.0.1/{long}"),
        format!("10.0.0.1/24 {long}"),
        format!("{long}:{long}"),
        format!("none {long} none bind 0 0"),
        format!("proc:{long}"),
    ];
    for key in key_names() {
        for value in &shapes {
            for error in errors(&format!("{key} = {value}\n")) {
                let message = error.to_string();
                assert!(
                    message.len() <= MESSAGE_BOUND,
                    "{key}: {} bytes: {}",
                    message.len(),
                    message.chars().take(300).collect::<String>()
                );
            }
        }
    }
}

/// `rlxc config check` of a 10 MB unknown key took ~50 s (an edit distance to every key of
/// the table) and printed the key whole: now one short error at once.
#[test]
fn a_ten_megabyte_key_is_one_short_error() {
    let text = format!("lxc.{} = 1\n", "k".repeat(10 << 20));
    let started = std::time::Instant::now();
    let found = errors(&text);
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(found.len(), 1, "{found:?}");
    let message = found[0].to_string();
    assert!(message.len() < 300, "{message}");
    assert!(message.contains("line of 10485768 bytes"), "{message}");
}

/// A key just past the limit, on a short line: the key's error, with its size.
#[test]
fn a_long_key_names_its_length_and_the_limit() {
    let key = format!("lxc.{}", "k".repeat(MAX_KEY_LEN));
    let found = errors(&format!("{key} = 1\n"));
    let message = found[0].to_string();
    assert!(
        message.starts_with(&format!(
            "c.conf:1: key of {} bytes, longer than the 256 a key may be: \"lxc.kkk",
            MAX_KEY_LEN + 4
        )),
        "{message}"
    );
    assert!(message.ends_with("…"), "{message}");
}

/// A file of nothing but mistakes stops at `MAX_ERRORS`, saying where, instead of an error
/// (and a line of output) for each of its lines.
#[test]
fn errors_stop_at_a_hundred_saying_where() {
    use rlxc_config::load::MAX_ERRORS;
    for line in ["lxc.uts.nmae = x", "lxc.tty.max x", "lxc.tty.max = x"] {
        let text = format!("{line}\n").repeat(10_000);
        let found = errors(&text);
        assert_eq!(found.len(), MAX_ERRORS + 1, "{line}");
        let last = found[MAX_ERRORS].to_string();
        assert_eq!(
            last,
            format!(
                "c.conf:{}: not read from here on: {MAX_ERRORS} errors already",
                MAX_ERRORS + 1
            ),
            "{line}"
        );
    }
}
