//! Writing a spec back as a config in today's keys, in the table's canonical order.

use crate::grammar::parse_value;
use crate::keys::{self, Section};
use crate::spec::ContainerSpec;

/// The spec as config text: `key = value` lines, a `## Section` comment before each group.
pub fn render(spec: &ContainerSpec) -> String {
    let mut text = String::new();
    let mut section: Option<Section> = None;
    let mut lines = Vec::new();
    for def in keys::all() {
        lines.clear();
        (def.render)(spec, &mut lines);
        if lines.is_empty() {
            continue;
        }
        if section != Some(def.section) {
            if section.is_some() {
                text.push('\n');
            }
            text.push_str(&format!("## {}\n", def.section.title()));
            section = Some(def.section);
        }
        for (key, value) in &lines {
            text.push_str(&line(key, value));
            text.push('\n');
        }
    }
    text
}

/// One `key = value` line, quoting the value where the grammar would otherwise change it.
pub fn line(key: &str, value: &str) -> String {
    format!("{key} = {}", quote_if_needed(value))
}

/// The value as written if the grammar reads it back unchanged, else the first quoting that
/// does (a `#` after a space, surrounding spaces, a leading quote).
fn quote_if_needed(value: &str) -> String {
    if parse_value(value) == value {
        return value.to_string();
    }
    ['"', '\'']
        .iter()
        .map(|q| format!("{q}{value}{q}"))
        .find(|quoted| parse_value(quoted) == value)
        .unwrap_or_else(|| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{parse_line, Line};

    fn value_of(line: &str) -> String {
        match parse_line(line) {
            Line::Entry { value, .. } => value.to_string(),
            other => panic!("{line:?}: {other:?}"),
        }
    }

    #[test]
    fn values_survive_the_grammar() {
        for value in [
            "plain", "A=b #c", "#x", " lead", "\"q\"", "'q'", "a\t#b", "it's #x", "'\"''",
        ] {
            let rendered = line("lxc.environment", value);
            assert_eq!(value_of(&rendered), value, "{rendered}");
        }
    }
}
