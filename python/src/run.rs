//! Running a cateye job from Python: on a worker thread, with the interpreter's lock released,
//! progress relayed to a Python callable, and Ctrl-C honoured.
//!
//! The calling thread waits for the worker in slices of at most 100 ms with the lock released;
//! between slices it takes the lock to check for signals and to pass the latest progress to the
//! callable. On Ctrl-C it asks the job to stop: the job's next progress report (the engine
//! reports every tree, every batch of rows and every deep-dived pair) unwinds the job's stack
//! with [`std::panic::resume_unwind`], which skips the panic hook, and the caller gets Python's
//! `KeyboardInterrupt` once the worker has finished unwinding.

use cateye::Progress;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// The payload of the unwinding that stops a cancelled job.
struct Cancelled;

/// A progress report: `(stage, done, total)`.
type Report = (String, u64, u64);

#[derive(Default)]
struct Shared {
    cancel: AtomicBool,
    finished: Mutex<bool>,
    wake: Condvar,
    /// Reports the caller has not seen: the latest of each stage reported since it last looked.
    pending: Mutex<Vec<Report>>,
}

impl Shared {
    fn report(&self, stage: &str, done: u64, total: u64) {
        if self.cancel.load(Ordering::Relaxed) {
            std::panic::resume_unwind(Box::new(Cancelled));
        }
        if let Ok(mut pending) = self.pending.lock() {
            match pending.last_mut() {
                Some(last) if last.0 == stage => (last.1, last.2) = (done, total),
                _ => pending.push((stage.to_owned(), done, total)),
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut finished) = self.finished.lock() {
            *finished = true;
        }
        self.wake.notify_all();
    }

    /// Waits at most `slice` for the worker; true once it has finished.
    fn wait(&self, slice: Duration) -> bool {
        let Ok(finished) = self.finished.lock() else { return true };
        match self.wake.wait_timeout_while(finished, slice, |done| !*done) {
            Ok((finished, _)) => *finished,
            Err(_) => true,
        }
    }

    /// The reports the caller has not seen yet.
    fn unseen(&self) -> Vec<Report> {
        self.pending.lock().map(|mut pending| std::mem::take(&mut *pending)).unwrap_or_default()
    }
}

/// Runs `job` on a worker thread (on a pool of `threads` threads when given, else rayon's
/// global pool) and returns its result, with the interpreter's lock released meanwhile.
/// `progress`, when given, is called as `progress(stage, done, total)` from the calling thread.
pub fn run<T, F>(py: Python<'_>, progress: Option<&Bound<'_, PyAny>>, threads: Option<usize>, job: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(Progress<'_>) -> cateye::Result<T> + Send,
{
    let pool = match threads {
        Some(0) => return Err(crate::CateyeError::new_err("threads: expected at least 1 (or None for all cores)")),
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| PyRuntimeError::new_err(format!("cannot start {n} threads: {e}")))?,
        ),
        None => None,
    };
    let shared = Shared::default();
    let outcome = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let report = |stage: &str, done: u64, total: u64| shared.report(stage, done, total);
            let result = catch_unwind(AssertUnwindSafe(|| match &pool {
                Some(pool) => pool.install(|| job(&report)),
                None => job(&report),
            }));
            shared.finish();
            result
        });
        let mut interrupted = None;
        loop {
            let finished = py.detach(|| shared.wait(Duration::from_millis(100)));
            if let Some(callback) = progress {
                for report in shared.unseen() {
                    if let Err(e) = callback.call1(report) {
                        interrupted.get_or_insert(e);
                    }
                }
            }
            if finished {
                break;
            }
            if interrupted.is_none() {
                if let Err(e) = py.check_signals() {
                    interrupted = Some(e);
                }
            }
            if interrupted.is_some() {
                shared.cancel.store(true, Ordering::Relaxed);
            }
        }
        let joined = py.detach(|| worker.join());
        (joined, interrupted)
    });
    match outcome {
        (_, Some(interrupt)) => Err(interrupt),
        (Ok(Ok(result)), None) => result.map_err(crate::error),
        (Ok(Err(payload)) | Err(payload), None) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".into());
            Err(PyRuntimeError::new_err(format!("cateye failed unexpectedly (please report this bug): {message}")))
        }
    }
}
