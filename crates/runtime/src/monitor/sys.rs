//! The monitor's own system-level pieces: its title, and the signal relay of `rlxc
//! execute`'s front process.

use std::os::fd::OwnedFd;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::Signal;

use crate::process::signals::{Reads, SignalFd, FORWARDED_SIGNALS};

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

/// Reads the monitor's status pipe to its end, passing on to the monitor the signals sent to
/// this process (`rlxc execute`'s front: a supervisor's SIGTERM must reach the command). A
/// terminal's signals (^C) reach the whole process group, the monitor included, so those
/// are not passed on a second time. After passing one on, `give_up(signal)` may end the
/// wait: `Err(signal)` (a frozen command gets its signal only once thawed, and the front
/// must not wait for that). `on_running` is called once the report says `OK` (and again on
/// every read after).
pub(crate) fn read_status_forwarding_signals(
    status: OwnedFd,
    monitor: i32,
    give_up: &dyn Fn(i32) -> bool,
    on_running: &mut dyn FnMut(),
) -> Result<String, i32> {
    // Blocked for the rest of this process: it exits with the command's status.
    let signals = SignalFd::block_for_life(&FORWARDED_SIGNALS, Reads::NonBlocking).ok();
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let mut fds = vec![PollFd::new(&status, PollFlags::IN)];
        fds.extend(signals.iter().map(|fd| PollFd::new(fd, PollFlags::IN)));
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => break,
        }
        let status_ready = !fds[0].revents().is_empty();
        let signalled = fds.get(1).is_some_and(|fd| !fd.revents().is_empty());
        drop(fds);
        if let (true, Some(signals)) = (signalled, &signals) {
            if let Some(signal) = pass_on(signals, monitor).filter(|signal| give_up(*signal)) {
                return Err(signal);
            }
        }
        if status_ready {
            match rustix::io::read(&status, &mut buffer) {
                Ok(0) => break,
                Ok(read) => {
                    text.extend_from_slice(&buffer[..read]);
                    if super::launch::split_warnings(&String::from_utf8_lossy(&text))
                        .1
                        .starts_with("OK\n")
                    {
                        on_running();
                    }
                }
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(_) => break,
            }
        }
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// Sends on every signal queued on `signals` that did not come from the kernel; returns the
/// last one read.
fn pass_on(signals: &SignalFd, monitor: i32) -> Option<i32> {
    let mut last = None;
    while let Some(received) = signals.next_received() {
        last = Some(received.signal);
        let (Some(pid), Some(signal)) = (
            rustix::process::Pid::from_raw(monitor),
            Signal::from_named_raw(received.signal),
        ) else {
            continue;
        };
        if received.code != libc::SI_KERNEL {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }
    last
}
