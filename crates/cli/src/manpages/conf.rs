//! `rlxc.container.conf(5)` and `rlxc.conf(5)`: the key references of docs/config.md as man
//! pages, from the same tables.

use clap_mangen::roff::{bold, italic, roman, Roff};
use rlxc_config::keys::{self, Support, NET_KEYS};
use rlxc_config::system::{Flavor, KEYS as SYSTEM_KEYS};

use crate::dispatch::VERSION;

/// The table docs use `code` spans; on a terminal the backticks only distract.
fn plain(text: &str) -> String {
    text.replace('`', "")
}

fn title(roff: &mut Roff, name: &str) {
    let source = format!("rlxc {VERSION}");
    roff.control(
        "TH",
        [
            name.to_uppercase().as_str(),
            "5",
            "",
            source.as_str(),
            "rlxc manual",
        ],
    );
}

fn paragraph(roff: &mut Roff, text: &str) {
    roff.control("PP", []);
    roff.text([roman(plain(text))]);
}

/// One key: its name in bold as a tagged paragraph, then its lines.
fn key_entry(roff: &mut Roff, name: &str, lines: &[String]) {
    roff.control("TP", []);
    roff.text([bold(name)]);
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            roff.control("br", []);
        }
        roff.text([roman(plain(line))]);
    }
}

fn support_line(support: Support) -> Option<String> {
    (support != Support::Supported).then(|| format!("Support: {}", support.describe()))
}

pub fn container_page() -> String {
    let mut roff = Roff::new();
    title(&mut roff, "rlxc.container.conf");
    roff.control("SH", ["NAME"]);
    roff.text([roman(
        "rlxc.container.conf - the container configuration rlxc reads (LXC's lxc.container.conf)",
    )]);
    roff.control("SH", ["DESCRIPTION"]);
    paragraph(
        &mut roff,
        "A container's config is LXCPATH/NAME/config (or the file given with --rcfile): one \
         lxc.KEY = VALUE per line, in LXC's grammar. Whole-line # comments, a # after \
         whitespace starts an inline comment, matching quotes are stripped, an empty value \
         clears the key, and later lines override earlier ones. Legacy LXC 1.x and 2.x names \
         are accepted with a warning; rlxc update-config -c FILE rewrites them.",
    );
    paragraph(
        &mut roff,
        "Each key says how far rlxc supports it when not fully: partly (some values work; rlxc \
         start and rlxc config check refuse the others), ignored (the config loads with a \
         warning, nothing is done) or refused (a config that sets it does not load). rlxc \
         config check -n NAME runs the checks of a start on this host; rlxc config keys lists \
         the keys.",
    );
    let mut section = None;
    for def in keys::all() {
        if section != Some(def.section) {
            section = Some(def.section);
            roff.control("SH", [def.section.title().to_uppercase().as_str()]);
        }
        let name = if def.prefix {
            format!("{}.*", def.name)
        } else {
            def.name.to_owned()
        };
        let mut lines = vec![def.doc.to_owned()];
        if !def.legacy.is_empty() {
            lines.push(format!("Legacy name: {}", def.legacy.join(", ")));
        }
        if def.list {
            lines.push("Repeatable: each line adds, an empty value clears.".to_owned());
        }
        lines.extend(support_line(def.support));
        lines.push(format!("Example: {}", def.example));
        key_entry(&mut roff, &name, &lines);
    }
    roff.control("SH", ["NETWORK INTERFACE KEYS"]);
    paragraph(
        &mut roff,
        "Interface N (0, 1, ...) is set by the lxc.net.N.* keys. Legacy lxc.network.* lines \
         are read too: each lxc.network.type line starts the next interface.",
    );
    for def in NET_KEYS {
        let mut lines = vec![def.doc.to_owned()];
        if let Some(only) = def.only_for {
            lines.push(format!("Only for type {only}."));
        }
        if def.list {
            lines.push("Repeatable.".to_owned());
        }
        lines.extend(support_line(def.support));
        lines.push(format!("Example: lxc.net.0.{} = {}", def.sub, def.example));
        key_entry(&mut roff, &format!("lxc.net.N.{}", def.sub), &lines);
    }
    roff.control("SH", ["FILES"]);
    key_entry(
        &mut roff,
        "/var/lib/rlxc/NAME/config",
        &[
            "The config of container NAME (the lxcpath is -P, RLXC_PATH or lxc.lxcpath of \
           rlxc.conf(5); /var/lib/lxc when called as lxc-VERB)."
                .to_owned(),
        ],
    );
    let mut text = roff.to_roff();
    text.push_str(&super::see_also_section(
        &[
            "rlxc(1)",
            "rlxc-config(1)",
            "rlxc-start(1)",
            "rlxc.conf(5)",
            "lxc.container.conf(5)",
        ]
        .map(String::from),
    ));
    text
}

pub fn system_page() -> String {
    let mut roff = Roff::new();
    title(&mut roff, "rlxc.conf");
    roff.control("SH", ["NAME"]);
    roff.text([roman(
        "rlxc.conf - rlxc's system configuration (LXC's lxc.system.conf)",
    )]);
    roff.control("SH", ["DESCRIPTION"]);
    paragraph(
        &mut roff,
        "rlxc VERB reads /etc/rlxc/rlxc.conf; called as lxc-VERB it reads LXC's \
         /etc/lxc/lxc.conf with LXC's defaults. The environment variable RLXC_CONF names \
         another file for either. A missing file is all defaults. The grammar is the \
         container config's (lxc.KEY = VALUE lines), but an unknown key or a line that is not \
         lxc.KEY = VALUE is an error naming the file and line, reported by every verb that \
         needs the system config.",
    );
    paragraph(
        &mut roff,
        "rlxc config -l lists the keys and rlxc config KEY prints one's value, as LXC's \
         lxc-config does (also under that name).",
    );
    roff.control("SH", ["KEYS"]);
    let shown = |value: Option<&str>| value.unwrap_or("not set").to_owned();
    for key in SYSTEM_KEYS {
        let lines = [
            key.doc.to_owned(),
            format!(
                "Default: {} (rlxc), {} (lxc-*).",
                shown((key.default)(Flavor::Rlxc)),
                shown((key.default)(Flavor::Lxc))
            ),
        ];
        key_entry(&mut roff, key.name, &lines);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    key_entry(
        &mut roff,
        "RLXC_CONF",
        &["The system config to read instead.".to_owned()],
    );
    key_entry(
        &mut roff,
        "RLXC_PATH",
        &["The lxcpath, over lxc.lxcpath (-P wins over both).".to_owned()],
    );
    roff.control("SH", ["FILES"]);
    for (file, what) in [
        ("/etc/rlxc/rlxc.conf", "rlxc's system config."),
        (
            "/etc/rlxc/default.conf",
            "The default lxc.default_config: lines every new container's config starts with.",
        ),
        (
            "/etc/lxc/lxc.conf",
            "LXC's system config, read when rlxc is called as lxc-VERB.",
        ),
    ] {
        key_entry(&mut roff, file, &[what.to_owned()]);
    }
    roff.control("SH", ["EXAMPLE"]);
    roff.control("nf", []);
    roff.text([italic("lxc.lxcpath = /srv/containers")]);
    roff.control("br", []);
    roff.text([italic("lxc.default_config = /etc/rlxc/default.conf")]);
    roff.control("fi", []);
    let mut text = roff.to_roff();
    text.push_str(&super::see_also_section(
        &[
            "rlxc(1)",
            "rlxc-config(1)",
            "rlxc.container.conf(5)",
            "lxc.system.conf(5)",
        ]
        .map(String::from),
    ));
    text
}
