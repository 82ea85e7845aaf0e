//! Any text through update-config: never a panic, and what loaded before loads the same after.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok((updated, _)) = rlxc_config::update::update_text(text) else {
        return;
    };
    if let Ok(before) = rlxc_config::load_str(text, Path::new("before")) {
        let after = rlxc_config::load_str(&updated, Path::new("after"))
            .unwrap_or_else(|e| panic!("updated config does not load: {e}\n{updated}"));
        assert_eq!(after.spec, before.spec, "update changed the meaning:\n{updated}");
    }
});
