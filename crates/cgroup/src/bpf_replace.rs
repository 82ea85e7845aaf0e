//! Widening a running container's cgroup2 device rules (`rlxc device add`): attached
//! programs add up (each must allow an access), so a new rule needs a new program in place
//! of rlxc's old one — found by asking the kernel which programs the cgroup has (by name),
//! and swapped atomically with `BPF_F_REPLACE`.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use crate::devices::Insn;
use crate::Error;

const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
const BPF_F_REPLACE: u32 = 4;
/// The name rlxc gives its device programs (see `bpf::load_with_log`).
const OUR_NAME: &[u8] = b"rlxc_device";

#[repr(C)]
#[derive(Default)]
struct Query {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    padding: [u32; 9],
}

#[repr(C)]
#[derive(Default)]
struct GetFdById {
    id: u32,
    next_id: u32,
    open_flags: u32,
    padding: [u32; 13],
}

#[repr(C)]
#[derive(Default)]
struct GetInfo {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
    padding: [u64; 6],
}

/// The start of `struct bpf_prog_info`, up to the name.
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

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

fn bpf<T>(command: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, fully initialised `union bpf_attr` member of the size passed;
    // the pointers and fds in it stay valid for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            command,
            attr as *mut T,
            std::mem::size_of::<T>(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(rc)
}

/// Puts `program` in place of rlxc's device program on the cgroup2 directory `dir`.
/// `Ok(false)`: the cgroup has no program of rlxc's (its start attached none), nothing done.
pub(crate) fn replace_device_program(dir: &Path, program: &[Insn]) -> Result<bool, Error> {
    let failed = |step| crate::bpf::bpf_failed(dir, step);
    let cgroup = crate::bpf::open_cgroup(dir)?;
    let Some(old) = ours_attached(&cgroup).map_err(failed("listing the device programs"))? else {
        return Ok(false);
    };
    let new = crate::bpf::load(program).map_err(failed("loading the device program"))?;
    let mut attr = ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: new.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI | BPF_F_REPLACE,
        replace_bpf_fd: old.as_raw_fd() as u32,
        ..ProgAttach::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(failed("replacing the device program"))?;
    Ok(true)
}

/// The last program named rlxc's attached to the cgroup itself (not inherited).
fn ours_attached(cgroup: &OwnedFd) -> std::io::Result<Option<OwnedFd>> {
    let mut ids = [0u32; 64];
    let mut query = Query {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Query::default()
    };
    bpf(BPF_PROG_QUERY, &mut query)?;
    let count = (query.prog_cnt as usize).min(ids.len());
    let mut found = None;
    for id in &ids[..count] {
        let mut by_id = GetFdById {
            id: *id,
            ..GetFdById::default()
        };
        let fd = match bpf(BPF_PROG_GET_FD_BY_ID, &mut by_id) {
            Ok(fd) => fd,
            // Detached since the query.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        // SAFETY: a non-negative return of BPF_PROG_GET_FD_BY_ID is a new fd of ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let mut info = ProgInfo::default();
        let mut get = GetInfo {
            bpf_fd: fd.as_raw_fd() as u32,
            info_len: std::mem::size_of::<ProgInfo>() as u32,
            info: &mut info as *mut ProgInfo as u64,
            ..GetInfo::default()
        };
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut get)?;
        if info.name.starts_with(OUR_NAME) {
            found = Some(fd);
        }
    }
    Ok(found)
}
