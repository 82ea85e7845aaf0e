//! `rlxc console` / `lxc-console`.

use std::process::ExitCode;

use anyhow::{bail, Context};
use rlxc_runtime::monitor::control::{request, ControlError, Request, Response};

use crate::common::CommonOpts;
use crate::console_client::{describe_prefix, relay, SessionEnd};

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

pub fn run(args: &Args, common: &CommonOpts) -> anyhow::Result<ExitCode> {
    let paths = common.container_paths()?;
    // -1, as in LXC: the first free tty (where distributions run their gettys), or the
    // console of a container without ttys.
    let wanted = match u32::try_from(args.tty) {
        Ok(tty) => Request::Console { tty },
        Err(_) => Request::FreeTty,
    };
    let (tty, stream) = match request(&paths.socket(), &wanted) {
        Ok((Response::ConsoleAttached { tty }, stream)) => (tty, stream),
        Ok((other, _)) => bail!("console: unexpected answer from the monitor: {other:?}"),
        Err(ControlError::NotRunning { .. }) => bail!("{} is not running", paths.name),
        Err(e) => return Err(e).context("console"),
    };
    let prefix = describe_prefix(args.escape);
    say(&format!(
        "\r\nConnected to tty {tty}\r\nType <{prefix} q> to exit the console, <{prefix} {prefix}> to enter {prefix} itself\r\n"
    ));
    match relay(stream, args.escape).context("console")? {
        SessionEnd::Detached => say("\r\n"),
        SessionEnd::ContainerGone => say(&format!("\r\n{} stopped\r\n", paths.name)),
    }
    Ok(ExitCode::SUCCESS)
}

/// One write to stderr; a closed stderr is no reason to abandon the session.
fn say(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(text.as_bytes());
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
