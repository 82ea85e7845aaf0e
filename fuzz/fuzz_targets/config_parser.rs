//! Any bytes as a config file: loading must end in a spec or errors, never a panic, and a
//! spec that loads must render to text that loads to the same spec.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("rlxc-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("config");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(loaded) = rlxc_config::load_file(&path, &[]) {
        let rendered = rlxc_config::render::render(&loaded.spec);
        let again = rlxc_config::load_str(&rendered, Path::new("rendered"))
            .unwrap_or_else(|e| panic!("rendered config does not load: {e}\n{rendered}"));
        assert_eq!(again.spec, loaded.spec, "render/parse changed the spec:\n{rendered}");
    }
});
