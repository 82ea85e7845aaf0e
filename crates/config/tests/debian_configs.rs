//! Every config Debian's `lxc` package ships parses (`.ci/run` installs the package).

use std::fs;
use std::path::Path;

use rlxc_config::load_file;

const SHIPPED: &str = "/usr/share/lxc/config";

#[test]
fn every_shipped_config_parses() {
    let dir = Path::new(SHIPPED);
    assert!(
        dir.is_dir(),
        "{SHIPPED} is missing: install Debian's lxc package (the test scripts do)"
    );
    let mut files: Vec<_> = fs::read_dir(dir)
        .expect("read config dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert!(files.len() > 20, "only {} configs found", files.len());
    let mut failures = Vec::new();
    for file in &files {
        if let Err(err) = load_file(file, &[]) {
            failures.push(err.to_string());
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
