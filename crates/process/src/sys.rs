//! The `unsafe` that is not about processes: the heap and the clock.

/// Gives the heap's free pages back to the kernel. The monitor is a fork of the CLI: what the
/// CLI allocated and freed (the parsed config, clap's command tree) would otherwise stay
/// resident in every monitor for the container's whole life.
pub fn release_free_heap() {
    // SAFETY: malloc_trim only returns unused heap memory; no pointer is involved.
    unsafe { libc::malloc_trim(0) };
}

/// The time of `clock` through glibc, which uses the vDSO where the kernel offers the entry
/// and the syscall otherwise. Not rustix's `clock_gettime`: its first call panics (an assert
/// in rustix 1.1's vDSO set-up) on a kernel whose vDSO has no `__vdso_getcpu`, as
/// user-mode-linux 7.2's has not (6.12's still had one).
pub fn clock_now(clock: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clocks passed are ones Linux always has,
    // and on an error `ts` stays zero.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts
}
