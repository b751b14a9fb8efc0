//! Keeping rayon's threads awake through a training round.
//!
//! A round is hundreds of steps, each a few parallel passes (tens of microseconds) separated by
//! short serial ones. Between passes rayon's idle threads go to sleep, and waking a sleeping
//! thread took 60–130 µs on a 2-core VM, more than the passes themselves: measured, a serial
//! 40 µs followed by a parallel 2 × 50 µs took 160 µs a step instead of 90. Threads that poll
//! for work instead start on the pass within a few microseconds (OpenMP's active wait).

use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, Ordering};

/// Runs `work` on a pool thread while the pool's other threads poll for the jobs it splits off
/// (taking them as soon as they are pushed) instead of sleeping; they go back to sleep when
/// `work` returns or panics.
pub fn run_hot<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    let done = AtomicBool::new(false);
    rayon::scope(|scope| {
        let owner = rayon::current_thread_index();
        for _ in 1..rayon::current_num_threads() {
            let done = &done;
            scope.spawn(move |_| {
                // The owner may pick up a poller while it waits for a stolen job; polling there
                // would never end, since `done` is set by the owner's own `work`.
                if rayon::current_thread_index() == owner {
                    return;
                }
                while !done.load(Ordering::Acquire) {
                    if rayon::yield_now() != Some(rayon::Yield::Executed) {
                        spin_loop();
                    }
                }
            });
        }
        let _finish = Finish(&done);
        work()
    })
}

/// Releases the pollers when dropped, also while a panic unwinds.
struct Finish<'a>(&'a AtomicBool);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::run_hot;
    use rayon::prelude::*;

    #[test]
    fn work_runs_its_parallel_passes_and_returns() {
        let sums: Vec<u64> = run_hot(|| {
            (0..50u64)
                .map(|pass| (0..10_000u64).into_par_iter().map(|i| i * pass).sum())
                .collect()
        });
        let want: Vec<u64> = (0..50u64).map(|pass| pass * 10_000 * 9_999 / 2).collect();
        assert_eq!(sums, want);
    }

    #[test]
    fn a_panic_in_work_releases_the_pollers() {
        // Were the pollers not released, the scope would wait for them forever.
        let caught = std::panic::catch_unwind(|| {
            run_hot(|| {
                (0..100).into_par_iter().for_each(|_| {});
                panic!("work failed")
            })
        });
        assert!(caught.is_err());
        assert_eq!(run_hot(|| 7), 7);
    }
}
