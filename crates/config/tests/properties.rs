//! Property tests: rendering a loaded spec and loading it again gives the same spec, and no
//! input whatsoever makes the parser panic.

use std::path::Path;

use proptest::prelude::*;
use rlxc_config::grammar::{parse_line, Line};
use rlxc_config::keys::{self, NET_KEYS};
use rlxc_config::render::render;
use rlxc_config::{load_str, ContainerSpec};

/// Example lines of every stored top-level key (the table's own examples are valid values).
fn example_lines() -> Vec<String> {
    keys::all()
        .filter(|def| !matches!(def.name, "lxc.include" | "lxc.hook" | "lxc.net"))
        .map(|def| def.example.to_string())
        .collect()
}

/// Lines for interface `index`: its type, then some of the keys valid for that type.
fn network_lines() -> impl Strategy<Value = Vec<String>> {
    const TYPES: &[&str] = &["veth", "macvlan", "ipvlan", "vlan", "phys", "empty"];
    (
        0u32..4,
        prop::sample::select(TYPES),
        prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    )
        .prop_map(|(index, net_type, picks)| {
            let valid: Vec<_> = NET_KEYS
                .iter()
                .filter(|d| d.sub != "type")
                .filter(|d| d.only_for.is_none_or(|t| t.to_string() == net_type))
                .collect();
            let mut lines = vec![format!("lxc.net.{index}.type = {net_type}")];
            for pick in picks {
                let def = pick.get(&valid);
                lines.push(format!("lxc.net.{index}.{} = {}", def.sub, def.example));
            }
            lines
        })
}

/// Free text where the grammar has traps: `#`, quotes, `=`, spaces.
fn tricky_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 #='\"._/-]{1,24}".prop_filter("not blank", |s| !s.trim().is_empty())
}

fn config_text() -> impl Strategy<Value = String> {
    let examples = example_lines();
    (
        prop::collection::vec(prop::sample::select(examples), 0..30),
        prop::collection::vec(network_lines(), 0..3),
        prop::option::of(tricky_text()),
        prop::collection::vec(("[A-Z_]{1,6}", tricky_text()), 0..3),
    )
        .prop_map(|(mut lines, nets, hostname, env)| {
            lines.extend(nets.into_iter().flatten());
            if let Some(name) = hostname {
                lines.push(rlxc_config::render::line("lxc.uts.name", name.trim()));
            }
            for (key, value) in env {
                lines.push(rlxc_config::render::line(
                    "lxc.environment",
                    &format!("{key}={}", value.trim()),
                ));
            }
            lines.join("\n")
        })
}

/// Example lines written with a legacy key name where the key has one.
fn legacy_lines() -> Vec<String> {
    keys::all()
        .filter(|def| !def.prefix)
        .flat_map(|def| {
            def.legacy
                .iter()
                .map(move |legacy| def.example.replacen(def.name, legacy, 1))
        })
        .chain([
            "lxc.network.type = veth".to_string(),
            "lxc.network.link = br0".to_string(),
            "lxc.network.ipv4 = 10.1.2.3/24".to_string(),
            "lxc.network.ipv4.gateway = 10.1.2.1".to_string(),
            "lxc.network.1.ipv6 = fd00::5/64".to_string(),
            "lxc.limit.nofile = 1024".to_string(),
            "lxc.console = /var/log/c.log".to_string(),
            "#lxc.utsname = commented".to_string(),
        ])
        .collect()
}

fn load(text: &str) -> Option<ContainerSpec> {
    load_str(text, Path::new("generated.conf"))
        .ok()
        .map(|l| l.spec)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn render_then_parse_gives_the_same_spec(text in config_text()) {
        // Some random combinations conflict (cap.drop with cap.keep); those are not the point.
        let Some(spec) = load(&text) else { return Ok(()); };
        let rendered = render(&spec);
        let again = load_str(&rendered, Path::new("rendered.conf"))
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- rendered:\n{rendered}")))?;
        prop_assert_eq!(again.spec, spec, "rendered:\n{}", rendered);
    }

    #[test]
    fn update_config_keeps_the_meaning(
        lines in prop::collection::vec(prop::sample::select(legacy_lines()), 0..20),
    ) {
        let text = lines.join("\n");
        let Some(before) = load(&text) else { return Ok(()); };
        let (updated, _) = rlxc_config::update::update_text(&text)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let after = load_str(&updated, Path::new("updated.conf"))
            .map_err(|e| TestCaseError::fail(format!("{e}\n--- updated:\n{updated}")))?;
        prop_assert_eq!(after.spec, before, "updated:\n{}", updated);
        prop_assert!(after.warnings.is_empty(), "{:?}", after.warnings);
    }

    #[test]
    fn any_text_loads_or_fails_without_panicking(text in ".{0,400}") {
        let _ = load_str(&text, Path::new("fuzz.conf"));
    }

    #[test]
    fn any_lxc_line_loads_or_fails_without_panicking(
        key in "lxc\\.[a-z0-9_.-]{0,30}",
        value in "[ -~]{0,40}",
    ) {
        let _ = load_str(&format!("{key} = {value}"), Path::new("fuzz.conf"));
    }

    #[test]
    fn rendered_lines_are_single_entries(text in config_text()) {
        let Some(spec) = load(&text) else { return Ok(()); };
        for line in render(&spec).lines() {
            let ok = matches!(parse_line(line), Line::Entry { .. } | Line::Blank);
            prop_assert!(ok, "{}", line);
        }
    }
}
