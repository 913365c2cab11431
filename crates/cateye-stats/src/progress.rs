//! Progress of long computations, reported from whatever thread does the work.
//!
//! A [`Progress`] receiver hears `(stage, done, total)`: the name of a stage ("causal forest",
//! "permutations"), the work done in it so far and the work it has in all (trees, permutations,
//! fits, rows). A [`Ticker`] counts one stage's work across threads and passes it on. Reports
//! never change results: a computation with a receiver and one without are bit-identical.
//!
//! A receiver may also stop the computation: a report that unwinds (with
//! `std::panic::resume_unwind`, which skips the panic hook) ends the work at that point, and the
//! caller that started it catches the unwinding. The Python package stops a fit on Ctrl-C this
//! way. Parallel loops keep running the items they have already split off after one of them
//! unwinds, so a loop over costly items [`Ticker::poll`]s before each item: the remaining items
//! then stop before their work begins.

use std::sync::atomic::{AtomicU64, Ordering};

/// A receiver of progress reports: `(stage, done, total)`, called from worker threads.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// A receiver that ignores every report.
pub fn silent(_: &str, _: u64, _: u64) {}

/// Counts the work of one stage (from any thread) and reports each step.
pub struct Ticker<'a> {
    report: Progress<'a>,
    stage: String,
    total: u64,
    done: AtomicU64,
}

impl<'a> Ticker<'a> {
    /// A stage of `total` units of work reported to `report` (reports 0 done at once).
    pub fn new(report: Progress<'a>, stage: impl Into<String>, total: u64) -> Self {
        let ticker = Ticker { report, stage: stage.into(), total, done: AtomicU64::new(0) };
        (ticker.report)(&ticker.stage, 0, total);
        ticker
    }

    /// Reports the work done so far again, before a unit of work starts, so that a receiver
    /// that wants the computation to stop can stop it there (see the module's documentation).
    pub fn poll(&self) {
        (self.report)(&self.stage, self.done.load(Ordering::Relaxed).min(self.total), self.total);
    }

    /// Records `n` more units done.
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        (self.report)(&self.stage, done.min(self.total), self.total);
    }
}

impl std::fmt::Debug for Ticker<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticker").field("stage", &self.stage).field("total", &self.total).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;
    use std::sync::Mutex;

    #[test]
    fn a_ticker_counts_work_done_on_every_thread() {
        let seen = Mutex::new(Vec::new());
        let report = |stage: &str, done: u64, total: u64| seen.lock().unwrap().push((stage.to_string(), done, total));
        let ticker = Ticker::new(&report, "trees", 100);
        (0..50).into_par_iter().for_each(|_| ticker.add(2));
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 51);
        assert_eq!(seen.iter().map(|s| s.1).max(), Some(100));
        assert!(seen.iter().all(|(s, _, t)| s == "trees" && *t == 100));
    }

    /// A receiver that unwinds stops a parallel loop that polls before each item: no item
    /// starts its work after the receiver asked to stop.
    #[test]
    fn a_receiver_that_unwinds_stops_a_polling_loop() {
        use std::sync::atomic::AtomicBool;
        struct Stop;
        let stop = AtomicBool::new(false);
        let report = |_: &str, done: u64, _: u64| {
            if stop.load(Ordering::Relaxed) {
                std::panic::resume_unwind(Box::new(Stop));
            }
            if done >= 10 {
                stop.store(true, Ordering::Relaxed);
            }
        };
        let worked = AtomicU64::new(0);
        let ticker = Ticker::new(&report, "items", 10_000);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            (0..10_000).into_par_iter().for_each(|_| {
                ticker.poll();
                worked.fetch_add(1, Ordering::Relaxed);
                ticker.add(1);
            })
        }));
        let payload = outcome.expect_err("the loop stopped");
        assert!(payload.is::<Stop>());
        // Items already started finish; with a few threads that is a handful, not thousands.
        assert!(worked.load(Ordering::Relaxed) < 100, "{} items ran", worked.load(Ordering::Relaxed));
    }
}
