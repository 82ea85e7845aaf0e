//! Rendering: aligned columns, colour only for terminals.

use std::io::{self, Write};

use super::verdict::{Cell, Tone};

const LABEL_WIDTH: usize = 36;
const NEED_WIDTH: usize = 9;
const CONFIG_WIDTH: usize = 24;

/// Colour when stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org).
pub fn colour_wanted(stdout_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stdout_is_terminal && !matches!(no_color, Some(value) if !value.is_empty())
}

pub struct Printer<W: Write> {
    out: W,
    colour: bool,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, colour: bool) -> Self {
        Self { out, colour }
    }

    pub fn line(&mut self, text: &str) -> io::Result<()> {
        writeln!(self.out, "{text}")
    }

    pub fn column_titles(&mut self) -> io::Result<()> {
        let titles = format!(
            "  {:LABEL_WIDTH$} {:NEED_WIDTH$} {:CONFIG_WIDTH$} {}",
            "", "need", "kernel config", "this system"
        );
        let underline = self.paint(titles.trim_end(), Tone::Quiet);
        writeln!(self.out, "{underline}")
    }

    pub fn section(&mut self, title: &str) -> io::Result<()> {
        writeln!(self.out, "\n--- {title} ---")
    }

    pub fn row(&mut self, label: &str, need: &str, config: &Cell, live: &Cell) -> io::Result<()> {
        // Pad before painting, so escape codes do not count towards the width.
        let config_text = format!("{:CONFIG_WIDTH$}", config.text);
        let config_text = self.paint(&config_text, config.tone);
        let live_text = self.paint(&live.text, live.tone);
        writeln!(
            self.out,
            "  {label:LABEL_WIDTH$} {need:NEED_WIDTH$} {config_text} {live_text}"
        )
    }

    fn paint(&self, text: &str, tone: Tone) -> String {
        if !self.colour {
            return text.to_owned();
        }
        let code = match tone {
            Tone::Good => "32",
            Tone::Warn => "33",
            Tone::Bad => "31",
            Tone::Quiet => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    fn cell(text: &str, tone: Tone) -> Cell {
        Cell {
            text: text.to_owned(),
            tone,
        }
    }

    fn render(colour: bool) -> String {
        let mut buffer = Vec::new();
        let mut printer = Printer::new(&mut buffer, colour);
        printer
            .row(
                "Vlan",
                "optional",
                &cell("missing", Tone::Warn),
                &cell("not in kernel: EOPNOTSUPP", Tone::Warn),
            )
            .expect("write");
        String::from_utf8(buffer).expect("utf-8")
    }

    #[test]
    fn plain_output_has_no_escape_codes_and_aligned_columns() {
        let text = render(false);
        assert!(!text.contains('\x1b'));
        let config_column = 2 + LABEL_WIDTH + 1 + NEED_WIDTH + 1;
        assert_eq!(text.find("missing"), Some(config_column));
    }

    #[test]
    fn colour_wraps_cells_in_sgr_codes() {
        let text = render(true);
        assert!(text.contains("\x1b[33mmissing"));
        assert!(text.contains("\x1b[0m"));
    }

    #[test]
    fn colour_only_for_terminals_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }
}
