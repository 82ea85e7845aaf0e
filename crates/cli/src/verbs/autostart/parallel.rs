//! Stopping many containers at once, a bounded number at a time.
//!
//! Threads, not child processes: a stop only signals through a pidfd and waits on pidfds, it
//! never forks, so the one thing a multi-threaded process must not do here (fork the monitor
//! of a start) cannot happen. The threads are scoped: they are all joined before
//! `for_each_bounded` returns, so the process is single-threaded again for whatever follows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `work` on every item with at most `limit` running at a time; the results come back
/// in the items' order.
pub fn for_each_bounded<T, R, F>(items: &[T], limit: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    let workers = limit.clamp(1, items.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(index) else {
                    break;
                };
                let result = work(item);
                // A worker that panicked poisons the lock; the results of the others still count.
                let mut slots = results.lock().unwrap_or_else(|e| e.into_inner());
                slots[index] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Condvar;
    use std::time::Duration;

    /// Waits (bounded, against a hang) until `ready` holds of the counter; false on timeout.
    fn wait_until(pair: &(Mutex<usize>, Condvar), ready: impl Fn(usize) -> bool) -> bool {
        let (lock, changed) = pair;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, timeout) = changed
            .wait_timeout_while(guard, Duration::from_secs(10), |n| !ready(*n))
            .unwrap_or_else(|e| e.into_inner());
        drop(guard);
        !timeout.timed_out()
    }

    fn bump(pair: &(Mutex<usize>, Condvar), by: isize) -> usize {
        let (lock, changed) = pair;
        let mut n = lock.lock().unwrap_or_else(|e| e.into_inner());
        *n = n.checked_add_signed(by).expect("count");
        changed.notify_all();
        *n
    }

    #[test]
    fn results_keep_the_items_order_whatever_order_they_finish_in() {
        // Item 0 finishes only after items 1 and 2, which run beside it.
        let finished = (Mutex::new(0), Condvar::new());
        let items: Vec<u64> = (0..10).collect();
        let out = for_each_bounded(&items, 3, |&n| {
            if n == 0 {
                assert!(
                    wait_until(&finished, |done| done >= 2),
                    "items 1 and 2 never ended"
                );
            }
            bump(&finished, 1);
            n * 2
        });
        assert_eq!(out, (0..10).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn the_limit_is_reached_and_never_passed() {
        // The first items wait until four run at once; every item records how many ran
        // with it: the most is exactly the limit.
        let running = (Mutex::new(0), Condvar::new());
        let reached = (Mutex::new(0), Condvar::new());
        let peak = AtomicUsize::new(0);
        let items = vec![(); 12];
        for_each_bounded(&items, 4, |_| {
            let now = bump(&running, 1);
            peak.fetch_max(now, Ordering::SeqCst);
            if now == 4 {
                bump(&reached, 1);
            }
            assert!(wait_until(&reached, |n| n > 0), "never four at once");
            bump(&running, -1);
        });
        assert_eq!(peak.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn no_items_no_threads() {
        let out: Vec<()> = for_each_bounded(&[] as &[u8], 8, |_| ());
        assert!(out.is_empty());
    }
}
