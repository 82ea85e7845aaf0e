//! Man pages from the definitions: `rlxc(1)` and `rlxc-VERB(1)` by clap_mangen from the
//! commands the binary parses with, `rlxc.container.conf(5)` and `rlxc.conf(5)` from the key
//! tables of rlxc-config (conf.rs).

mod conf;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Command;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::dispatch::VERSION;

/// Writes every page below `out` (`man1/`, `man5/`) and returns their paths.
pub fn write_all(out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut pages = command_pages()?;
    pages.push((
        "5",
        "rlxc.container.conf".to_owned(),
        conf::container_page(),
    ));
    pages.push(("5", "rlxc.conf".to_owned(), conf::system_page()));
    let mut written = Vec::new();
    for (section, name, text) in pages {
        let dir = out.join(format!("man{section}"));
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.{section}"));
        fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// `rlxc(1)`, then one page per visible verb (and per subcommand of a verb that has them:
/// `rlxc-config-check(1)`), each named by its display name (`rlxc-start`).
fn command_pages() -> anyhow::Result<Vec<(&'static str, String, String)>> {
    let mut top = crate::completions::rlxc_command().disable_help_subcommand(true);
    top.build();
    let verbs: Vec<String> = top
        .get_subcommands()
        .filter(|verb| !verb.is_hide_set())
        .map(page_name)
        .collect();
    let mut pages = Vec::new();
    let mut see_also: Vec<String> = verbs.iter().map(|verb| format!("{verb}(1)")).collect();
    see_also.extend(["rlxc.container.conf(5)", "rlxc.conf(5)", "lxc(7)"].map(String::from));
    pages.push(("1", "rlxc".to_owned(), render(&top, &see_also)?));
    let mut stack: Vec<Command> = top.get_subcommands().cloned().collect();
    while let Some(command) = stack.pop() {
        if command.is_hide_set() {
            continue;
        }
        stack.extend(command.get_subcommands().cloned());
        let name = page_name(&command);
        let verb = name.trim_start_matches("rlxc-");
        let mut see_also = vec!["rlxc(1)".to_owned()];
        if crate::verbs::lxc_tools().any(|tool| tool.name == verb) {
            // LXC's page of the same tool: the options are meant to be the same.
            see_also.push(format!("lxc-{verb}(1)"));
        }
        if verb.starts_with("config") {
            see_also.extend(["rlxc.container.conf(5)", "rlxc.conf(5)"].map(String::from));
        }
        pages.push(("1", name, render(&command, &see_also)?));
    }
    Ok(pages)
}

fn page_name(command: &Command) -> String {
    command
        .get_display_name()
        .unwrap_or_else(|| command.get_name())
        .to_owned()
}

/// clap_mangen's page with the version in its footer and a SEE ALSO section.
fn render(command: &Command, see_also: &[String]) -> anyhow::Result<String> {
    let man = Man::new(command.clone())
        .source(format!("rlxc {VERSION}"))
        .manual("rlxc manual");
    let mut buffer = Vec::new();
    man.render(&mut buffer).context("rendering a man page")?;
    let mut text = String::from_utf8(buffer).context("a man page that is not UTF-8")?;
    text.push_str(&see_also_section(see_also));
    Ok(text)
}

/// `.SH "SEE ALSO"` with the pages as `name(section)`, bold names, comma separated.
pub fn see_also_section(pages: &[String]) -> String {
    let mut roff = Roff::new();
    roff.control("SH", ["SEE ALSO"]);
    let mut inlines = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let (name, section) = page.split_once('(').unwrap_or((page, ""));
        if i > 0 {
            inlines.push(roman(", "));
        }
        inlines.push(bold(name));
        if !section.is_empty() {
            inlines.push(roman(format!("({section}")));
        }
    }
    roff.text(inlines);
    roff.to_roff()
}
