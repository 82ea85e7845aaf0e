//! The monitor's `unsafe`: fork, a signalfd, and stdio redirection.

pub(crate) use crate::sys::{dup_onto_stdio, fork};

/// Blocks `signals` and returns a non-blocking signalfd for them (the monitor's epoll reads it).
pub(crate) fn signalfd_for(signals: &[i32]) -> Option<std::os::fd::OwnedFd> {
    crate::sys::block_signals_to_fd(signals, true)
}

/// Rewrites this process's command line (what `ps` shows) in place, within the space the
/// original arguments had; a longer title is cut. The kernel reads `/proc/PID/cmdline` from
/// `[arg_start, arg_end)`, which `/proc/self/stat` reports (fields 48 and 49).
pub(crate) fn set_command_line(title: &str) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    let Some(after_name) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return;
    };
    // Fields after the name start at field 3; arg_start is field 48.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let (Some(start), Some(end)) = (
        fields.get(45).and_then(|f| f.parse::<usize>().ok()),
        fields.get(46).and_then(|f| f.parse::<usize>().ok()),
    ) else {
        return;
    };
    if end <= start + 1 {
        return;
    }
    let room = end - start - 1;
    let bytes = &title.as_bytes()[..title.len().min(room)];
    // SAFETY: [start, end) is this process's argument area, mapped and writable (it is on the
    // initial stack); nothing holds a Rust reference into it (std reads argv only on demand,
    // and the monitor never asks again). We write within it and keep a final NUL.
    unsafe {
        let area = start as *mut u8;
        std::ptr::write_bytes(area, 0, end - start);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), area, bytes.len());
    }
}

/// Gives the heap's free pages back to the kernel. The monitor is a fork of the CLI: what the
/// CLI allocated and freed (the parsed config, clap's command tree) would otherwise stay
/// resident in every monitor for the container's whole life.
pub(crate) fn release_free_heap() {
    // SAFETY: malloc_trim only returns unused heap memory; no pointer is involved.
    unsafe { libc::malloc_trim(0) };
}

/// Gives back the main stack's pages below the current frame. The monitor is a fork of the
/// CLI, whose deepest calls (clap, the config parser, the start) dirtied tens of KiB of stack
/// that the monitor's event loop, called from here, never reaches again; `MADV_DONTNEED`
/// makes them untouched memory again (a call that does go that deep later gets zero pages).
pub(crate) fn release_unused_stack() {
    // Room for what runs below this frame during the call (madvise's own frames), and more.
    const IN_USE_BELOW: usize = 16 * 1024;
    let marker = 0u8;
    let here = std::ptr::addr_of!(marker) as usize;
    let Some(lowest) = main_stack_start() else {
        return;
    };
    // SAFETY: sysconf only reads a constant of the system.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        size if size > 0 => size as usize,
        _ => return,
    };
    let end = here.saturating_sub(IN_USE_BELOW) & !(page - 1);
    if end <= lowest {
        return;
    }
    // SAFETY: [lowest, end) is the part of this (the main) thread's stack more than
    // IN_USE_BELOW below a local of this frame: no live frame, no reference and no other
    // thread's data is there, since the stack grows down and every frame still in use is
    // above `here`. The range is page-aligned and mapped (it is within `[stack]`).
    unsafe {
        libc::madvise(
            lowest as *mut libc::c_void,
            end - lowest,
            libc::MADV_DONTNEED,
        );
    }
}

/// Where the main thread's stack mapping starts (its lowest mapped address).
fn main_stack_start() -> Option<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|line| line.ends_with("[stack]"))?;
    let start = line.split('-').next()?;
    usize::from_str_radix(start, 16).ok()
}
