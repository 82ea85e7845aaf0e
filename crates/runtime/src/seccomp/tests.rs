//! The default filter run through a small BPF interpreter, for the ABIs of both supported
//! hosts (so aarch64's program is checked on an x86_64 host too); the numbers themselves are
//! checked against libseccomp in `abi.rs`.

use super::abi::{Abi, AARCH64, ARM, I386, X32_SYSCALL_BIT, X86_64};
use super::*;

/// A tiny interpreter of the instructions the programs use, to check their jumps.
fn run(program: &[libc::sock_filter], arch: u32, nr: u32) -> u32 {
    let mut pc = 0;
    let mut acc = 0u32;
    loop {
        let insn = &program[pc];
        match insn.code {
            BPF_LD_W_ABS => acc = if insn.k == ARCH_OFFSET { arch } else { nr },
            BPF_JMP_JEQ_K | BPF_JMP_JGE_K => {
                let taken = if insn.code == BPF_JMP_JEQ_K {
                    acc == insn.k
                } else {
                    acc >= insn.k
                };
                pc += usize::from(if taken { insn.jt } else { insn.jf });
            }
            BPF_RET_K => return insn.k,
            other => panic!("unexpected instruction {other:#x}"),
        }
        pc += 1;
    }
}

const EPERM: u32 = SECCOMP_RET_ERRNO | libc::EPERM as u32;

/// Each supported host's ABIs, as `abi::HOST` is on it.
const HOSTS: [&[&Abi]; 2] = [&[&X86_64, &I386], &[&AARCH64, &ARM]];

fn run_default(arch: u32, nr: u32) -> u32 {
    run(default_program().instructions(), arch, nr)
}

/// What `abis`' program must answer to call `nr` of `abi`: the errno of a denied call of that
/// ABI, EPERM for x32, ALLOW for the rest.
fn expected(abi: &Abi, nr: u32) -> u32 {
    if abi.refuse_from.is_some_and(|from| nr >= from) {
        return EPERM;
    }
    policy::DENIED
        .iter()
        .find(|d| (abi.number)(&d.nr) == Some(nr))
        .map_or(SECCOMP_RET_ALLOW, |d| {
            SECCOMP_RET_ERRNO | u32::from(d.errno)
        })
}

/// Every call of every ABI the program covers, the first thousand numbers (past the last
/// call of any of them) and a few far ones.
fn check_every_number(abis: &[&Abi]) {
    let program = program_for(abis);
    let far = [
        0x0f_0005,
        X32_SYSCALL_BIT - 1,
        X32_SYSCALL_BIT,
        X32_SYSCALL_BIT | 1,
    ];
    for abi in abis {
        for nr in (0..1000).chain(far) {
            assert_eq!(
                run(program.instructions(), abi.audit_arch, nr),
                expected(abi, nr),
                "{} call {nr}",
                abi.name
            );
        }
    }
}

#[test]
fn each_hosts_program_denies_every_listed_call_of_its_abis_and_allows_the_rest() {
    for abis in HOSTS {
        check_every_number(abis);
        let program = program_for(abis);
        for abi in abis {
            for denied in policy::DENIED {
                if let Some(nr) = (abi.number)(&denied.nr) {
                    assert_ne!(
                        run(program.instructions(), abi.audit_arch, nr),
                        SECCOMP_RET_ALLOW,
                        "{} on {}",
                        denied.name,
                        abi.name
                    );
                }
            }
        }
    }
}

#[test]
fn the_aarch64_program_denies_aarch64s_numbers_not_x86_64s() {
    let program = program_for(&[&AARCH64, &ARM]);
    let aarch64 = |nr| run(program.instructions(), AARCH64.audit_arch, nr);
    // keyctl is 219 on aarch64; 250, x86_64's keyctl, is unassigned there.
    assert_eq!(aarch64(219), EPERM);
    assert_eq!(aarch64(250), SECCOMP_RET_ALLOW);
    // syslog is 116 on aarch64; 103, x86_64's, is setitimer there and must work.
    assert_eq!(aarch64(116), SECCOMP_RET_ERRNO);
    assert_eq!(aarch64(103), SECCOMP_RET_ALLOW);
    // arm's set_tls, which every armhf program calls early, is let through.
    assert_eq!(
        run(program.instructions(), ARM.audit_arch, 0x0f_0005),
        SECCOMP_RET_ALLOW
    );
}

#[test]
fn x32_and_other_architectures_are_refused() {
    for abis in HOSTS {
        let program = program_for(abis);
        for other in [&X86_64, &I386, &AARCH64, &ARM] {
            if abis.iter().any(|a| std::ptr::eq(*a, other)) {
                continue;
            }
            for nr in [0u32, 1, 63, 64, 179] {
                assert_eq!(
                    run(program.instructions(), other.audit_arch, nr),
                    EPERM,
                    "{} under {}'s program",
                    other.name,
                    abis[0].name
                );
            }
        }
        // riscv64, and no arch at all.
        assert_eq!(run(program.instructions(), 0xc000_00f3, 1), EPERM);
        assert_eq!(run(program.instructions(), 0, 1), EPERM);
    }
    let x86_64 = program_for(&[&X86_64, &I386]);
    assert_eq!(
        run(
            x86_64.instructions(),
            X86_64.audit_arch,
            X32_SYSCALL_BIT | 1
        ),
        EPERM
    );
}

/// Four ABIs in one program: the jumps past more than one block land where they should.
#[test]
fn the_jumps_hold_for_more_abis_than_a_host_has() {
    check_every_number(&[&X86_64, &I386, &AARCH64, &ARM]);
    check_every_number(&[&ARM, &AARCH64, &I386, &X86_64]);
    check_every_number(&[&I386]);
    let longest = program_for(&[&X86_64, &I386, &AARCH64, &ARM]);
    assert!(longest.instructions().len() < 255, "{longest:?}");
}

#[test]
fn the_default_program_is_the_build_targets() {
    assert_eq!(
        default_program().to_bytes(),
        program_for(abi::HOST).to_bytes()
    );
    assert_eq!(
        run_default(abi::NATIVE.audit_arch, abi::NATIVE.sysinfo),
        SECCOMP_RET_ALLOW
    );
    assert_eq!(
        run_default(abi::NATIVE.audit_arch, libc::SYS_keyctl as u32),
        EPERM
    );
    assert_eq!(
        run_default(abi::NATIVE.audit_arch, libc::SYS_getpid as u32),
        SECCOMP_RET_ALLOW
    );
}

#[test]
fn syslog_answers_zero_so_dmesg_prints_an_empty_log() {
    for abi in [&X86_64, &I386, &AARCH64, &ARM] {
        let program = program_for(&[abi]);
        let syslog = policy::DENIED
            .iter()
            .find(|d| d.name == "syslog")
            .and_then(|d| (abi.number)(&d.nr))
            .expect("syslog on every ABI");
        assert_eq!(
            run(program.instructions(), abi.audit_arch, syslog),
            SECCOMP_RET_ERRNO,
            "{}",
            abi.name
        );
    }
}

#[test]
fn only_the_native_sysinfo_is_handed_to_the_listener() {
    for (native, compat) in [(&X86_64, &I386), (&AARCH64, &ARM)] {
        let program = sysinfo_notify_program_for(native);
        let run = |arch, nr| run(program.instructions(), arch, nr);
        assert_eq!(
            run(native.audit_arch, native.sysinfo),
            SECCOMP_RET_USER_NOTIF
        );
        for other in [
            0u32,
            1,
            59,
            103,
            compat.sysinfo,
            X32_SYSCALL_BIT | native.sysinfo,
        ] {
            assert_eq!(run(native.audit_arch, other), SECCOMP_RET_ALLOW, "{other}");
        }
        // The 32-bit sysinfo keeps the kernel's answer: another layout of the struct.
        assert_eq!(run(compat.audit_arch, compat.sysinfo), SECCOMP_RET_ALLOW);
    }
    assert_eq!(
        sysinfo_notify_program().to_bytes(),
        sysinfo_notify_program_for(abi::NATIVE).to_bytes()
    );
}

#[test]
fn a_program_survives_its_bytes() {
    let program = default_program();
    let back = Program::from_bytes(&program.to_bytes()).expect("whole program");
    assert_eq!(back.to_bytes(), program.to_bytes());
    assert!(Program::from_bytes(&[]).is_none());
    assert!(Program::from_bytes(&[0; 7]).is_none());
}
