//! Writing a spec back as a config in today's keys, in the table's canonical order.

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

fn quote_if_needed(value: &str) -> String {
    let needs_quotes = value.starts_with('#')
        || value.contains(" #")
        || value.contains("\t#")
        || value.trim() != value
        // A leading quote would be taken as the start of a quoted value.
        || value.starts_with(['"', '\'']);
    if !needs_quotes {
        return value.to_string();
    }
    let quote = if value.contains('"') { '\'' } else { '"' };
    format!("{quote}{value}{quote}")
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
        for value in ["plain", "A=b #c", "#x", " lead", "\"q\"", "'q'", "a\t#b", "it's #x"] {
            let rendered = line("lxc.environment", value);
            assert_eq!(value_of(&rendered), value, "{rendered}");
        }
    }
}
