//! The monitor's `unsafe`: a signalfd, stdio redirection, its title.

pub(crate) use crate::sys::dup_onto_stdio;

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
