//! A few threads that create files while one thread walks on: the one pool behind a create's
//! unpack (`rlxc_runtime::create::parallel_writes`) and a copy's files ([`crate::copy::tree`]).
//!
//! Creating a file costs this kernel and filesystem far more than the rest of its copy (about
//! 0.13–0.25 ms per file on ext4 here), and creates run in parallel. The walking thread keeps
//! everything whose order matters (directories, links, devices) and hands files to the
//! workers. Jobs with the same key (the files of one directory) go to one worker, in order:
//! creates in one directory take its lock, and files of one directory on two workers spent a
//! fifth of the time spinning. Whatever must see a finished file waits until the workers are
//! idle ([`Workers::wait_idle`]).
//!
//! Workers start with every signal blocked: a SIGINT stays with the walking thread, which
//! checks for it between entries.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

/// A job's failure: the path it names and why.
pub type Failure = (PathBuf, io::Error);

/// Work for the pool.
pub trait Job: Send + 'static {
    /// Jobs with the same key run on the same worker, in the order they were given.
    fn key(&self) -> u64;
    /// The path a failure of this job names.
    fn path(&self) -> &Path;
}

/// Jobs queued and not yet finished, and the first failure.
#[derive(Default)]
struct Progress {
    pending: usize,
    failed: Option<Failure>,
}

type Shared = Arc<(Mutex<Progress>, Condvar)>;

pub struct Workers<J> {
    /// One queue per worker.
    queues: Vec<SyncSender<J>>,
    threads: Vec<JoinHandle<()>>,
    shared: Shared,
}

/// As many workers as the machine has CPUs, at most four (creates in one filesystem scale no
/// further here).
pub fn default_count() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4))
}

impl<J: Job> Workers<J> {
    /// `count` threads named `name`, each with its own queue of `depth` jobs; `runner` is
    /// called once per thread, here, for the function that thread runs each job with. With
    /// no threads, [`Workers::active`] is false and the caller does the work itself.
    pub fn start<R>(
        count: usize,
        depth: usize,
        name: &str,
        mut runner: impl FnMut() -> io::Result<R>,
    ) -> io::Result<Workers<J>>
    where
        R: FnMut(&J) -> io::Result<()> + Send + 'static,
    {
        let shared: Shared = Arc::default();
        let mut workers = Workers {
            queues: Vec::with_capacity(count),
            threads: Vec::with_capacity(count),
            shared: Arc::clone(&shared),
        };
        for _ in 0..count {
            let (queue, received) = mpsc::sync_channel::<J>(depth.max(1));
            let mut run = runner()?;
            let shared = Arc::clone(&shared);
            let builder = thread::Builder::new().name(name.into());
            let thread = rlxc_process::signals::spawn_with_signals_blocked(builder, move || {
                for job in received {
                    // A panic is counted as this job's failure: `pending` must come down, or
                    // the walker would wait for it for ever.
                    let result =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&job)))
                            .unwrap_or_else(|_| Err(io::Error::other("a worker panicked")));
                    let (state, idle) = &*shared;
                    let Ok(mut state) = state.lock() else { return };
                    state.pending -= 1;
                    if let Err(error) = result {
                        state
                            .failed
                            .get_or_insert((job.path().to_path_buf(), error));
                    }
                    idle.notify_all();
                }
            })?;
            workers.queues.push(queue);
            workers.threads.push(thread);
        }
        Ok(workers)
    }

    /// Whether there are workers to take jobs (see [`Workers::start`]).
    pub fn active(&self) -> bool {
        !self.queues.is_empty()
    }

    /// Queues a job (waiting while its worker's queue is full); fails with the first
    /// failure of a job before it, if any.
    pub fn submit(&mut self, job: J) -> Result<(), Failure> {
        self.check()?;
        {
            let (state, _) = &*self.shared;
            let mut state = state.lock().map_err(|_| poisoned())?;
            state.pending += 1;
        }
        let count = u64::try_from(self.queues.len()).unwrap_or(1).max(1);
        let worker = usize::try_from(job.key() % count).unwrap_or(0);
        match self.queues.get(worker).map(|queue| queue.send(job)) {
            Some(Ok(())) => Ok(()),
            _ => Err((PathBuf::new(), io::Error::other("the workers stopped"))),
        }
    }

    /// Returns once every queued job is done.
    pub fn wait_idle(&mut self) -> Result<(), Failure> {
        let (state, idle) = &*self.shared;
        let mut state = state.lock().map_err(|_| poisoned())?;
        while state.pending > 0 {
            state = idle.wait(state).map_err(|_| poisoned())?;
        }
        match state.failed.take() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    /// Waits for the queued jobs and stops the workers.
    pub fn finish(mut self) -> Result<(), Failure> {
        let result = self.wait_idle();
        self.stop();
        result
    }

    fn check(&self) -> Result<(), Failure> {
        let (state, _) = &*self.shared;
        let mut state = state.lock().map_err(|_| poisoned())?;
        match state.failed.take() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

impl<J> Workers<J> {
    fn stop(&mut self) {
        self.queues.clear();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl<J> Drop for Workers<J> {
    /// On an error of the walker's: the workers end after the jobs they hold.
    fn drop(&mut self) {
        self.stop();
    }
}

fn poisoned() -> Failure {
    (PathBuf::new(), io::Error::other("a worker panicked"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Step {
        key: u64,
        order: usize,
        path: PathBuf,
    }

    impl Job for Step {
        fn key(&self) -> u64 {
            self.key
        }
        fn path(&self) -> &Path {
            &self.path
        }
    }

    #[test]
    fn jobs_of_one_key_run_in_order_on_one_worker_and_the_first_failure_is_kept() {
        let seen = Arc::new(Mutex::new(Vec::<(u64, usize, thread::ThreadId)>::new()));
        let mut workers = Workers::start(3, 2, "test", || {
            let seen = Arc::clone(&seen);
            Ok(move |step: &Step| {
                let me = thread::current().id();
                seen.lock().expect("lock").push((step.key, step.order, me));
                match step.order {
                    7 => Err(io::Error::other("seven")),
                    _ => Ok(()),
                }
            })
        })
        .expect("start");
        let mut queued = Ok(());
        for order in 0..30 {
            let step = Step {
                key: order as u64 % 4,
                order,
                path: PathBuf::from(format!("f{order}")),
            };
            // The failure comes back once: from a later submit or from finish.
            queued = workers.submit(step);
            if queued.is_err() {
                break;
            }
        }
        let (path, error) = queued.and(workers.finish()).expect_err("step 7 failed");
        assert_eq!(
            (path, error.to_string()),
            (PathBuf::from("f7"), "seven".into())
        );
        let seen = seen.lock().expect("lock");
        for key in 0..4 {
            let orders: Vec<usize> = seen
                .iter()
                .filter(|(k, ..)| *k == key)
                .map(|(_, order, _)| *order)
                .collect();
            assert!(orders.windows(2).all(|w| w[0] < w[1]), "{orders:?}");
            let threads: std::collections::HashSet<_> = seen
                .iter()
                .filter(|(k, ..)| *k == key)
                .map(|(.., thread)| *thread)
                .collect();
            assert_eq!(threads.len(), 1, "key {key} ran on {threads:?}");
        }
    }

    #[test]
    fn wait_idle_returns_only_when_every_job_is_done() {
        let done = Arc::new(AtomicUsize::new(0));
        let mut workers = Workers::start(2, 1, "test", || {
            let done = Arc::clone(&done);
            Ok(move |_: &Step| {
                thread::sleep(std::time::Duration::from_millis(2));
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        })
        .expect("start");
        for order in 0..20 {
            let path = PathBuf::new();
            workers
                .submit(Step {
                    key: order as u64,
                    order,
                    path,
                })
                .expect("submit");
        }
        workers.wait_idle().expect("idle");
        assert_eq!(done.load(Ordering::SeqCst), 20);
        workers.finish().expect("finish");
    }
}
