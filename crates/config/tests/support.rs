//! Nothing a config says is dropped silently: every field of the parsed spec is read by the
//! runtime, or every key that writes it is marked ignored or refused (with why) in the key
//! table. The fields are found by walking the spec's serde form, so a new field is checked
//! without anyone listing it; which keys write a field is found by applying each key's own
//! example; "read" is a search of the runtime's sources for the field's access path
//! (`security.apparmor_raw`, `spec.sched_core`, `net.link`), comments and strings left out.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use rlxc_config::grammar::{parse_line, Line};
use rlxc_config::keys::{self, KeyDef, Support, NET_KEYS};
use rlxc_config::spec::Network;
use rlxc_config::ContainerSpec;
use serde_json::Value;

/// Rows that store nothing: includes are expanded while reading, `lxc.hook` only clears, and
/// `lxc.net` is checked through its own table (`NET_KEYS`).
const NOT_STORED: &[&str] = &["lxc.include", "lxc.hook", "lxc.net"];

/// Where the runtime lives: everything that starts, runs and manages containers.
const SOURCE_DIRS: &[&str] = &["runtime/src", "cgroup/src", "net/src", "cli/src"];

/// Files whose reads do nothing with the value: `rlxc config keys/check/show` print a config,
/// and a created config's template only asks whether a key is set.
fn does_nothing_with_values(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.ends_with("cli/src/verbs/config.rs")
        || text.contains("cli/src/verbs/config/")
        || text.ends_with("runtime/src/create/config_file.rs")
}

/// Maps keyed by an enum whose keys are rows of their own: each variant a key writes must be
/// named (`HookPoint::Clone`) by the runtime, or that key is marked.
const ENUM_KEYED: &[(&str, &str)] = &[("hooks.commands", "HookPoint")];

/// One field of the spec: its path in the serde form, `N` standing for a network's index.
type FieldPath = Vec<String>;

/// The leaves of a serialized default value: a non-empty object is a struct to walk into; an
/// empty one is a map (empty by default), a leaf like any list, option or number.
fn leaves(value: &Value, path: &mut Vec<String>, out: &mut Vec<FieldPath>) {
    match value {
        Value::Object(fields) if !fields.is_empty() => {
            for (name, field) in fields {
                path.push(name.clone());
                leaves(field, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("the spec serializes")
}

/// Every field of the spec, the networks' fields under `networks.N`.
fn fields() -> Vec<FieldPath> {
    let mut out = Vec::new();
    leaves(&json(&ContainerSpec::default()), &mut Vec::new(), &mut out);
    out.retain(|path| path != &["networks"]);
    let mut net = vec!["networks".to_string(), "N".to_string()];
    leaves(&json(&Network::default()), &mut net, &mut out);
    out
}

fn at<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, name| v.get(name))
}

/// The fields whose value differs between two serialized specs (networks: interface 0).
fn changed(before: &Value, after: &Value, fields: &[FieldPath]) -> BTreeSet<FieldPath> {
    fields
        .iter()
        .filter(|path| {
            let concrete: Vec<String> = path
                .iter()
                .map(|p| if p == "N" { "0".into() } else { p.clone() })
                .collect();
            at(before, &concrete) != at(after, &concrete)
        })
        .cloned()
        .collect()
}

fn example_entry(example: &str) -> (&str, &str) {
    match parse_line(example) {
        Line::Entry { key, value } => (key, value),
        other => panic!("example {example:?} is not a config line: {other:?}"),
    }
}

fn apply(spec: &mut ContainerSpec, key: &str, value: &str) {
    keys::apply(spec, key, value).unwrap_or_else(|e| panic!("{key} = {value}: {e:?}"));
}

/// A key as the test knows it: its name and support, and the fields its example writes.
struct Writer {
    key: String,
    support: Support,
    writes: BTreeSet<FieldPath>,
    /// `TYPE::VARIANT` for each enum key it adds to an [`ENUM_KEYED`] map.
    variants: Vec<String>,
}

fn writers(fields: &[FieldPath]) -> Vec<Writer> {
    let default = json(&ContainerSpec::default());
    let mut out = Vec::new();
    for def in keys::all().filter(|d| !NOT_STORED.contains(&d.name)) {
        let KeyDef { name, support, .. } = *def;
        let (key, value) = example_entry(def.example);
        let mut spec = ContainerSpec::default();
        apply(&mut spec, key, value);
        let after = json(&spec);
        let variants = ENUM_KEYED
            .iter()
            .flat_map(|(field, ty)| {
                let path: Vec<String> = field.split('.').map(String::from).collect();
                let map = at(&after, &path).and_then(Value::as_object);
                map.into_iter()
                    .flatten()
                    .map(move |(k, _)| format!("{ty}::{k}"))
            })
            .collect();
        out.push(Writer {
            key: name.to_string(),
            support,
            writes: changed(&default, &after, fields),
            variants,
        });
    }
    for def in NET_KEYS {
        let net_type = def.only_for.map_or("veth".to_string(), |t| t.to_string());
        let mut typed = ContainerSpec::default();
        if def.sub != "type" {
            apply(&mut typed, "lxc.net.0.type", &net_type);
        }
        let mut spec = typed.clone();
        apply(&mut spec, &format!("lxc.net.0.{}", def.sub), def.example);
        // A network that did not exist before compares against an empty interface.
        let mut before = json(&typed);
        if typed.networks.is_empty() {
            before["networks"]["0"] = json(&Network::default());
        }
        out.push(Writer {
            key: format!("lxc.net.N.{}", def.sub),
            support: def.support,
            writes: changed(&before, &json(&spec), fields),
            variants: Vec::new(),
        });
    }
    out
}

/// What a reader of the field writes in Rust: `spec.FIELD` for a top-level field,
/// `net.FIELD` for an interface's, else `PARENT.FIELD` (`security.apparmor_raw`).
fn needle(path: &FieldPath) -> String {
    let leaf = &path[path.len() - 1];
    match path.len() {
        1 => format!("spec.{leaf}"),
        _ => match path[path.len() - 2].as_str() {
            "N" => format!("net.{leaf}"),
            parent => format!("{parent}.{leaf}"),
        },
    }
}

/// Rust code with comments, string and char literals blanked and the spaces around `.` gone
/// (a chain split over lines reads as one path), so only code can match a needle.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        match rest {
            ['/', '/', ..] => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ['/', '*', ..] => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
                out.push(' ');
            }
            ['r', '#' | '"', ..] if i == 0 || !is_ident(chars[i - 1]) => {
                let hashes = rest[1..].iter().take_while(|c| **c == '#').count();
                if rest.get(1 + hashes) != Some(&'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                i += 2 + hashes;
                while i < chars.len() {
                    if chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|c| *c == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    i += 1;
                }
                out.push_str("\"\"");
            }
            ['"', ..] => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            ['\'', '\\', ..] => {
                i += 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            ['\'', _, '\'', ..] => {
                i += 3;
                out.push_str("' '");
            }
            [c, ..] => {
                out.push(*c);
                i += 1;
            }
            [] => unreachable!(),
        }
    }
    let mut joined = String::with_capacity(out.len());
    let mut pending_space = String::new();
    for c in out.chars() {
        if c.is_whitespace() {
            pending_space.push(c);
            continue;
        }
        if c != '.' && !joined.ends_with('.') {
            joined.push_str(&pending_space);
        }
        pending_space.clear();
        joined.push(c);
    }
    joined
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The runtime's non-test code, file by file: a file's `#[cfg(test)]` module (at its end, as
/// everywhere in rlxc) and `tests.rs`/`*_tests.rs` files are left out.
fn runtime_sources() -> Vec<(PathBuf, String)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in SOURCE_DIRS {
        collect_rs(&crates.join(dir), &mut files);
    }
    assert!(
        files.len() > 50,
        "only {} runtime sources found",
        files.len()
    );
    files
        .into_iter()
        .filter(|path| !does_nothing_with_values(path))
        .filter(|path| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            name != "tests.rs" && !name.ends_with("_tests.rs")
        })
        .map(|path| {
            let text = fs::read_to_string(&path).expect("read a runtime source");
            let code = code_only(&text);
            let tests = code
                .match_indices("#[cfg(test)]")
                .map(|(at, _)| at)
                .find(|at| code[at + 12..].trim_start().starts_with("mod "));
            let code = match tests {
                Some(at) => code[..at].to_string(),
                None => code,
            };
            (path, code)
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The first file whose code reads the field, if any: the needle itself, or in a file that
/// binds the parent to a local (`let auto = &spec.autostart;`), `auto.order` too.
fn reader<'s>(sources: &'s [(PathBuf, String)], needle: &str) -> Option<&'s Path> {
    let (parent, leaf) = needle.rsplit_once('.').expect("a needle is PARENT.FIELD");
    sources
        .iter()
        .find(|(_, code)| {
            std::iter::once(parent.to_string())
                .chain(aliases(code, parent))
                .any(|parent| has_path(code, &format!("{parent}.{leaf}")))
        })
        .map(|(path, _)| path.as_path())
}

/// `path` as a whole path in the code: no longer name before or after it.
fn has_path(code: &str, path: &str) -> bool {
    code.match_indices(path).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + path.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Locals bound to the parent: `let NAME = ...PARENT;` in one statement.
fn aliases(code: &str, parent: &str) -> Vec<String> {
    let bound = format!(".{parent};");
    code.match_indices(&bound)
        .filter_map(|(at, _)| {
            let statement = code[..at].rsplit(';').next()?;
            let after_let = statement.rsplit_once("let ")?.1;
            let after_let = after_let.strip_prefix("mut ").unwrap_or(after_let);
            let name: String = after_let.chars().take_while(|c| is_ident(*c)).collect();
            let rest = after_let[name.len()..].trim_start();
            (!name.is_empty() && rest.starts_with('=')).then_some(name)
        })
        .collect()
}

fn short(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.split("/../").last().unwrap_or(&text).to_string()
}

#[test]
fn every_field_is_read_by_the_runtime_or_its_keys_say_why_not() {
    let fields = fields();
    let writers = writers(&fields);
    let sources = runtime_sources();
    let mut failures = Vec::new();

    for writer in &writers {
        if writer.writes.is_empty() {
            failures.push(format!(
                "{}: its example writes no field of the spec (fix the example)",
                writer.key
            ));
        }
    }

    let read: BTreeMap<&FieldPath, Option<&Path>> = fields
        .iter()
        .map(|path| (path, reader(&sources, &needle(path))))
        .collect();

    for (path, found) in &read {
        let field = path.join(".");
        let of_field: Vec<&Writer> = writers
            .iter()
            .filter(|w| w.writes.contains(*path))
            .collect();
        if found.is_some() {
            continue;
        }
        if of_field.is_empty() {
            failures.push(format!(
                "{field}: no key writes it and the runtime does not read it (no `{}`)",
                needle(path)
            ));
        }
        for writer in of_field {
            if matches!(writer.support, Support::Supported | Support::Partly(_)) {
                failures.push(format!(
                    "{}: marked {:?}, but the runtime never reads {field} (no `{}` in {}): \
                     make the runtime do what the key says, or mark it ignored or refused \
                     with why",
                    writer.key,
                    writer.support,
                    needle(path),
                    SOURCE_DIRS.join(", ")
                ));
            }
        }
    }

    for writer in &writers {
        // A map keyed by an enum is shared by its keys: each is judged by its variant below.
        let shared = |path: &&FieldPath| {
            !writer.variants.is_empty() && ENUM_KEYED.iter().any(|(f, _)| path.join(".") == *f)
        };
        let reads: Vec<String> = writer
            .writes
            .iter()
            .filter(|path| !shared(path))
            .filter_map(|path| {
                read[path].map(|file| format!("{} in {}", needle(path), short(file)))
            })
            .collect();
        let supported = matches!(writer.support, Support::Supported | Support::Partly(_));
        for variant in &writer.variants {
            let named = sources.iter().any(|(_, code)| has_path(code, variant));
            if supported && !named {
                failures.push(format!(
                    "{}: marked {:?}, but the runtime never names {variant}: make the runtime \
                     do what the key says, or mark it ignored or refused with why",
                    writer.key, writer.support
                ));
            }
            if matches!(writer.support, Support::Ignored(_)) && named {
                failures.push(format!(
                    "{}: marked ignored, but the runtime names {variant}: mark it supported",
                    writer.key
                ));
            }
        }
        if matches!(writer.support, Support::Ignored(_)) && !reads.is_empty() {
            failures.push(format!(
                "{}: marked ignored, but the runtime reads it ({}): mark it supported",
                writer.key,
                reads.join(", ")
            ));
        }
    }

    assert!(failures.is_empty(), "\n{}\n", failures.join("\n"));
}

#[test]
fn the_search_sees_code_and_not_comments_or_strings() {
    let code = code_only(
        "let a = spec // spec.ephemeral\n    .arch; /* security.apparmor_raw */\n\
         let b = \"cgroup.relative\"; let c = r#\"monitor.unshare\"#; let d = '\"';\n\
         let e = console . path; x.sched_core_x;",
    );
    assert!(code.contains("spec.arch"), "{code}");
    assert!(code.contains("console.path"), "{code}");
    for gone in ["ephemeral", "apparmor_raw", "relative", "unshare"] {
        assert!(!code.contains(gone), "{gone}: {code}");
    }
    let sources = vec![(PathBuf::from("x.rs"), code)];
    assert!(reader(&sources, "spec.arch").is_some());
    assert!(
        reader(&sources, "x.sched_core").is_none(),
        "a longer name is another field"
    );
    let aliased = code_only("let auto = &spec.autostart;\nlet n = auto.order;");
    let sources = vec![(PathBuf::from("y.rs"), aliased)];
    assert!(reader(&sources, "autostart.order").is_some());
    assert!(reader(&sources, "autostart.delay").is_none());
}

/// Each key's example as config lines (an interface key after its type), with the key as
/// written; every row of both tables.
fn example_configs() -> Vec<(String, Support, String)> {
    let top = keys::all()
        .filter(|d| !NOT_STORED.contains(&d.name))
        .map(|d| {
            let (key, _) = example_entry(d.example);
            (key.to_string(), d.support, format!("{}\n", d.example))
        });
    let net = NET_KEYS.iter().map(|d| {
        let net_type = d.only_for.map_or("veth".to_string(), |t| t.to_string());
        let key = format!("lxc.net.0.{}", d.sub);
        let text = format!("lxc.net.0.type = {net_type}\n{key} = {}\n", d.example);
        (key, d.support, text)
    });
    top.chain(net).collect()
}

#[test]
fn an_ignored_key_loads_with_one_warning_that_says_why() {
    let mut seen = 0;
    for (key, support, text) in example_configs() {
        let Support::Ignored(why) = support else {
            continue;
        };
        seen += 1;
        // Written twice: one warning still, at the first line.
        let line = text.lines().count();
        let text = format!("{text}{}\n", text.lines().last().expect("a line"));
        let loaded = rlxc_config::load_str(&text, Path::new("t.conf"))
            .unwrap_or_else(|e| panic!("{key}: an ignored key must load: {e}"));
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [format!("t.conf:{line}: {key}: ignored: {why}")],
            "{key}"
        );
        // Still read, so `config show` renders what the file says.
        assert!(
            keys::render(&loaded.spec).iter().any(|(k, _)| *k == key),
            "{key}"
        );
    }
    assert!(seen >= 4, "only {seen} ignored keys");
}

#[test]
fn a_refused_key_fails_the_load_naming_its_line_and_why() {
    let mut seen = 0;
    for (key, support, text) in example_configs() {
        let Support::Refused(why) = support else {
            continue;
        };
        seen += 1;
        let line = text.lines().count() + 1;
        let text = format!("lxc.uts.name = web\n{text}");
        let failure = rlxc_config::load_str(&text, Path::new("t.conf"))
            .expect_err(&format!("{key}: a refused key must not load"));
        let errors: Vec<String> = failure.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            errors,
            [format!("t.conf:{line}: {key}: refused: {why}")],
            "{key}"
        );
        // An empty value only clears: nothing to refuse.
        let cleared = text.replacen(text.lines().last().expect("a line"), &format!("{key} ="), 1);
        let loaded = rlxc_config::load_str(&cleared, Path::new("t.conf"))
            .unwrap_or_else(|e| panic!("{key} = (empty): {e}"));
        assert!(loaded.warnings.is_empty(), "{key}: {:?}", loaded.warnings);
    }
    assert!(seen >= 4, "only {seen} refused keys");
}

#[test]
fn a_supported_key_loads_without_a_warning() {
    for (key, support, text) in example_configs() {
        if matches!(support, Support::Supported | Support::Partly(_)) {
            // Keys that need a companion to load at all.
            let text = match key.as_str() {
                "lxc.cgroup.dir.container" => format!("{text}lxc.cgroup.dir.monitor = m\n"),
                "lxc.cgroup.dir.monitor" => format!("{text}lxc.cgroup.dir.container = c\n"),
                "lxc.idmap" => format!("{text}lxc.idmap = g 0 100000 65536\n"),
                _ => text,
            };
            let loaded = rlxc_config::load_str(&text, Path::new("t.conf"))
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            assert!(loaded.warnings.is_empty(), "{key}: {:?}", loaded.warnings);
        }
    }
}
