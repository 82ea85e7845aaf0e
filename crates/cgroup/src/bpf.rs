//! The kernel boundary for device programs: `bpf(2)` through libc (rustix has no bpf), to
//! load a `BPF_PROG_TYPE_CGROUP_DEVICE` program and attach it to a cgroup2 directory.
//! The attachment holds the program: the fd is closed once attached, and the program goes
//! with the cgroup.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use crate::devices::Insn;
use crate::Error;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Programs of the container's own sub-cgroups (a nested container's) add to ours instead
/// of replacing it: every attached program must allow an access.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr`, zero-padded to a size every kernel takes.
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
    padding: [u64; 8],
}

/// The `BPF_PROG_ATTACH` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
    padding: [u32; 11],
}

/// Why this process may not call bpf(2) at all, if it may not: a seccomp filter it runs
/// under (that of a container rlxc itself runs in: rlxc's default policy denies bpf) answers
/// EPERM. Probed with a command no kernel has, which the kernel itself answers EINVAL.
pub fn bpf_denied() -> Option<std::io::Error> {
    // SAFETY: an unknown command with a null attribute of size 0: the kernel reads nothing.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libc::c_long::from(i32::MAX),
            std::ptr::null::<u8>(),
            0usize,
        )
    };
    let error = std::io::Error::last_os_error();
    (rc < 0 && error.raw_os_error() == Some(libc::EPERM)).then_some(error)
}

/// A BPF step's error, about the cgroup `dir`.
pub(crate) fn bpf_failed(dir: &Path, step: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    let path = dir.to_owned();
    move |cause| Error::Bpf { step, path, cause }
}

/// The cgroup2 directory `dir`, opened for the BPF calls that take its descriptor.
pub(crate) fn open_cgroup(dir: &Path) -> Result<std::os::fd::OwnedFd, Error> {
    rustix::fs::open(
        dir,
        OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| bpf_failed(dir, "opening the cgroup")(errno.into()))
}

/// Loads `program` and attaches it to the cgroup2 directory `dir`.
pub(crate) fn attach_device_program(dir: &Path, program: &[Insn]) -> Result<(), Error> {
    let failed = |step| bpf_failed(dir, step);
    let cgroup = open_cgroup(dir)?;
    let prog = load(program).map_err(failed("loading the device program"))?;
    let attr = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttach::default()
    };
    // SAFETY: `attr` is a live, fully initialised BPF_PROG_ATTACH attribute of the size
    // passed; the fds in it are open for the whole call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const ProgAttach,
            std::mem::size_of::<ProgAttach>(),
        )
    };
    if rc < 0 {
        return Err(failed("attaching the device program")(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

pub(crate) fn load(program: &[Insn]) -> std::io::Result<OwnedFd> {
    // Without a log first: asking for one makes the verifier write it (and the buffer is 64
    // KiB to zero); only a refused program is loaded again to have the verifier say why.
    match load_with_log(program, &mut []) {
        Ok(fd) => Ok(fd),
        Err(error) => {
            let mut log = vec![0u8; 64 * 1024];
            let Err(again) = load_with_log(program, &mut log) else {
                return Err(error);
            };
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let verifier = String::from_utf8_lossy(&log[..end]).trim().to_owned();
            if verifier.is_empty() {
                return Err(again);
            }
            Err(std::io::Error::new(
                again.kind(),
                format!("{again}; verifier: {verifier}"),
            ))
        }
    }
}

/// One BPF_PROG_LOAD; the verifier's log goes to `log` when it is not empty.
fn load_with_log(program: &[Insn], log: &mut [u8]) -> std::io::Result<OwnedFd> {
    const LICENSE: &[u8] = b"GPL\0";
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"rlxc_device");
    let attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: program.len() as u32,
        insns: program.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        prog_name: name,
        ..ProgLoad::default()
    };
    // SAFETY: `attr` is a fully initialised BPF_PROG_LOAD attribute; the instructions
    // (`#[repr(C)]` struct bpf_insn), the license and the log buffer it points to (if any)
    // outlive the call, and the log size is the buffer's length.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_LOAD,
            &attr as *const ProgLoad,
            std::mem::size_of::<ProgLoad>(),
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a non-negative return of BPF_PROG_LOAD is a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
