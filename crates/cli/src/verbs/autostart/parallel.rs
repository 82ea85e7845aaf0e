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
    use std::time::{Duration, Instant};

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..10).collect();
        let out = for_each_bounded(&items, 3, |&n| {
            std::thread::sleep(Duration::from_millis(10 * (10 - n)));
            n * 2
        });
        assert_eq!(out, (0..10).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn never_more_than_the_limit_at_once() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items = vec![(); 12];
        let started = Instant::now();
        for_each_bounded(&items, 4, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert_eq!(peak.load(Ordering::SeqCst), 4);
        // 12 items, 4 at a time: three rounds, not twelve.
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[test]
    fn no_items_no_threads() {
        let out: Vec<()> = for_each_bounded(&[] as &[u8], 8, |_| ());
        assert!(out.is_empty());
    }
}
