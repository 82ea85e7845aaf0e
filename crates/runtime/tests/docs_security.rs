//! docs/security.md is generated from the policy tables; this fails when they drift.

use std::path::Path;

#[test]
fn docs_security_md_matches_the_tables() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/security.md");
    let expected = rlxc_runtime::seccomp::policy::reference_markdown();
    if std::env::var_os("RLXC_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write docs/security.md");
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/security.md is out of date; regenerate it with\n  \
         RLXC_BLESS=1 cargo test -p rlxc-runtime --test docs_security"
    );
}
