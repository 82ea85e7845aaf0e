//! Parsers for option values that several verbs share, so a bad value is refused by clap with
//! the option's name in the message, before any verb runs.

/// `KEY=VALUE`, as in `lxc-start -s lxc.tty.max=2` or `lxc-attach -v TERM=xterm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

pub fn key_value(text: &str) -> Result<KeyValue, String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok(KeyValue {
            key: key.trim().to_owned(),
            value: value.trim().to_owned(),
        }),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// The words of one list-valued option (`-s RUNNING|FROZEN`, `-F NAME,STATE`).
///
/// An alias because clap's derive reads a field spelled `Vec<_>` as "the option repeats";
/// under another name it is one value that the parser splits.
pub type Words = Vec<String>;

/// LXC's OR'd lists such as `RUNNING|FROZEN` or `CAP|CGROUP`.
pub fn or_list(text: &str, allowed: &[&str]) -> Result<Words, String> {
    word_list(text, '|', allowed)
}

/// Words separated by `separator`, each one of `allowed` (compared without case), returned
/// upper-case as `allowed` spells them.
pub fn word_list(text: &str, separator: char, allowed: &[&str]) -> Result<Words, String> {
    text.split(separator)
        .map(|word| {
            let word = word.trim().to_ascii_uppercase();
            if allowed.contains(&word.as_str()) {
                Ok(word)
            } else {
                Err(format!(
                    "unknown value {word:?}; use one or more of {} joined by '{separator}'",
                    allowed.join(", ")
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_splits_at_the_first_equals_sign() {
        let kv = key_value("lxc.environment = A=B").expect("parses");
        assert_eq!(
            (kv.key.as_str(), kv.value.as_str()),
            ("lxc.environment", "A=B")
        );
        assert!(key_value("no-equals").is_err());
        assert!(key_value("=value").is_err());
    }

    #[test]
    fn or_list_checks_every_word() {
        let allowed = ["RUNNING", "FROZEN", "STOPPED"];
        assert_eq!(
            or_list("running|FROZEN", &allowed),
            Ok(vec!["RUNNING".to_owned(), "FROZEN".to_owned()])
        );
        assert!(or_list("RUNNING|DANCING", &allowed).is_err());
    }
}
