//! docs/config.md is generated from the key table; this fails when the two drift.

use std::fs;
use std::path::Path;

#[test]
fn docs_config_md_matches_the_key_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.md");
    let expected = rlxc_config::docs::reference_markdown();
    if std::env::var_os("RLXC_BLESS").is_some() {
        fs::write(&path, &expected).expect("write docs/config.md");
    }
    let actual = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/config.md is out of date with the key table; regenerate it with\n  \
         RLXC_BLESS=1 cargo test -p rlxc-config --test docs\n\
         (or: rlxc config keys --markdown > docs/config.md)"
    );
}
