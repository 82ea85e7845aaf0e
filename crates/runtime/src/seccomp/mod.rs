//! Seccomp: rlxc's default deny list ([`policy`]) as a classic BPF filter, built by hand for
//! each ABI of the host ([`abi`]; no libseccomp needed for a list this small), or an LXC
//! profile file compiled through libseccomp ([`profile`]); either is installed in the
//! container's first process just before exec, so init and everything it starts inherit it,
//! and in every attached command.
//! Under the default policy, a container with the /proc view also gets
//! [`sysinfo_notify_program`], whose listener the view's server answers.

pub mod abi;
pub mod policy;
pub mod profile;

use std::fmt;
use std::io;

pub use profile::{compile_file, for_spec, gaps, unknown_names, SeccompError};

/// `struct seccomp_data` offsets.
const NR_OFFSET: u32 = 0;
const ARCH_OFFSET: u32 = 4;

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

/// The default policy as a BPF program, for the ABIs of the host rlxc is built for.
pub fn default_program() -> Program {
    program_for(abi::HOST)
}

/// The default policy for `abis`: a check of the AUDIT_ARCH per ABI jumping to its block,
/// and every other architecture refused.
///
/// ```text
/// ld arch
/// jeq abi₀ → B₀ | next
/// jeq abi₁ → B₁ | next
/// ret EPERM                  (an architecture none of them is)
/// B₀: ld nr; [jge x32 → EPERM;] jeq n → its errno ...; ret ALLOW; ret ERRNO|e ...
/// B₁: ...
/// ```
pub fn program_for(abis: &[&abi::Abi]) -> Program {
    let blocks: Vec<Vec<libc::sock_filter>> = abis.iter().map(|a| deny_block(a)).collect();
    let n = abis.len();
    let mut program = vec![statement(BPF_LD_W_ABS, ARCH_OFFSET)];
    // Check `i` sits at 1 + i and its block starts at n + 2 + the blocks before it.
    let mut before = 0;
    for (i, (abi, block)) in abis.iter().zip(&blocks).enumerate() {
        program.push(jump(
            BPF_JMP_JEQ_K,
            abi.audit_arch,
            offset(n - i + before),
            0,
        ));
        before += block.len();
    }
    program.push(errno(libc::EPERM as u16));
    program.extend(blocks.into_iter().flatten());
    Program(program)
}

fn errno(errno: u16) -> libc::sock_filter {
    statement(BPF_RET_K, SECCOMP_RET_ERRNO | u32::from(errno))
}

/// A BPF jump offset; the blocks are a few dozen instructions, far below the 255 limit (a
/// test checks the longest program).
fn offset(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// `ld nr`, one check per number of `abi` (and its other ABI's range) jumping to the return
/// of its errno, then `ret ALLOW`, then one return per distinct errno. With `k` checks,
/// check `j` sits at index `1 + j`, `ret ALLOW` at `k + 1` and return `r` at `k + 2 + r`.
fn deny_block(abi: &abi::Abi) -> Vec<libc::sock_filter> {
    let mut checks: Vec<(u16, u32, u16)> = Vec::new();
    if let Some(from) = abi.refuse_from {
        checks.push((BPF_JMP_JGE_K, from, libc::EPERM as u16));
    }
    checks.extend(
        policy::DENIED
            .iter()
            .filter_map(|d| (abi.number)(&d.nr).map(|nr| (BPF_JMP_JEQ_K, nr, d.errno))),
    );
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
/// the native ABI's sysinfo notifies, everything else passes on to the filters below it (the
/// default policy, installed later, still refuses x32 and unknown architectures). i386 and
/// arm callers keep the kernel's answer: their `struct sysinfo` has another layout.
pub fn sysinfo_notify_program() -> Program {
    sysinfo_notify_program_for(abi::NATIVE)
}

/// ```text
/// ld arch; jeq native → next | allow
/// ld nr;   jeq sysinfo → notify | allow
/// allow: ret ALLOW
/// notify: ret USER_NOTIF
/// ```
fn sysinfo_notify_program_for(native: &abi::Abi) -> Program {
    Program(vec![
        statement(BPF_LD_W_ABS, ARCH_OFFSET),
        jump(BPF_JMP_JEQ_K, native.audit_arch, 0, 2),
        statement(BPF_LD_W_ABS, NR_OFFSET),
        jump(BPF_JMP_JEQ_K, native.sysinfo, 1, 0),
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
mod tests;
