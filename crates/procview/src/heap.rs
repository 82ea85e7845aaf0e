//! Own heaps for the monitor and its view server. The server is a fork of its monitor: with
//! glibc's malloc, the allocations and frees of either process write into heap pages the
//! two still share, and every page written is copied and then kept by both (~90 KiB per
//! container, measured). So at the fork each of them switches to a heap of its own, a fresh
//! mapping (with `talc`), and leaves what came before it in place: a free of an earlier block
//! does nothing, so that block's page stays shared. Nothing grows from that: the blocks left
//! are those that existed at the fork, and the server never outlives the monitor.
//!
//! [`ServerHeap`] is the rlxc binary's global allocator: glibc's malloc in every other
//! process, and in these two until they switched.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use talc::{ErrOnOom, Span, Talc};

/// Address space reserved for an own heap (`MAP_NORESERVE`: only the pages touched cost
/// memory). The server's live data is a few renderings of /proc files, the monitor's its
/// event loop's; running out would abort the process (a server's successor starts afresh).
const RESERVED: usize = 256 << 20;

/// This process's own heap, [START, END); START is 0 until [`use_own_heap`].
static START: AtomicUsize = AtomicUsize::new(0);
static END: AtomicUsize = AtomicUsize::new(0);

/// Used by the monitor and the server, single-threaded both; the lock costs an uncontended
/// atomic.
static OWN: Mutex<Talc<ErrOnOom>> = Mutex::new(Talc::new(ErrOnOom));

/// The global allocator: glibc's until [`use_own_heap`], then the process's own heap.
pub struct ServerHeap;

/// From now on this process allocates from a fresh mapping of its own, and leaves every
/// earlier block in place (a server forked from a monitor that switched leaves the monitor's
/// own heap alone the same way). Only while the process has one thread: the monitor right
/// after it forked its first server, the server before it allocates anything.
pub fn use_own_heap() -> io::Result<()> {
    // SAFETY: a fresh private anonymous mapping; no existing memory is referred to.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            RESERVED,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let base = base.cast::<u8>();
    let claimed = {
        let mut own = own();
        // A new allocator: it knows nothing of an earlier own heap, whose blocks now count as
        // earlier ones.
        *own = Talc::new(ErrOnOom);
        // SAFETY: the mapping is readable and writable, ours alone, and never unmapped;
        // nothing else writes into it.
        unsafe { own.claim(Span::from_base_size(base, RESERVED)) }
    };
    if claimed.is_err() {
        // SAFETY: unmaps exactly the mapping made above, which nothing refers to.
        unsafe { libc::munmap(base.cast(), RESERVED) };
        return Err(io::Error::other("an own heap could not be set up"));
    }
    END.store(base as usize + RESERVED, Ordering::Relaxed);
    START.store(base as usize, Ordering::Relaxed);
    Ok(())
}

/// This process allocates from an own heap (it called [`use_own_heap`]).
pub fn own_heap_in_use() -> bool {
    switched()
}

fn switched() -> bool {
    START.load(Ordering::Relaxed) != 0
}

fn is_own(ptr: *mut u8) -> bool {
    let address = ptr as usize;
    switched() && (START.load(Ordering::Relaxed)..END.load(Ordering::Relaxed)).contains(&address)
}

fn own() -> MutexGuard<'static, Talc<ErrOnOom>> {
    // A panic cannot leave talc half-way (it does not unwind from its calls).
    OWN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A block from the own heap; null if it is full (the caller reports the failure).
fn own_alloc(layout: Layout) -> *mut u8 {
    if layout.size() == 0 {
        // GlobalAlloc is never asked for zero bytes; talc must not be either.
        return std::ptr::null_mut();
    }
    // SAFETY: the size is non-zero, as talc requires.
    unsafe { own().malloc(layout) }.map_or(std::ptr::null_mut(), NonNull::as_ptr)
}

// SAFETY: every block comes from glibc's malloc or from talc over a mapping of our own, and
// goes back to the one it came from (by address); blocks inherited from before the switch
// are never handed to talc, and never freed after it.
unsafe impl GlobalAlloc for ServerHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if switched() {
            own_alloc(layout)
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if switched() {
            let block = own_alloc(layout);
            if !block.is_null() {
                // SAFETY: `block` holds `layout.size()` writable bytes.
                unsafe { block.write_bytes(0, layout.size()) };
            }
            block
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_own(ptr) {
            if let Some(block) = NonNull::new(ptr) {
                // SAFETY: `ptr` came from talc with `layout` (it lies in its heap).
                unsafe { own().free(block, layout) };
            }
        } else if !switched() {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
        // Else a block from before the switch: left in place (see the module's note).
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !switched() {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: the caller guarantees that `new_size`, rounded to `layout.align()`, does
        // not overflow.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let block = own_alloc(new_layout);
        if !block.is_null() {
            // SAFETY: both blocks hold at least the smaller size, and they are distinct.
            unsafe { std::ptr::copy_nonoverlapping(ptr, block, layout.size().min(new_size)) };
            // SAFETY: `ptr` is a live block of `layout`, as the caller guarantees.
            unsafe { self.dealloc(ptr, layout) };
        }
        block
    }
}
