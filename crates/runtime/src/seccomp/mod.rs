//! Seccomp: rlxc's default deny list ([`policy`]) as a classic BPF filter, built by hand (no
//! libseccomp needed for a list this small) and installed in the container's first process
//! just before exec, so init and everything it starts inherit it.

pub mod policy;

use std::io;

/// `struct seccomp_data` offsets.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// x32 syscalls are x86_64-arch calls with this bit set; no container of ours uses x32, and
/// allowing it would let every denied call through under another number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;

fn statement(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The default policy as a BPF program:
///
/// ```text
/// ld arch
/// jeq x86_64 → X | next
/// jeq i386   → I | unknown
/// X: ld nr; jge x32 → deny; jeq n → deny ...; ret ALLOW; deny: ret EPERM
/// I: ld nr;                 jeq n → deny ...; ret ALLOW; deny: ret EPERM
/// unknown: ret EPERM
/// ```
pub fn default_program() -> Vec<libc::sock_filter> {
    let x86_64: Vec<u32> = policy::DENIED.iter().map(|d| d.x86_64 as u32).collect();
    let i386: Vec<u32> = policy::DENIED
        .iter()
        .filter_map(|d| d.i386.map(|n| n as u32))
        .collect();
    let x86_64_block = deny_block(&x86_64, true);
    let i386_block = deny_block(&i386, false);
    let mut program = vec![
        statement(BPF_LD_W_ABS, ARCH_OFFSET),
        jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        jump(
            BPF_JMP_JEQ_K,
            AUDIT_ARCH_I386,
            offset(x86_64_block.len()),
            offset(x86_64_block.len() + i386_block.len()),
        ),
    ];
    program.extend(x86_64_block);
    program.extend(i386_block);
    program.push(deny());
    program
}

fn deny() -> libc::sock_filter {
    statement(BPF_RET_K, SECCOMP_RET_ERRNO | libc::EPERM as u32)
}

/// A BPF jump offset; the blocks are a few dozen instructions, far below the 255 limit.
fn offset(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// `ld nr`, one check per number (and the x32 bit) jumping to the block's deny, then
/// `ret ALLOW`, then the deny. Check `j` of `k` sits at index `1 + j`; the deny at `k + 2`.
fn deny_block(numbers: &[u32], refuse_x32: bool) -> Vec<libc::sock_filter> {
    let mut checks: Vec<(u16, u32)> = Vec::new();
    if refuse_x32 {
        checks.push((BPF_JMP_JGE_K, X32_SYSCALL_BIT));
    }
    checks.extend(numbers.iter().map(|nr| (BPF_JMP_JEQ_K, *nr)));
    let k = checks.len();
    let mut block = vec![statement(BPF_LD_W_ABS, NR_OFFSET)];
    for (j, (code, value)) in checks.into_iter().enumerate() {
        block.push(jump(code, value, offset(k - j), 0));
    }
    block.push(statement(BPF_RET_K, SECCOMP_RET_ALLOW));
    block.push(deny());
    block
}

/// Installs `program` for this process and everything it will start.
pub fn install(program: &[libc::sock_filter]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `program`, which lives for the call; the kernel copies the
    // filter. PR_SET_SECCOMP with SECCOMP_MODE_FILTER reads exactly a sock_fprog.
    let rc = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const libc::sock_fprog as libc::c_ulong,
            0,
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter of the instructions the program uses, to check its jumps.
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

    #[test]
    fn denies_every_listed_call_on_both_abis_and_allows_the_rest() {
        let program = default_program();
        for denied in policy::DENIED {
            assert_eq!(
                run(&program, AUDIT_ARCH_X86_64, denied.x86_64 as u32),
                EPERM,
                "{}",
                denied.name
            );
            if let Some(nr) = denied.i386 {
                assert_eq!(
                    run(&program, AUDIT_ARCH_I386, nr as u32),
                    EPERM,
                    "{} (i386)",
                    denied.name
                );
            }
        }
        for allowed in [0u32, 1, 2, 59, 60, 231] {
            assert_eq!(run(&program, AUDIT_ARCH_X86_64, allowed), SECCOMP_RET_ALLOW);
        }
        // i386 read/write/exit are allowed too.
        for allowed in [1u32, 3, 4] {
            assert_eq!(run(&program, AUDIT_ARCH_I386, allowed), SECCOMP_RET_ALLOW);
        }
    }

    #[test]
    fn x32_and_unknown_architectures_are_refused() {
        let program = default_program();
        assert_eq!(run(&program, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 1), EPERM);
        assert_eq!(run(&program, 0xc000_00b7, 1), EPERM);
    }

    #[test]
    fn the_numbers_match_this_platforms() {
        assert_eq!(policy::DENIED[0].x86_64, libc::SYS_open_by_handle_at);
        let by_name = |name: &str| {
            policy::DENIED
                .iter()
                .find(|d| d.name == name)
                .map(|d| d.x86_64)
        };
        assert_eq!(by_name("syslog"), Some(libc::SYS_syslog));
        assert_eq!(by_name("keyctl"), Some(libc::SYS_keyctl));
        assert_eq!(by_name("bpf"), Some(libc::SYS_bpf));
        assert_eq!(by_name("userfaultfd"), Some(libc::SYS_userfaultfd));
        assert_eq!(by_name("kexec_file_load"), Some(libc::SYS_kexec_file_load));
        assert_eq!(by_name("finit_module"), Some(libc::SYS_finit_module));
        assert_eq!(by_name("perf_event_open"), Some(libc::SYS_perf_event_open));
    }
}
