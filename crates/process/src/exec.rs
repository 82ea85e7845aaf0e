//! exec and the process attributes an exec keeps.

use std::ffi::{CStr, CString};
use std::io;

/// execve(2) of `path`: only returns on failure.
pub fn execve(path: &CStr, argv: &[CString], env: &[CString]) -> io::Error {
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // SAFETY: every pointer refers to a NUL-terminated string owned by `path`, `argv` or
    // `env`, which outlive the call, and both arrays end with a null pointer.
    unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    io::Error::last_os_error()
}

/// personality(2): sets this process's execution domain (`PER_LINUX32` for a 32-bit
/// `uname -m`), which its children and execs inherit.
pub fn set_personality(persona: u32) -> io::Result<()> {
    // SAFETY: personality(2) takes an integer and changes no memory of ours.
    if unsafe { libc::personality(libc::c_ulong::from(persona)) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
