use super::*;

fn rules(lines: &[(bool, &str)]) -> Vec<DeviceRule> {
    lines
        .iter()
        .map(|(allow, text)| DeviceRule::parse(*allow, text).expect(text))
        .collect()
}

/// Runs the program on one access: an interpreter for the few instructions it uses.
fn run(program: &[Insn], kind: DeviceType, major: u32, minor: u32, access: u32) -> bool {
    let type_bits = match kind {
        DeviceType::Block => 1,
        DeviceType::Char => 2,
        DeviceType::All => 0,
    };
    let ctx = [(access << 16) | type_bits, major, minor];
    let mut regs = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let insn = program[pc];
        let (dst, src) = (usize::from(insn.regs & 0x0f), usize::from(insn.regs >> 4));
        let imm = insn.imm as i64 as u64;
        pc += 1;
        match insn.code {
            0x61 => {
                assert_eq!(src, 1, "loads only from the context");
                regs[dst] = u64::from(ctx[insn.off as usize / 4]);
            }
            0x54 => regs[dst] = u64::from(regs[dst] as u32 & imm as u32),
            0x74 => regs[dst] = u64::from((regs[dst] as u32) >> imm),
            0xb7 => regs[dst] = imm,
            0xbf => regs[dst] = regs[src],
            0x55 if regs[dst] != imm => pc += insn.off as usize,
            0x15 if regs[dst] == imm => pc += insn.off as usize,
            0x55 | 0x15 => {}
            0x95 => return regs[0] == 1,
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
}

#[test]
fn parses_the_kernel_syntax_and_paths() {
    let rule = DeviceRule::parse(true, "c 136:* rwm").expect("rule");
    assert_eq!(rule.kind, DeviceType::Char);
    assert_eq!((rule.major, rule.minor), (Some(136), None));
    assert_eq!(rule.access, ACCESS_ALL);
    assert_eq!(rule.to_v1(), ("devices.allow", "c 136:* rwm".to_owned()));
    let global = DeviceRule::parse(false, "a").expect("a");
    assert!(global.is_global());
    let null = DeviceRule::parse(true, "/dev/null").expect("path");
    assert_eq!((null.major, null.minor), (Some(1), Some(3)));
    for bad in [
        "x 1:3 r",
        "c 1:3 q",
        "c 13 r",
        "c a:3 r",
        "c 1:3 r extra",
        "/etc/passwd",
    ] {
        assert!(DeviceRule::parse(true, bad).is_err(), "{bad}");
    }
}

#[test]
fn the_seed_list_allows_what_it_names_and_nothing_else() {
    let policy = DevicePolicy::new(&rules(&[
        (false, "a"),
        (true, "c *:* m"),
        (true, "b *:* m"),
        (true, "c 1:3 rwm"),
        (true, "c 136:* rwm"),
    ]));
    assert!(!policy.default_allow);
    let program = policy.program();
    let cases = [
        (DeviceType::Char, 1, 3, ACCESS_READ | ACCESS_WRITE, true),
        (DeviceType::Char, 1, 5, ACCESS_READ, false),
        (DeviceType::Char, 1, 5, ACCESS_MKNOD, true),
        (DeviceType::Block, 8, 0, ACCESS_MKNOD, true),
        (DeviceType::Block, 8, 0, ACCESS_READ, false),
        (DeviceType::Char, 136, 7, ACCESS_WRITE, true),
        (DeviceType::Block, 1, 3, ACCESS_READ, false),
    ];
    for (kind, major, minor, access, expected) in cases {
        assert_eq!(policy.allows(kind, major, minor, access), expected);
        assert_eq!(
            run(&program, kind, major, minor, access),
            expected,
            "{kind:?} {major}:{minor} {access}"
        );
    }
}

#[test]
fn the_last_matching_rule_wins_and_a_global_rule_resets() {
    let policy = DevicePolicy::new(&rules(&[
        (true, "c 1:3 rwm"),
        (true, "a"),
        (false, "c 1:3 w"),
        (true, "c 1:3 w"),
        (false, "c 1:5 r"),
    ]));
    assert!(policy.default_allow);
    assert_eq!(policy.rules.len(), 3);
    let program = policy.program();
    for (minor, access, expected) in [
        (3, ACCESS_WRITE, true),
        (3, ACCESS_READ, true),
        (5, ACCESS_READ, false),
        (5, ACCESS_WRITE, true),
        (5, ACCESS_READ | ACCESS_WRITE, false),
    ] {
        assert_eq!(policy.allows(DeviceType::Char, 1, minor, access), expected);
        assert_eq!(run(&program, DeviceType::Char, 1, minor, access), expected);
    }
}

proptest::proptest! {
    #[test]
    fn the_program_agrees_with_the_policy(
        raw in proptest::collection::vec((proptest::bool::ANY, 0u8..3, 0u32..4, 0u32..4, 1u32..8), 0..8),
        kind in 0u8..2, major in 0u32..4, minor in 0u32..4, access in 1u32..8,
    ) {
        let kinds = [DeviceType::All, DeviceType::Char, DeviceType::Block];
        let list: Vec<DeviceRule> = raw.iter().map(|(allow, k, maj, min, acc)| DeviceRule {
            allow: *allow,
            kind: kinds[usize::from(*k)],
            major: (*maj < 3).then_some(*maj),
            minor: (*min < 3).then_some(*min),
            access: *acc,
        }).collect();
        let policy = DevicePolicy::new(&list);
        let kind = kinds[usize::from(kind) + 1];
        proptest::prop_assert_eq!(
            run(&policy.program(), kind, major, minor, access),
            policy.allows(kind, major, minor, access)
        );
    }
}
