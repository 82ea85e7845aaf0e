//! The system-call ABIs rlxc's default filter knows: the AUDIT_ARCH a call arrives with and
//! where the numbers of [`policy::DENIED`](super::policy::DENIED) are for it. A process on an
//! x86_64 host can make calls of three ABIs (x86_64, i386 through `int 0x80`, x32), one on an
//! aarch64 host two (aarch64, and 32-bit arm where the CPU has it); a filter that does not
//! cover each of them either lets the deny list through under other numbers or refuses
//! everything. Every ABI is described on every host, so the tests check all the numbers
//! against libseccomp's tables whatever the host; [`HOST`] picks the build target's.

use super::policy::Numbers;

/// One ABI: its `AUDIT_ARCH_*` (the `arch` of `struct seccomp_data`) and its numbers.
pub struct Abi {
    /// libseccomp's name of it (`seccomp_arch_resolve_name`), which the tests resolve.
    pub name: &'static str,
    pub audit_arch: u32,
    /// This ABI's column of a denied call's [`Numbers`]; `None` where the ABI lacks the call.
    pub number: fn(&Numbers) -> Option<u32>,
    /// Numbers from this one up belong to another ABI sharing the AUDIT_ARCH (x32 on x86_64):
    /// refused, or every denied call would pass under its other number.
    pub refuse_from: Option<u32>,
    /// sysinfo(2)'s number, for the filter that hands it to the /proc view's server.
    pub sysinfo: u32,
}

// include/uapi/linux/audit.h: the ELF machine, | 64BIT for 64-bit ABIs, | LE for little-endian.
const AUDIT_ARCH_64BIT: u32 = 0x8000_0000;
const AUDIT_ARCH_LE: u32 = 0x4000_0000;
const EM_386: u32 = 3;
const EM_ARM: u32 = 40;
const EM_X86_64: u32 = 62;
const EM_AARCH64: u32 = 183;

/// x32 calls are x86_64-arch calls with this bit set.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

pub const X86_64: Abi = Abi {
    name: "x86_64",
    audit_arch: EM_X86_64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE,
    number: |n| n.x86_64,
    refuse_from: Some(X32_SYSCALL_BIT),
    sysinfo: 99,
};

pub const I386: Abi = Abi {
    name: "x86",
    audit_arch: EM_386 | AUDIT_ARCH_LE,
    number: |n| n.i386,
    refuse_from: None,
    sysinfo: 116,
};

pub const AARCH64: Abi = Abi {
    name: "aarch64",
    audit_arch: EM_AARCH64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE,
    number: |n| n.aarch64,
    refuse_from: None,
    sysinfo: 179,
};

/// 32-bit arm (EABI) under an aarch64 kernel. Its private calls (0x0f0000 up: cacheflush,
/// set_tls) are none of the deny list's business and stay allowed.
pub const ARM: Abi = Abi {
    name: "arm",
    audit_arch: EM_ARM | AUDIT_ARCH_LE,
    number: |n| n.arm,
    refuse_from: None,
    sysinfo: 116,
};

/// The ABIs of the architecture rlxc is built for, native first: the default filter covers
/// each and refuses every call of any other. The 32-bit one (i386, arm) is covered rather
/// than refused because `lxc.arch = i686` / `armhf` containers run on it.
#[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
pub const HOST: &[&Abi] = &[&X86_64, &I386];
#[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
pub const NATIVE: &Abi = &X86_64;

#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
pub const HOST: &[&Abi] = &[&AARCH64, &ARM];
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
pub const NATIVE: &Abi = &AARCH64;

// Without this, a build for another architecture compiles, and its containers cannot make a
// single system call: the filter sees an AUDIT_ARCH it does not know and refuses everything.
#[cfg(not(any(
    all(target_arch = "x86_64", target_pointer_width = "64"),
    all(target_arch = "aarch64", target_endian = "little")
)))]
compile_error!(
    "rlxc supports x86_64 (with i386) and little-endian aarch64 (with 32-bit arm) only: its \
     default seccomp policy (crates/runtime/src/seccomp) knows the system-call numbers and \
     AUDIT_ARCH of those ABIs alone, and built for any other architecture (x32 and big-endian \
     aarch64 included) it would refuse every call a container makes. Add the architecture's \
     ABIs to crates/runtime/src/seccomp/abi.rs and its numbers to policy.rs (the tests check \
     them against libseccomp) to support it."
);

// Stand-ins so the message above is the only error of such a build.
#[cfg(not(any(
    all(target_arch = "x86_64", target_pointer_width = "64"),
    all(target_arch = "aarch64", target_endian = "little")
)))]
pub const HOST: &[&Abi] = &[];
#[cfg(not(any(
    all(target_arch = "x86_64", target_pointer_width = "64"),
    all(target_arch = "aarch64", target_endian = "little")
)))]
pub const NATIVE: &Abi = &X86_64;

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;
    use crate::seccomp::policy::DENIED;

    const ALL: [&Abi; 4] = [&X86_64, &I386, &AARCH64, &ARM];

    /// libseccomp's token of an ABI: its AUDIT_ARCH.
    fn token(abi: &Abi) -> u32 {
        let name = CString::new(abi.name).expect("no NUL");
        // SAFETY: `name` is a NUL-terminated string that lives for the call; the function
        // only reads it.
        let token = unsafe { libseccomp_sys::seccomp_arch_resolve_name(name.as_ptr()) };
        assert_ne!(token, 0, "libseccomp knows no ABI {}", abi.name);
        token
    }

    /// libseccomp's number of `call` on `abi`, `None` where the ABI lacks it (a negative
    /// pseudo-number); unknown names fail the test.
    fn resolve(abi: &Abi, call: &str) -> Option<u32> {
        let name = CString::new(call).expect("no NUL");
        // SAFETY: as above; `token` is a valid architecture token.
        let nr =
            unsafe { libseccomp_sys::seccomp_syscall_resolve_name_arch(token(abi), name.as_ptr()) };
        assert_ne!(
            nr,
            libseccomp_sys::__NR_SCMP_ERROR,
            "libseccomp knows no {call}"
        );
        u32::try_from(nr).ok()
    }

    #[test]
    fn audit_arches_are_libseccomps() {
        for abi in ALL {
            assert_eq!(abi.audit_arch, token(abi), "{}", abi.name);
        }
    }

    /// The test that fails when a column is missing or copied from another ABI (the bug of a
    /// filter with x86_64 numbers only): every ABI's numbers are checked on any host.
    #[test]
    fn every_abis_numbers_are_libseccomps() {
        for abi in ALL {
            for denied in DENIED {
                assert_eq!(
                    (abi.number)(&denied.nr),
                    resolve(abi, denied.name),
                    "{} on {}",
                    denied.name,
                    abi.name
                );
            }
            assert_eq!(Some(abi.sysinfo), resolve(abi, "sysinfo"), "{}", abi.name);
        }
    }

    /// The build target's own numbers, from its libc: a second source besides libseccomp.
    #[test]
    fn native_numbers_are_the_targets() {
        let libc_numbers = [
            ("open_by_handle_at", libc::SYS_open_by_handle_at),
            ("kexec_load", libc::SYS_kexec_load),
            ("kexec_file_load", libc::SYS_kexec_file_load),
            ("init_module", libc::SYS_init_module),
            ("finit_module", libc::SYS_finit_module),
            ("delete_module", libc::SYS_delete_module),
            ("keyctl", libc::SYS_keyctl),
            ("add_key", libc::SYS_add_key),
            ("request_key", libc::SYS_request_key),
            ("syslog", libc::SYS_syslog),
            ("bpf", libc::SYS_bpf),
            ("perf_event_open", libc::SYS_perf_event_open),
            ("userfaultfd", libc::SYS_userfaultfd),
            ("acct", libc::SYS_acct),
            ("swapon", libc::SYS_swapon),
            ("swapoff", libc::SYS_swapoff),
        ];
        assert_eq!(libc_numbers.len(), DENIED.len());
        for (denied, (name, nr)) in DENIED.iter().zip(libc_numbers) {
            assert_eq!(denied.name, name);
            assert_eq!(
                (NATIVE.number)(&denied.nr).map(i64::from),
                Some(nr),
                "{name}"
            );
        }
        assert_eq!(i64::from(NATIVE.sysinfo), libc::SYS_sysinfo);
    }

    #[test]
    fn the_native_abi_is_the_one_libseccomp_runs_on() {
        // SAFETY: takes no arguments, returns a token.
        let native = unsafe { libseccomp_sys::seccomp_arch_native() };
        assert_eq!(NATIVE.audit_arch, native);
        assert!(std::ptr::eq(HOST[0], NATIVE));
    }
}
