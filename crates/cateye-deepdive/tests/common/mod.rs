//! Helpers shared by the deep dive's integration tests.
#![allow(dead_code)]

use cateye_deepdive::{run_deep_dive, DeepDiveConfig, DeepDiveError, DeepDiveReport};
use cateye_io::Source;
use cateye_scan::{scan_source, ScanConfig, ScanError, ScanResult, SuffStats};
use cateye_sim::TableSpec;
#[allow(unused_imports)]
pub use cateye_testkit::{fixture, temp_dir};
use std::path::Path;

/// Read the file at `path` and scan it.
pub fn scan_file(path: &Path, config: &ScanConfig) -> Result<(SuffStats, ScanResult), ScanError> {
    scan_source(&Source::open(path)?, config, &|_, _| {})
}

/// The deep dive of the file at `path`, scanned into `stats` and `result`.
pub fn deep_dive_file(
    path: &Path,
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    stats: &SuffStats,
    result: &ScanResult,
) -> Result<DeepDiveReport, DeepDiveError> {
    run_deep_dive(&Source::open(path)?, config, dd, stats, result, &|_| {})
}

/// The demo table of `seed` written to a fresh folder: (folder, file, column roles).
pub fn demo(test: &str, seed: u64) -> (std::path::PathBuf, std::path::PathBuf, ScanConfig) {
    let dir = temp_dir(test);
    let path = dir.join("demo.parquet");
    let spec: TableSpec = cateye_sim::demo_spec(seed);
    cateye_io::write_batches(&path, spec.schema(), spec.batches()).unwrap();
    let config = ScanConfig::default().with(|c| {
        c.metrics = Some(spec.metric_columns());
        c.dimensions = Some(spec.dimension_columns());
    });
    (dir, path, config)
}
