//! `rlxc console` / `lxc-console`.

use std::process::ExitCode;

use crate::common::CommonOpts;
use crate::verbs::not_available;

/// Options of `lxc-console`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tty number to connect to; 0 is the console, -1 the first free tty
    #[arg(short = 't', long, value_name = "N", default_value_t = -1, allow_negative_numbers = true)]
    pub tty: i32,

    /// Escape prefix as '^x' or 'x' (Ctrl+x); default Ctrl+a
    #[arg(short = 'e', long, value_name = "PREFIX", default_value = "^a", value_parser = escape_prefix)]
    pub escape: u8,
}

/// `^b` and `b` both mean Ctrl+b, as in LXC: the control byte is the letter's low five bits.
fn escape_prefix(text: &str) -> Result<u8, String> {
    let letter = text.strip_prefix('^').unwrap_or(text);
    match letter.as_bytes() {
        [byte] if byte.is_ascii_alphabetic() => Ok(byte & 0x1f),
        _ => Err(format!("expected a letter as '^x' or 'x', got {text:?}")),
    }
}

pub fn run(_args: &Args, _common: &CommonOpts) -> anyhow::Result<ExitCode> {
    not_available("console")
}

#[cfg(test)]
mod tests {
    use super::escape_prefix;

    #[test]
    fn escape_prefix_is_a_control_byte() {
        assert_eq!(escape_prefix("^a"), Ok(1));
        assert_eq!(escape_prefix("b"), Ok(2));
        assert_eq!(escape_prefix("^B"), Ok(2));
        assert!(escape_prefix("^").is_err());
        assert!(escape_prefix("ab").is_err());
    }
}
