//! The native half of `cateye.spark`: the pieces a distributed engine runs where the data is.
//! Partial statistics travel as bytes (exact bits); the deep dive is planned on the driver from
//! the merged statistics and run per experiment on the executors, each pair seeded by itself.

use crate::arrow_stream::source;
use crate::{error, json, run, scan_config, SuffStats};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// The scan of merged statistics with its deep dive planned (the selection and warnings, no pair
/// analysed), as JSON.
#[pyfunction]
pub fn deep_dive_plan(py: Python<'_>, stats: &SuffStats, config: &str, label: &str) -> PyResult<String> {
    let config = scan_config(config)?;
    let report = run::run(py, None, None, |_| cateye::scan::plan_deep_dive(&stats.stats, &config, label))?;
    json(&report)
}

/// The deep dive of the selected pairs of `experiment` on `data` (that experiment's rows, in the
/// order the single-machine scan reads them): per pair, `(index in the selection, succeeded,
/// the pair's analysis or its failure as JSON)`.
#[pyfunction]
#[pyo3(signature = (data, label, config, stats, experiment, threads = None))]
pub fn deep_dive_experiment(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    label: &str,
    config: &str,
    stats: &[u8],
    experiment: &str,
    threads: Option<usize>,
) -> PyResult<Vec<(usize, bool, String)>> {
    let config = scan_config(config)?;
    let stats = cateye::scan::stats_from_bytes(stats, "the merged statistics").map_err(error)?;
    let source = source(data, label)?;
    let outcomes = run::run(py, None, threads, |progress| {
        cateye::scan::deep_dive_experiment(&source, &config, &stats, experiment, progress)
    })?;
    outcomes
        .into_iter()
        .map(|o| match &o.outcome {
            Ok(pair) => Ok((o.index, true, json(pair)?)),
            Err(failed) => Ok((o.index, false, json(failed)?)),
        })
        .collect()
}

/// Statistics as bytes (see `SuffStats.to_bytes`).
pub fn stats_bytes<'py>(py: Python<'py>, stats: &SuffStats) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = cateye::scan::stats_to_bytes(&stats.stats).map_err(error)?;
    Ok(PyBytes::new(py, &bytes))
}

/// Statistics from the bytes of `SuffStats.to_bytes`.
pub fn stats_from(bytes: &[u8]) -> PyResult<SuffStats> {
    Ok(SuffStats { stats: cateye::scan::stats_from_bytes(bytes, "statistics bytes").map_err(error)? })
}
