//! Seccomp: rlxc's default deny list ([`policy`]) as a classic BPF filter, built by hand (no
//! libseccomp needed for a list this small), or an LXC profile file compiled through
//! libseccomp ([`profile`]); either is installed in the container's first process just
//! before exec, so init and everything it starts inherit it, and in every attached command.
//! Under the default policy, a container with the /proc view also gets
//! [`sysinfo_notify_program`], whose listener the view's server answers.

pub mod policy;
pub mod profile;

use std::fmt;
use std::io;

pub use profile::{compile_file, for_spec, gaps, unknown_names, SeccompError};

/// `struct seccomp_data` offsets.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// x32 syscalls are x86_64-arch calls with this bit set; no container of ours uses x32, and
/// allowing it would let every denied call through under another number.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;

/// A seccomp filter ready for the kernel: classic BPF instructions.
#[derive(Clone)]
pub struct Program(Vec<libc::sock_filter>);

/// One `struct sock_filter` in memory: u16 code, u8 jt, u8 jf, u32 k.
const INSTRUCTION_SIZE: usize = 8;

impl Program {
    pub fn instructions(&self) -> &[libc::sock_filter] {
        &self.0
    }

    /// The program as the kernel reads it (native byte order), for the run directory, where
    /// attach finds the filter the container was started with.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.0.len() * INSTRUCTION_SIZE);
        for insn in &self.0 {
            bytes.extend_from_slice(&insn.code.to_ne_bytes());
            bytes.push(insn.jt);
            bytes.push(insn.jf);
            bytes.extend_from_slice(&insn.k.to_ne_bytes());
        }
        bytes
    }

    /// Reads [`Program::to_bytes`] (or libseccomp's `seccomp_export_bpf`) back; `None` for
    /// anything that is not a whole, non-empty program the kernel could take.
    pub fn from_bytes(bytes: &[u8]) -> Option<Program> {
        let instructions = bytes.chunks_exact(INSTRUCTION_SIZE);
        if bytes.is_empty() || !instructions.remainder().is_empty() {
            return None;
        }
        let program: Vec<libc::sock_filter> = instructions
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        // BPF_MAXINSNS: the kernel takes no longer program.
        (program.len() <= 4096).then_some(Program(program))
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Program({} instructions)", self.0.len())
    }
}

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
/// X: ld nr; jge x32 → EPERM; jeq n → its errno ...; ret ALLOW; ret ERRNO|e ...
/// I: ld nr;                  jeq n → its errno ...; ret ALLOW; ret ERRNO|e ...
/// unknown: ret EPERM
/// ```
pub fn default_program() -> Program {
    let x86_64: Vec<(u32, u16)> = policy::DENIED
        .iter()
        .map(|d| (d.x86_64 as u32, d.errno))
        .collect();
    let i386: Vec<(u32, u16)> = policy::DENIED
        .iter()
        .filter_map(|d| d.i386.map(|n| (n as u32, d.errno)))
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
    program.push(errno(libc::EPERM as u16));
    Program(program)
}

fn errno(errno: u16) -> libc::sock_filter {
    statement(BPF_RET_K, SECCOMP_RET_ERRNO | u32::from(errno))
}

/// A BPF jump offset; the blocks are a few dozen instructions, far below the 255 limit.
fn offset(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// `ld nr`, one check per number (and the x32 bit) jumping to the return of its errno, then
/// `ret ALLOW`, then one return per distinct errno. With `k` checks, check `j` sits at
/// index `1 + j`, `ret ALLOW` at `k + 1` and return `r` at `k + 2 + r`.
fn deny_block(denied: &[(u32, u16)], refuse_x32: bool) -> Vec<libc::sock_filter> {
    let mut checks: Vec<(u16, u32, u16)> = Vec::new();
    if refuse_x32 {
        checks.push((BPF_JMP_JGE_K, X32_SYSCALL_BIT, libc::EPERM as u16));
    }
    checks.extend(denied.iter().map(|(nr, e)| (BPF_JMP_JEQ_K, *nr, *e)));
    let mut answers: Vec<u16> = Vec::new();
    for (_, _, e) in &checks {
        if !answers.contains(e) {
            answers.push(*e);
        }
    }
    let k = checks.len();
    let mut block = vec![statement(BPF_LD_W_ABS, NR_OFFSET)];
    for (j, (code, value, e)) in checks.into_iter().enumerate() {
        let r = answers.iter().position(|a| *a == e).unwrap_or(0);
        block.push(jump(code, value, offset(k - j + r), 0));
    }
    block.push(statement(BPF_RET_K, SECCOMP_RET_ALLOW));
    block.extend(answers.into_iter().map(errno));
    block
}

/// The filter that hands sysinfo(2) to the /proc view's server (see `procview::sysinfo`):
/// x86_64's sysinfo notifies, everything else passes on to the filters below it (the default
/// policy, installed later, still refuses x32 and unknown architectures). i386 callers keep
/// the kernel's answer: their `struct sysinfo` has another layout.
///
/// ```text
/// ld arch; jeq x86_64 → next | allow
/// ld nr;   jeq sysinfo → notify | allow
/// allow: ret ALLOW
/// notify: ret USER_NOTIF
/// ```
pub fn sysinfo_notify_program() -> Program {
    Program(vec![
        statement(BPF_LD_W_ABS, ARCH_OFFSET),
        jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 0, 2),
        statement(BPF_LD_W_ABS, NR_OFFSET),
        jump(BPF_JMP_JEQ_K, libc::SYS_sysinfo as u32, 1, 0),
        statement(BPF_RET_K, SECCOMP_RET_ALLOW),
        statement(BPF_RET_K, SECCOMP_RET_USER_NOTIF),
    ])
}

/// Installs `program` with a notification listener (`SECCOMP_FILTER_FLAG_NEW_LISTENER`, kernel
/// 5.0) and returns the listener. Needs CAP_SYS_ADMIN or no_new_privs, like any filter.
pub fn install_with_listener(program: &Program) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let prog = libc::sock_fprog {
        len: program.0.len() as u16,
        filter: program.0.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `program`, which lives for the call; the kernel copies the
    // filter. seccomp(SET_MODE_FILTER, NEW_LISTENER) reads exactly a sock_fprog and returns
    // a new fd (close-on-exec) that nothing else owns.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        )
    };
    match libc::c_int::try_from(fd) {
        // SAFETY: a fresh fd the kernel just returned to us.
        Ok(fd) if fd >= 0 => Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }),
        _ => Err(io::Error::last_os_error()),
    }
}

/// The filter of [`sysinfo_notify_program`] with its listener, for init and for attached
/// processes alike. A kernel without user notification (before 5.0) keeps answering sysinfo
/// itself: nothing is lost but the container's numbers.
pub fn install_sysinfo_listener() -> Option<std::os::fd::OwnedFd> {
    install_with_listener(&sysinfo_notify_program()).ok()
}

/// Installs `program` for this process and everything it will start.
pub fn install(program: &Program) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.0.len() as u16,
        filter: program.0.as_ptr() as *mut libc::sock_filter,
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

    fn run_default(arch: u32, nr: u32) -> u32 {
        run(default_program().instructions(), arch, nr)
    }

    #[test]
    fn denies_every_listed_call_on_both_abis_and_allows_the_rest() {
        for denied in policy::DENIED {
            let answer = SECCOMP_RET_ERRNO | u32::from(denied.errno);
            assert_eq!(
                run_default(AUDIT_ARCH_X86_64, denied.x86_64 as u32),
                answer,
                "{}",
                denied.name
            );
            if let Some(nr) = denied.i386 {
                assert_eq!(
                    run_default(AUDIT_ARCH_I386, nr as u32),
                    answer,
                    "{} (i386)",
                    denied.name
                );
            }
        }
        for allowed in [0u32, 1, 2, 59, 60, 231] {
            assert_eq!(run_default(AUDIT_ARCH_X86_64, allowed), SECCOMP_RET_ALLOW);
        }
        // i386 read/write/exit are allowed too.
        for allowed in [1u32, 3, 4] {
            assert_eq!(run_default(AUDIT_ARCH_I386, allowed), SECCOMP_RET_ALLOW);
        }
    }

    #[test]
    fn x32_and_unknown_architectures_are_refused() {
        assert_eq!(run_default(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 1), EPERM);
        assert_eq!(run_default(0xc000_00b7, 1), EPERM);
    }

    #[test]
    fn syslog_answers_zero_so_dmesg_prints_an_empty_log() {
        let syslog = libc::SYS_syslog as u32;
        assert_eq!(run_default(AUDIT_ARCH_X86_64, syslog), SECCOMP_RET_ERRNO);
        assert_eq!(run_default(AUDIT_ARCH_I386, 103), SECCOMP_RET_ERRNO);
    }

    #[test]
    fn only_x86_64_sysinfo_is_handed_to_the_listener() {
        let program = sysinfo_notify_program();
        let sysinfo = libc::SYS_sysinfo as u32;
        assert_eq!(
            run(program.instructions(), AUDIT_ARCH_X86_64, sysinfo),
            SECCOMP_RET_USER_NOTIF
        );
        for other in [0u32, 1, 59, 103, X32_SYSCALL_BIT | sysinfo] {
            assert_eq!(
                run(program.instructions(), AUDIT_ARCH_X86_64, other),
                SECCOMP_RET_ALLOW
            );
        }
        // i386's sysinfo (116) keeps the kernel's answer.
        assert_eq!(
            run(program.instructions(), AUDIT_ARCH_I386, 116),
            SECCOMP_RET_ALLOW
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
