//! The threads a training run computes on: a rayon pool of named threads, or the calling thread
//! alone when one thread is asked for (or no pool could be built).

use super::linalg::Threads;

/// A pool for the matrix products and sampling passes, entered with [`MathPool::run`].
pub struct MathPool {
    pool: Option<rayon::ThreadPool>,
    threads: usize,
}

impl MathPool {
    /// A pool of `threads` threads (`rbm-math-0`, …). With one thread, or if the operating system
    /// refuses the threads, the work runs on the caller's thread.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let pool = (threads > 1)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("rbm-math-{i}"))
                    .build()
                    .ok()
            })
            .flatten();
        let threads = if pool.is_some() { threads } else { 1 };
        Self { pool, threads }
    }

    /// Threads the work is split over.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `work` inside the pool (so that its rayon calls use the pool's threads), given the
    /// thread count to split over; on the calling thread with `Threads(1)` when there is no pool.
    pub fn run<R: Send>(&self, work: impl FnOnce(Threads) -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(|| work(Threads(self.threads))),
            None => work(Threads(1)),
        }
    }
}
