//! The benchmarks of `cateye bench`: generated data, timed end to end, with accuracy against the
//! truth where there is one. Figures go to stdout; a comparison with a peer (grf, EconML,
//! DuckDB) runs the peer on the same data in the same run (see `bench/`).
//!
//! | benchmark | what it measures |
//! |---|---|
//! | `scan` | load rate and aggregation throughput (updates per second), end-to-end scan time |
//! | `memory` | peak resident memory of a scan of a large file (child process) |
//! | `forest`, `forest-scaling` | the causal forest end to end; its scaling in n (child processes) |
//! | `deep-dive`, `deep-dive-scan` | the deep dive of one pair; a scan with the deep dive of 20 pairs |
//! | `cate`, `cate-select` | the DR-learner; the selection table |
//! | `wide` | the paradigm's shape: many experiments × metrics × dimensions, few units each |
//! | `report` | rendering the HTML report of a 100 × 10 × 10 sweep: time and size |
//!
//! The hot loops also have criterion benches (`cargo bench -p cateye-bench`).
#![deny(missing_docs)]

mod args;
mod cate;
mod deep_dive;
mod forest;
mod report;
mod scan;
mod wide;

pub use args::{BenchArgs, Which};

/// Why a benchmark could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A pipeline of the facade failed.
    #[error(transparent)]
    Cateye(#[from] cateye::Error),
    /// Reading or writing a table.
    #[error(transparent)]
    Io(#[from] cateye_io::IoError),
    /// The tier-1 scan.
    #[error(transparent)]
    Scan(#[from] cateye_scan::ScanError),
    /// The deep dive.
    #[error(transparent)]
    DeepDive(#[from] cateye_deepdive::DeepDiveError),
    /// A forest.
    #[error(transparent)]
    Forest(#[from] cateye_forest::ForestError),
    /// The CATE learners.
    #[error(transparent)]
    Learner(#[from] cateye_learners::LearnerError),
    /// Writing or reading the benchmark's files, or starting a child process.
    #[error("{what}: {source}")]
    System {
        /// What was being done.
        what: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The HTML report.
    #[error(transparent)]
    Report(#[from] cateye_report::ReportError),
    /// A step of the benchmark failed.
    #[error("{0}")]
    Failed(String),
}

/// Result of a benchmark.
pub type Result<T> = std::result::Result<T, BenchError>;

pub(crate) fn io_error(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BenchError {
    let what = what.to_string();
    move |source| BenchError::System { what, source }
}

/// Peak resident memory of this process in bytes (Linux), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak RSS for a report line.
pub(crate) fn peak_rss_text() -> String {
    peak_rss_bytes().map_or("n/a".into(), |b| format!("{:.0} MB", b as f64 / 1e6))
}

/// Runs the benchmark `args` names.
pub fn run(args: &BenchArgs) -> Result<()> {
    args::run(args)
}
