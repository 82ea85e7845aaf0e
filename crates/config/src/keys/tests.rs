//! The key table's own contract: every row can be set, rendered, re-read and cleared.

use super::*;
use crate::grammar::{parse_line, Line};

/// Rows that are not stored values: includes are expanded while reading, `lxc.hook` only clears.
const NOT_STORED: &[&str] = &["lxc.include", "lxc.hook"];
/// Rows whose empty value is itself a setting (no seccomp policy at all).
const EMPTY_IS_A_SETTING: &[&str] = &["lxc.seccomp.profile"];

fn example_entry(def: &KeyDef) -> (&'static str, &'static str) {
    match parse_line(def.example) {
        Line::Entry { key, value } => (key, value),
        other => panic!(
            "{}: example {:?} is not a config line: {other:?}",
            def.name, def.example
        ),
    }
}

#[test]
fn every_example_uses_its_own_key() {
    for def in all() {
        let (key, _) = example_entry(def);
        assert!(
            key == def.name || (def.prefix && prefix_matches(def.name, key)),
            "{}: example uses {key}",
            def.name
        );
    }
}

#[test]
fn every_key_sets_renders_rereads_and_clears() {
    for def in all().filter(|def| !NOT_STORED.contains(&def.name)) {
        let (key, value) = example_entry(def);
        let mut spec = ContainerSpec::default();
        if key.starts_with("lxc.net.") && !key.ends_with(".type") {
            apply(&mut spec, "lxc.net.0.type", "veth").expect("type");
        }
        apply(&mut spec, key, value).unwrap_or_else(|e| panic!("{key} = {value}: {e:?}"));
        let rendered = render(&spec);
        assert!(
            rendered.iter().any(|(k, _)| k == key),
            "{key}: not rendered back: {rendered:?}"
        );
        let mut again = ContainerSpec::default();
        for (k, v) in &rendered {
            apply(&mut again, k, v).unwrap_or_else(|e| panic!("re-reading {k} = {v}: {e:?}"));
        }
        assert_eq!(again, spec, "{key}: render then parse changed the spec");
        apply(&mut spec, key, "").unwrap_or_else(|e| panic!("clearing {key}: {e:?}"));
        settle(&mut spec);
        let after_clear = render(&spec);
        if EMPTY_IS_A_SETTING.contains(&key) {
            assert!(
                after_clear.iter().any(|(k, v)| k == key && v.is_empty()),
                "{key}"
            );
            continue;
        }
        assert!(
            !after_clear.iter().any(|(k, _)| k == key),
            "{key}: still rendered after clearing: {after_clear:?}"
        );
    }
}

#[test]
fn every_network_key_sets_renders_and_clears() {
    for def in NET_KEYS {
        let net_type = def.only_for.map(|t| t.to_string()).unwrap_or("veth".into());
        let mut spec = ContainerSpec::default();
        apply(&mut spec, "lxc.net.3.type", &net_type).expect("type");
        let key = format!("lxc.net.3.{}", def.sub);
        apply(&mut spec, &key, def.example).unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let rendered = render(&spec);
        assert!(
            rendered.iter().any(|(k, _)| *k == key),
            "{key}: {rendered:?}"
        );
        let mut again = ContainerSpec::default();
        for (k, v) in &rendered {
            apply(&mut again, k, v).unwrap_or_else(|e| panic!("re-reading {k} = {v}: {e:?}"));
        }
        assert_eq!(again, spec, "{key}");
        if def.sub != "type" {
            apply(&mut spec, &key, "").expect("clear");
            assert!(
                !render(&spec).iter().any(|(k, _)| *k == key),
                "{key}: not cleared"
            );
        }
    }
}

#[test]
fn the_table_has_every_lxc_5_key() {
    // LXC 5.0.2's jump tables: 86 top-level entries (LXC lists `lxc.net` twice, bare and
    // indexed, which is one prefix row here) and 25 network sub-keys; plus rlxc's own keys.
    const RLXC_ONLY: &[&str] = &["lxc.procview"];
    assert_eq!(all().count(), 85 + RLXC_ONLY.len());
    assert!(RLXC_ONLY.iter().all(|key| all().any(|d| d.name == *key)));
    assert_eq!(NET_KEYS.len(), 25);
    let mut names: Vec<&str> = all().map(|d| d.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        85 + RLXC_ONLY.len(),
        "duplicate key names in the table"
    );
}

#[test]
fn exact_rows_win_over_prefix_rows() {
    assert_eq!(
        lookup("lxc.cgroup.dir").map(|d| d.name),
        Some("lxc.cgroup.dir")
    );
    assert_eq!(
        lookup("lxc.cgroup.memory.max").map(|d| d.name),
        Some("lxc.cgroup")
    );
    assert_eq!(
        lookup("lxc.cgroup2.memory.max").map(|d| d.name),
        Some("lxc.cgroup2")
    );
    assert_eq!(lookup("lxc.cgroupx.memory.max").map(|d| d.name), None);
    assert_eq!(lookup("lxc.prlimit").map(|d| d.name), Some("lxc.prlimit"));
}

#[test]
fn unknown_keys_get_suggestions() {
    let mut spec = ContainerSpec::default();
    assert_eq!(
        apply(&mut spec, "lxc.uts.nmae", "x"),
        Err(ApplyError::Unknown)
    );
    assert_eq!(suggest("lxc.uts.nmae").as_deref(), Some("lxc.uts.name"));
    assert_eq!(
        apply(&mut spec, "lxc.net.2.linkk", "br0"),
        Err(ApplyError::Unknown)
    );
    assert_eq!(
        suggest("lxc.net.2.linkk").as_deref(),
        Some("lxc.net.2.link")
    );
    assert_eq!(suggest("lxc.totally.different"), None);
    // A key longer than any of the table's is compared with none (it was 50 s for 10 MB).
    assert_eq!(suggest(&format!("lxc.uts.name{}", "x".repeat(100))), None);
}

#[test]
fn type_specific_network_keys_need_their_type() {
    let mut spec = ContainerSpec::default();
    apply(&mut spec, "lxc.net.0.type", "macvlan").expect("type");
    let Err(ApplyError::Value(reason)) = apply(&mut spec, "lxc.net.0.veth.pair", "v0") else {
        panic!("veth.pair accepted on a macvlan");
    };
    assert!(reason.0.contains("veth"), "{reason}");
    let Err(ApplyError::Value(reason)) = apply(&mut spec, "lxc.net.1.veth.pair", "v0") else {
        panic!("veth.pair accepted without a type");
    };
    assert!(reason.0.contains("lxc.net.1.type"), "{reason}");
}

#[test]
fn empty_values_clear_lists() {
    let mut spec = ContainerSpec::default();
    apply(&mut spec, "lxc.cap.drop", "sys_admin").expect("drop");
    apply(&mut spec, "lxc.cap.drop", "").expect("clear");
    apply(&mut spec, "lxc.cap.drop", "mknod").expect("drop");
    assert_eq!(
        render(&spec),
        [("lxc.cap.drop".to_string(), "mknod".to_string())]
    );
    apply(&mut spec, "lxc.cgroup.devices.allow", "c 1:3 rwm").expect("allow");
    apply(&mut spec, "lxc.cgroup.devices.allow", "c 1:5 rwm").expect("allow");
    apply(&mut spec, "lxc.cgroup.memory.limit_in_bytes", "1G").expect("mem");
    apply(&mut spec, "lxc.cgroup.devices.allow", "").expect("clear allow");
    settle(&mut spec);
    assert_eq!(spec.cgroup.v1.len(), 1);
    assert_eq!(spec.cgroup.v1[0].key, "memory.limit_in_bytes");
    apply(&mut spec, "lxc.cgroup", "").expect("clear all");
    assert!(spec.cgroup.v1.is_empty());
}

#[test]
fn later_scalars_override_earlier_ones() {
    let mut spec = ContainerSpec::default();
    apply(&mut spec, "lxc.uts.name", "a").expect("a");
    apply(&mut spec, "lxc.uts.name", "b").expect("b");
    apply(&mut spec, "lxc.cgroup.memory.limit_in_bytes", "1G").expect("1G");
    apply(&mut spec, "lxc.cgroup.memory.limit_in_bytes", "2G").expect("2G");
    settle(&mut spec);
    assert_eq!(spec.uts_name.as_deref(), Some("b"));
    assert_eq!(spec.cgroup.v1.len(), 1);
    assert_eq!(spec.cgroup.v1[0].value, "2G");
}

/// A file keeps its last value at the place of its last line, device rules add up until a
/// clear of their file, and each autostart group is kept once where first named: what the
/// per-line search did, settled once for the whole config.
#[test]
fn settling_keeps_the_meaning_of_the_lines() {
    let mut spec = ContainerSpec::default();
    for (key, value) in [
        ("lxc.cgroup2.memory.max", "1G"),
        ("lxc.cgroup2.devices.allow", "c 1:3 rwm"),
        ("lxc.cgroup2.pids.max", "10"),
        ("lxc.cgroup2.memory.max", "2G"),
        ("lxc.cgroup2.devices.allow", ""),
        ("lxc.cgroup2.devices.allow", "c 1:5 rwm"),
        ("lxc.cgroup2.devices.allow", "c 1:8 rwm"),
        ("lxc.cgroup2.pids.max", ""),
        ("lxc.group", "web onboot"),
        ("lxc.group", "db web"),
    ] {
        apply(&mut spec, key, value).unwrap_or_else(|e| panic!("{key} = {value}: {e:?}"));
    }
    settle(&mut spec);
    let v2: Vec<(&str, &str)> = spec
        .cgroup
        .v2
        .iter()
        .map(|s| (s.key.as_str(), s.value.as_str()))
        .collect();
    assert_eq!(
        v2,
        [
            ("memory.max", "2G"),
            ("devices.allow", "c 1:5 rwm"),
            ("devices.allow", "c 1:8 rwm"),
        ]
    );
    assert_eq!(spec.autostart.groups, ["web", "onboot", "db"]);
}
