use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../config/tests/fixtures/seccomp")
        .join(name)
}

fn write_profile(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(file.path(), text).expect("write");
    file
}

#[test]
fn every_profile_lxc_ships_compiles() {
    for entry in std::fs::read_dir("/usr/share/lxc/config").expect("apt lxc") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "seccomp") {
            let (program, _) =
                compile_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(program.instructions().len() > 5, "{}", path.display());
        }
    }
}

#[test]
fn allow_lists_of_both_versions_compile() {
    for name in ["v1-allowlist.seccomp", "v2-allowlist.seccomp"] {
        compile_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn notify_rules_are_refused_with_file_and_line() {
    let error = compile_file(&fixture("v2-everything.seccomp"))
        .expect_err("notify needs a proxy")
        .to_string();
    assert!(
        error.contains("v2-everything.seccomp: line 6: notify"),
        "{error}"
    );
}

#[test]
fn notify_as_the_default_is_refused_too() {
    let file = write_profile("2\ndenylist notify\nmkdir errno 1\n");
    let error = compile_file(file.path()).expect_err("notify").to_string();
    assert!(error.contains("line 2: notify"), "{error}");
}

#[test]
fn every_other_form_compiles_and_foreign_sections_are_skipped() {
    let text = std::fs::read_to_string(fixture("v2-everything.seccomp"))
        .expect("fixture")
        .replace("ioctl notify", "ioctl errno 1");
    let file = write_profile(&text);
    compile_file(file.path()).expect("compiles");
}

#[test]
fn names_this_host_does_not_know_are_skipped_as_lxc_skips_them() {
    let file = write_profile("2\ndenylist\nno_such_call_anywhere errno 1\nmkdir errno 13\n");
    compile_file(file.path()).expect("compiles");
}

#[test]
fn unknown_names_are_listed_with_their_lines() {
    let profile = seccomp_profile::parse(
        "2\ndenylist\nmkdri errno 13\nmkdir errno 13\n[arm64]\nstill_unknown errno 1\n[all]\nwaitpid errno 1\n",
    )
    .expect("parse");
    // waitpid exists on i386 only; a section of an ABI this host lacks is not looked at.
    assert_eq!(unknown_names(&profile), [(3, "mkdri")]);
}

#[test]
fn parse_errors_name_the_file_and_line() {
    let file = write_profile("2\ndenylist\nmkdir errno 13\nrmdir sometimes\n");
    let error = compile_file(file.path())
        .expect_err("bad action")
        .to_string();
    let expected = format!(
        "lxc.seccomp.profile: {}: line 4: unknown action",
        file.path().display()
    );
    assert!(error.starts_with(&expected), "{error}");
}

#[test]
fn a_missing_file_is_named() {
    let error = compile_file(Path::new("/nonexistent/rlxc.seccomp"))
        .expect_err("missing")
        .to_string();
    assert!(error.contains("/nonexistent/rlxc.seccomp"), "{error}");
}

#[test]
fn gaps_list_what_the_default_denies_and_a_profile_lets_through() {
    let (_, common) = compile_file(&fixture("lxc-common.seccomp")).expect("compiles");
    let found = gaps(&common);
    assert!(found.contains(&"keyctl"), "{found:?}");
    assert!(found.contains(&"syslog"), "{found:?}");
    assert!(!found.contains(&"kexec_load"), "{found:?}");
    assert!(!found.contains(&"open_by_handle_at"), "{found:?}");

    let strict = seccomp_profile::parse("1\nallowlist\n0\n1\n60\n").expect("parse");
    assert!(gaps(&strict).is_empty());
    let loose = seccomp_profile::parse("2\nallowlist\nread\nkeyctl\n").expect("parse");
    assert_eq!(gaps(&loose), ["keyctl"]);
    // A condition on a deny rule leaves the rest of the call allowed.
    let conditional = seccomp_profile::parse("2\ndenylist\nbpf errno 1 [0,0,==]\n").expect("parse");
    assert!(gaps(&conditional).contains(&"bpf"));
}

#[test]
fn an_empty_profile_setting_means_no_filter_and_notify_keys_are_refused() {
    let spec = |text: &str| {
        rlxc_config::load_str(text, Path::new("t.conf"))
            .expect("config")
            .spec
    };
    assert!(for_spec(&spec("lxc.seccomp.profile =\n"))
        .expect("ok")
        .is_none());
    assert!(for_spec(&spec("lxc.uts.name = a\n")).expect("ok").is_some());
    // A config that sets it no longer loads (the key table refuses it); the runtime still
    // refuses a spec that has it, however it was made.
    let mut notify = rlxc_config::ContainerSpec::default();
    notify.security.seccomp_notify_proxy = Some("unix:/run/p.sock".into());
    let error = for_spec(&notify).expect_err("unsupported").to_string();
    assert!(
        error.starts_with("lxc.seccomp.notify.proxy: not supported"),
        "{error}"
    );
}
