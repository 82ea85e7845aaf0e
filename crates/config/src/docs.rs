//! The key reference, generated from the key table: `rlxc config keys` prints it and
//! `docs/config.md` is this text (a test fails when the file drifts from the table).

use std::fmt::Write;

use crate::keys::{self, Support, NET_KEYS};

/// The reference as Markdown.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "# rlxc configuration keys\n\n\
         Generated from the key table (`crates/config/src/keys/`) by `rlxc config keys --markdown`; \
         do not edit by hand.\n\n\
         The grammar is LXC's: one `lxc.KEY = VALUE` per line, whole-line `#` comments, a `#` after \
         whitespace starts an inline comment, matching quotes are stripped, an empty value clears \
         the key, and later lines override earlier ones. Legacy LXC 1.x/2.x names are accepted \
         with a warning; `rlxc update-config -c FILE` rewrites them.\n\n\
         The support column says whether rlxc does what a key asks: `yes`; `partly` (some values \
         work; `rlxc start` refuses the others, and so does `rlxc config check`, which runs the \
         start's checks); `ignored` (the config loads with a warning \
         that says why, and nothing is done); `refused` (a config that sets the key does not \
         load: `rlxc start` and `rlxc config check` both fail naming the line and why). An \
         empty value, which only clears the key, is always accepted.\n\n\
         Limits: a config file is a regular file of at most 16 MiB; a line is at most \
         132 KiB (the kernel's 128 KiB for one argument or environment string, plus room for the \
         key); a key at most 256 bytes. Past a limit the line is refused naming it; messages \
         quote at most the first 64 characters of a key or value, and a config stops being \
         read after 100 errors.\n",
    );
    let mut section = None;
    for def in keys::all() {
        if section != Some(def.section) {
            section = Some(def.section);
            let _ = write!(
                out,
                "\n## {}\n\n| key | legacy name | repeatable | support | meaning | example |\n|---|---|---|---|---|---|\n",
                def.section.title()
            );
        }
        let name = if def.prefix {
            format!("`{}.*`", def.name)
        } else {
            format!("`{}`", def.name)
        };
        let legacy: Vec<String> = def.legacy.iter().map(|l| format!("`{l}`")).collect();
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | `{}` |",
            legacy.join(", "),
            if def.list { "yes" } else { "" },
            escape(&def.support.describe()),
            escape(def.doc),
            def.example
        );
    }
    out.push_str(
        "\n## Network interface keys (`lxc.net.N.*`)\n\n\
         Legacy `lxc.network.*` lines are read too: each `lxc.network.type` line starts the next \
         interface, and `lxc.network.ipv4`/`ipv6` are the `ipv4.address`/`ipv6.address` keys.\n\n\
         | key | only for | repeatable | support | meaning | example |\n|---|---|---|---|---|---|\n",
    );
    for def in NET_KEYS {
        let _ = writeln!(
            out,
            "| `lxc.net.N.{}` | {} | {} | {} | {} | `{}` |",
            def.sub,
            def.only_for.map(|t| t.to_string()).unwrap_or_default(),
            if def.list { "yes" } else { "" },
            escape(&def.support.describe()),
            escape(def.doc),
            def.example
        );
    }
    out.push_str(&system_config_markdown());
    out
}

/// The system config's section: its files, then one row per key of [`crate::system::KEYS`].
fn system_config_markdown() -> String {
    use crate::system::{Flavor, KEYS};
    let mut out = String::from(
        "\n## The system config (`/etc/rlxc/rlxc.conf`)\n\n\
         LXC's `lxc.system.conf(5)`: `rlxc config -l` lists its keys and `rlxc config KEY` prints \
         one's value, as LXC's `lxc-config` (which is also this verb's LXC name). `rlxc VERB` \
         reads `/etc/rlxc/rlxc.conf`, `lxc-VERB` reads LXC's `/etc/lxc/lxc.conf` with LXC's \
         defaults; `RLXC_CONF=FILE` names another file for either. A missing file is all \
         defaults. The grammar is the container config's, but an unknown key or a line that is \
         not `lxc.KEY = VALUE` is an error naming the file and line (LXC ignores such lines), \
         reported by every verb that needs the system config. The lxcpath is `-P`, else \
         `RLXC_PATH`, else `lxc.lxcpath`, else the default. `rlxc create` without `-f` copies \
         the default config's lines into the new config (under a `# Default config` line), \
         filling each `x` of an `lxc.net.N.hwaddr` with a random hex digit, as LXC's create \
         does, so the MAC stays the same at every start; `-f FILE` replaces the default \
         config. `rlxc install-service` installs a commented `rlxc.conf` and a `default.conf` \
         that puts `lxc.net.0` as a veth on the bridge `rlxcbr0` (flags up, \
         `00:16:3e:xx:xx:xx`), keeping files that exist.\n\n\
         | key | default (`rlxc`) | default (`lxc-*`) | meaning |\n|---|---|---|---|\n",
    );
    let shown =
        |value: Option<&str>| value.map_or_else(|| "not set".to_string(), |v| format!("`{v}`"));
    for key in KEYS {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            key.name,
            shown((key.default)(Flavor::Rlxc)),
            shown((key.default)(Flavor::Lxc)),
            escape(key.doc)
        );
    }
    out
}

/// The reference as plain text for a terminal: one key per line with its doc.
pub fn reference_text() -> String {
    let mut out = String::new();
    let mut section = None;
    for def in keys::all() {
        if section != Some(def.section) {
            section = Some(def.section);
            let _ = writeln!(out, "\n{}:", def.section.title());
        }
        let name = if def.prefix {
            format!("{}.*", def.name)
        } else {
            def.name.to_string()
        };
        let _ = writeln!(out, "  {name:<34} {}", def.doc);
        support_line(&mut out, def.support);
    }
    let _ = writeln!(out, "\nNetwork interface keys:");
    for def in NET_KEYS {
        let _ = writeln!(out, "  lxc.net.N.{:<24} {}", def.sub, def.doc);
        support_line(&mut out, def.support);
    }
    out
}

/// Under a key that is not fully supported, how far it is (under its doc).
fn support_line(out: &mut String, support: Support) {
    if support != Support::Supported {
        let _ = writeln!(out, "  {:<34} {}", "", support.describe());
    }
}

fn escape(doc: &str) -> String {
    doc.replace('|', "\\|")
}
