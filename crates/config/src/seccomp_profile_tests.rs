use super::*;
use std::path::Path;

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seccomp")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rule(profile: &Profile, name: &str) -> Rule {
    profile
        .rules
        .iter()
        .find(|r| r.syscall.to_string() == name)
        .cloned()
        .unwrap_or_else(|| panic!("no rule for {name}"))
}

fn error_of(text: &str) -> ProfileError {
    parse(text).expect_err("should be refused")
}

#[test]
fn every_profile_lxc_ships_loads() {
    // lxc is one of the build prerequisites (scripts/lib.sh), so its profiles are there.
    let dir = Path::new("/usr/share/lxc/config");
    let shipped: Vec<_> = std::fs::read_dir(dir)
        .expect("/usr/share/lxc/config (apt lxc)")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "seccomp"))
        .collect();
    assert!(!shipped.is_empty(), "LXC ships no .seccomp file?");
    for path in shipped {
        let text = std::fs::read_to_string(&path).expect("read");
        let profile = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!profile.rules.is_empty(), "{}", path.display());
    }
}

#[test]
fn lxcs_common_profile_reads_as_lxc_reads_it() {
    let profile = parse(&fixture("lxc-common.seccomp")).expect("parse");
    assert_eq!(profile.version, 2);
    assert_eq!(profile.policy, Policy::Denylist);
    assert_eq!(profile.default_action, Action::Allow);
    assert_eq!(profile.rules[0].syscall, Syscall::RejectForceUmount);
    let kexec = rule(&profile, "kexec_load");
    assert_eq!(kexec.action, Action::Errno(1));
    assert_eq!(kexec.arch, Arch::All);
    assert_eq!(kexec.line, 5);
}

#[test]
fn version_1_is_an_allow_list_of_native_numbers() {
    let profile = parse(&fixture("v1-allowlist.seccomp")).expect("parse");
    assert_eq!(profile.policy, Policy::Allowlist);
    assert_eq!(profile.default_action, Action::Kill);
    let numbers: Vec<_> = profile.rules.iter().map(|r| r.syscall.clone()).collect();
    assert_eq!(
        numbers,
        [0, 1, 2, 3, 60, 231].map(Syscall::Number).to_vec(),
        "{profile:?}"
    );
    assert!(profile
        .rules
        .iter()
        .all(|r| r.arch == Arch::Native && r.action == Action::Allow));
}

#[test]
fn version_2_reads_sections_actions_and_comparisons() {
    let profile = parse(&fixture("v2-everything.seccomp")).expect("parse");
    assert_eq!(profile.policy, Policy::Denylist);
    assert_eq!(profile.default_action, Action::Errno(38));
    assert_eq!(rule(&profile, "mknod").action, Action::Errno(0));
    assert_eq!(rule(&profile, "ioctl").action, Action::Notify);
    // A denylist rule without an action kills, as in LXC.
    assert_eq!(rule(&profile, "kexec_load").action, Action::Kill);
    assert_eq!(rule(&profile, "open_by_handle_at").arch, Arch::X86_64);
    assert_eq!(rule(&profile, "stime").arch, Arch::X86);
    assert_eq!(rule(&profile, "stime").action, Action::Kill);
    assert_eq!(rule(&profile, "some_arm_only_call").arch, Arch::Arm64);
    let mount = rule(&profile, "mount");
    assert_eq!(
        mount.args,
        [ArgCmp {
            index: 2,
            op: CmpOp::MaskedEq,
            value: 0x1000,
            mask: 0x1000
        }]
    );
    let clone = rule(&profile, "clone");
    assert_eq!(clone.args.len(), 2);
    assert_eq!(clone.args[1].op, CmpOp::Ne);
    let personality = rule(&profile, "personality");
    assert_eq!(personality.arch, Arch::All);
    assert_eq!(personality.action, Action::Trap);
    let ops: Vec<CmpOp> = personality.args.iter().map(|a| a.op).collect();
    assert_eq!(
        ops,
        [
            CmpOp::Ne,
            CmpOp::Ge,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Eq
        ]
    );
}

#[test]
fn an_allowlist_allows_what_it_lists_and_applies_its_default_to_the_rest() {
    let profile = parse(&fixture("v2-allowlist.seccomp")).expect("parse");
    assert_eq!(profile.policy, Policy::Allowlist);
    assert_eq!(profile.default_action, Action::Trap);
    assert_eq!(rule(&profile, "read").action, Action::Allow);
    assert_eq!(rule(&profile, "kill").action, Action::Errno(1));
}

#[test]
fn numbers_read_as_c_reads_them() {
    assert_eq!(parse_u64("0x1f"), Some(31));
    assert_eq!(parse_u64("010"), Some(8));
    assert_eq!(parse_u64("0"), Some(0));
    assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_u64("-1"), None);
    assert_eq!(parse_u64("12abc"), None);
}

#[test]
fn mistakes_name_their_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "version"),
        ("3\ndenylist\n", 1, "version"),
        ("2\n", 2, "end of the file"),
        ("2\ngreylist\n", 2, "policy"),
        ("2\ndenylist debug\n", 2, "debug"),
        ("1\ndenylist\n", 2, "allow lists"),
        ("1\nallowlist\n0\nread\n", 4, "syscall number"),
        ("2\ndenylist sometimes\n", 2, "unknown action"),
        (
            "2\ndenylist\nmkdir\nrmdir errno\n",
            4,
            "errno needs a number",
        ),
        ("2\ndenylist\nmkdir errno 99999\n", 3, "0 to 4095"),
        ("2\ndenylist\n\n[sparc]\n", 4, "unknown architecture"),
        ("2\ndenylist\n[x86_64\n", 3, "unclosed section"),
        ("2\ndenylist\nmk/dir errno 1\n", 3, "not a syscall name"),
        ("2\ndenylist\nioctl [0,1,==]\n", 3, "need an action"),
        ("2\ndenylist\nioctl errno 1 [6,1,==]\n", 3, "index"),
        ("2\ndenylist\nioctl errno 1 [0,1,=~]\n", 3, "operator"),
        ("2\ndenylist\nioctl errno 1 [0,zz,==]\n", 3, "bad value"),
        ("2\ndenylist\nioctl errno 1 [0,1]\n", 3, "expected [index"),
        ("2\ndenylist\nioctl errno 1 [0,1,==\n", 3, "unclosed"),
        ("2\ndenylist\nioctl errno 1 [0,1,&=]\n", 3, "needs a mask"),
        (
            "2\ndenylist\nioctl errno 1 [0,1,==][1,1,==][2,1,==][3,1,==][4,1,==][5,1,==][0,2,==]\n",
            3,
            "six",
        ),
    ];
    for (text, line, why) in cases {
        let found = error_of(text);
        assert_eq!(found.line, *line, "{text:?}: {found}");
        assert!(found.why.contains(why), "{text:?}: {found}");
    }
}

#[test]
fn blank_lines_and_comments_are_skipped() {
    let profile = parse("2\ndenylist # the rest is allowed\n\n   \n# mkdir\nrmdir errno 1 # no\n")
        .expect("parse");
    assert_eq!(profile.rules.len(), 1);
    assert_eq!(profile.rules[0].line, 6);
    assert_eq!(profile.rules[0].action, Action::Errno(1));
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC*") {
        let _ = parse(&text);
    }

    #[test]
    fn arbitrary_rule_lines_never_panic(lines in proptest::collection::vec("[a-z_\\[\\],0-9 x&=<>!#A-Z]{0,40}", 0..8)) {
        let text = format!("2\ndenylist\n{}", lines.join("\n"));
        if let Err(e) = parse(&text) {
            proptest::prop_assert!(e.line >= 3 && e.line <= 2 + lines.len());
        }
    }
}
