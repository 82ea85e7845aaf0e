//! The monitor's and view server's own heaps (`procview::use_own_heap`): after a fork, a
//! process that switched allocates, frees and grows blocks without writing to the heap pages
//! it shares with its parent, and the blocks from before the fork stay intact. A child that
//! did not switch, doing the same, copies many of those pages (the cost the switch removes).
//! Runs single-threaded (harness = false): see Cargo.toml.

use std::alloc::Layout;

use rlxc_procview::{use_own_heap, ServerHeap};

#[global_allocator]
static ALLOCATOR: ServerHeap = ServerHeap;

/// KiB of this process's `[heap]` that are its own copies (Private_Dirty).
fn heap_pages_copied() -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
    let mut in_heap = false;
    let mut kib = 0;
    for line in smaps.lines() {
        if line.contains(" rw-p ") || line.contains(" r--p ") || line.contains(" r-xp ") {
            in_heap = line.ends_with("[heap]");
        } else if in_heap {
            if let Some(value) = line.strip_prefix("Private_Dirty:") {
                kib += value
                    .trim()
                    .trim_end_matches(" kB")
                    .trim()
                    .parse::<u64>()
                    .unwrap_or(0);
            }
        }
    }
    kib
}

/// What a server does between requests: small strings made, grown, dropped; some kept.
// Boxes on purpose: each block is one heap allocation from before the fork.
#[allow(clippy::vec_box)]
fn churn(inherited: &mut Vec<Box<[u8; 48]>>, grown: &mut Vec<u8>) -> Vec<String> {
    let mut kept = Vec::new();
    for round in 0..2000 {
        let text = format!("line {round} of a rendering: {}", "x".repeat(round % 300));
        if round % 10 == 0 {
            kept.push(text);
        }
    }
    // Blocks from before the fork are dropped and grown like any other.
    inherited.truncate(inherited.len() / 2);
    grown.extend_from_slice(&[7u8; 10_000]);
    kept
}

fn in_child(switch: bool, check: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    // SAFETY: this test is single-threaded (no harness), so the child may run Rust code.
    match unsafe { libc::fork() } {
        -1 => Err(format!("fork: {}", std::io::Error::last_os_error())),
        0 => {
            let outcome = if switch {
                use_own_heap().map_err(|e| e.to_string())
            } else {
                Ok(())
            }
            .and_then(|()| check());
            if let Err(why) = &outcome {
                eprintln!("{why}");
            }
            // SAFETY: ends the child without running the parent's exit handlers twice.
            unsafe { libc::_exit(i32::from(outcome.is_err())) }
        }
        child => {
            let mut status = 0;
            // SAFETY: waits for our own child; `status` is a valid out-pointer.
            unsafe { libc::waitpid(child, &mut status, 0) };
            match libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                true => Ok(()),
                false => Err(format!("the child failed (status {status:#x})")),
            }
        }
    }
}

fn main() {
    // A heap full of holes, as the CLI leaves it for the monitor it forks.
    let mut blocks: Vec<Box<[u8; 48]>> = (0..4000u32).map(|i| Box::new([i as u8; 48])).collect();
    let mut index = 0;
    blocks.retain(|_| {
        index += 1;
        index % 2 == 0
    });
    let mut grown = vec![1u8; 100];
    let copied_before = heap_pages_copied();

    in_child(true, || {
        let start = heap_pages_copied();
        let kept = churn(&mut blocks, &mut grown);
        let aligned = Layout::from_size_align(3000, 4096).map_err(|e| e.to_string())?;
        // SAFETY: a non-zero size; freed below with the same layout.
        let page = unsafe { std::alloc::alloc_zeroed(aligned) };
        if page.is_null() || !(page as usize).is_multiple_of(4096) {
            return Err(format!("an aligned, zeroed block: {page:?}"));
        }
        // SAFETY: `page` holds 3000 bytes.
        let zeroed = unsafe { std::slice::from_raw_parts(page, 3000) }
            .iter()
            .all(|b| *b == 0);
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::dealloc(page, aligned) };
        let copied = heap_pages_copied().saturating_sub(start);
        if !zeroed {
            return Err("alloc_zeroed gave a block that is not zeroed".into());
        }
        if kept.len() != 200
            || kept[199] != format!("line 1990 of a rendering: {}", "x".repeat(190))
        {
            return Err("the own heap's strings were not kept intact".into());
        }
        if grown[..100] != [1u8; 100] || grown[100..] != [7u8; 10_000] {
            return Err("a block grown from before the switch lost its content".into());
        }
        if blocks
            .iter()
            .enumerate()
            .any(|(i, b)| b[0] != (2 * i + 1) as u8)
        {
            return Err("a block from before the fork changed".into());
        }
        // The first page may be written for other reasons (a static binary keeps its TLS
        // at the heap's start); the churn alone would copy dozens.
        match copied <= 8 {
            true => Ok(()),
            false => Err(format!(
                "switched, the child still copied {copied} KiB of its heap"
            )),
        }
    })
    .expect("a switched child leaves the shared heap alone");

    // The same work without the switch copies the pages it writes: what the test guards.
    in_child(false, || {
        let start = heap_pages_copied();
        let kept = churn(&mut blocks, &mut grown);
        let copied = heap_pages_copied().saturating_sub(start);
        drop(kept);
        match copied >= 32 {
            true => Ok(()),
            false => Err(format!("without the switch only {copied} KiB were copied")),
        }
    })
    .expect("without the switch the heap's pages are copied");
    println!(
        "own_heap: ok (the parent had {copied_before} KiB of its heap private before forking)"
    );
}
