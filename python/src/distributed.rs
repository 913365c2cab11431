//! The native half of `cateye.spark`: the pieces a distributed engine runs where the data is.
//! Partial statistics travel as bytes (exact bits); the deep dive is planned on the driver from
//! the merged statistics and run per experiment on the executors, each pair seeded by itself.

use crate::arrow_stream::source;
use crate::arrow_stream::source as source_of;
use crate::{error, json, run, scan_config, SuffStats};
use cateye::forest::shard::{finish_causal, solve_points, PointPartial, RowPoint, Shard, VariancePartial};
use cateye::forest::{NuisancePartials, RowsAndNew};
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

/// Reads little-endian doubles (a numpy float64 array's `tobytes()`).
fn doubles(bytes: &[u8], what: &str, rows: usize) -> PyResult<Vec<f64>> {
    if bytes.len() != 8 * rows {
        return Err(crate::setting(format!("{what}: {} bytes for {rows} rows of doubles", bytes.len())));
    }
    Ok(bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
}

fn shard(index: usize, count: usize) -> Shard {
    Shard { index, count }
}

fn bytes_of<T: serde::Serialize>(py: Python<'_>, value: &T) -> PyResult<Py<PyBytes>> {
    let bytes = cateye::forest::shard_bytes(value).map_err(error)?;
    Ok(PyBytes::new(py, &bytes).unbind())
}

fn merged<T: serde::de::DeserializeOwned>(parts: &[Vec<u8>], what: &str, merge: impl Fn(&mut T, &T)) -> PyResult<T> {
    let mut parts = parts.iter().map(|b| cateye::forest::shard_from_bytes::<T>(b, what).map_err(error));
    let mut total = parts.next().ok_or_else(|| crate::setting(format!("{what}: no shard's partial sums")))??;
    for part in parts {
        merge(&mut total, &part?);
    }
    Ok(total)
}

/// One experiment's causal forest in shards of its little bags (`cateye.spark.causal_forest`):
/// the same rows on the driver and on every executor; the stages of `cateye_forest::shard`.
#[pyclass(module = "cateye._cateye", frozen)]
pub struct ForestShards {
    forest: cateye::forest::ShardedForest,
}

#[pymethods]
impl ForestShards {
    /// Reads `data` with the forest spec (JSON, as `fit_forest` takes it), and the covariates
    /// of the `new` rows to predict, if any.
    #[new]
    #[pyo3(signature = (data, spec, label, new = None))]
    fn new(data: &Bound<'_, PyAny>, spec: &str, label: &str, new: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let spec = crate::forest_spec(spec)?;
        let source = source(data, label)?;
        let mut forest = cateye::forest::ShardedForest::read(&source, &spec).map_err(error)?;
        if let Some(new) = new {
            forest = forest.with_new_rows(&source_of(new, "new rows")?).map_err(error)?;
        }
        forest.stages().map_err(error)?;
        Ok(ForestShards { forest })
    }

    /// Rows of the experiment.
    fn rows(&self) -> usize {
        self.forest.rows()
    }

    /// Stage 1 on shard `index` of `count`: the nuisance forests' out-of-bag partial sums.
    #[pyo3(signature = (index, count, threads = None))]
    fn nuisance_partials(
        &self,
        py: Python<'_>,
        index: usize,
        count: usize,
        threads: Option<usize>,
    ) -> PyResult<Py<PyBytes>> {
        let partials = run::run(py, None, threads, |_| {
            let stages = self.forest.stages()?;
            stages.nuisance_partials(shard(index, count)).map_err(|e| self.forest.error(e))
        })?;
        bytes_of(py, &partials)
    }

    /// `(ŷ, ŵ)` as little-endian doubles from every shard's stage-1 bytes.
    fn nuisance(&self, py: Python<'_>, parts: Vec<Vec<u8>>) -> PyResult<(Py<PyBytes>, Py<PyBytes>)> {
        let partials: NuisancePartials = merged(&parts, "nuisance partial sums", NuisancePartials::merge)?;
        let stages = self.forest.stages().map_err(error)?;
        let (y_hat, w_hat) = stages.nuisance(&partials).map_err(|e| error(self.forest.error(e)))?;
        Ok((le_bytes(py, &y_hat), le_bytes(py, &w_hat)))
    }

    /// Stage 2 on shard `index` of `count`: the causal trees' out-of-bag point partial sums.
    #[pyo3(signature = (y_hat, w_hat, index, count, threads = None))]
    fn point_partials(
        &self,
        py: Python<'_>,
        y_hat: &[u8],
        w_hat: &[u8],
        index: usize,
        count: usize,
        threads: Option<usize>,
    ) -> PyResult<Py<PyBytes>> {
        let (y_hat, w_hat) = self.nuisance_values(y_hat, w_hat)?;
        let partials = run::run(py, None, threads, |_| {
            let stages = self.forest.stages()?;
            let new_rows = self.forest.new_rows();
            stages.point_partials(&y_hat, &w_hat, shard(index, count), new_rows).map_err(|e| self.forest.error(e))
        })?;
        bytes_of(py, &partials)
    }

    /// Every row's point (τ̂, intercept, Jacobian) from every shard's stage-2 bytes, as bytes.
    fn points(&self, py: Python<'_>, parts: Vec<Vec<u8>>) -> PyResult<Py<PyBytes>> {
        let partials: RowsAndNew<PointPartial> =
            merged(&parts, "point partial sums", |a: &mut RowsAndNew<PointPartial>, b| {
                merge_rows(&mut a.rows, &b.rows, PointPartial::merge);
                merge_rows(&mut a.new, &b.new, PointPartial::merge);
            })?;
        bytes_of(py, &RowsAndNew { rows: solve_points(&partials.rows), new: solve_points(&partials.new) })
    }

    /// Stage 3 on shard `index` of `count`: the same trees grown again, and their little bags'
    /// variance partial sums at the merged `points`.
    #[pyo3(signature = (y_hat, w_hat, points, index, count, threads = None))]
    #[allow(clippy::too_many_arguments)]
    fn variance_partials(
        &self,
        py: Python<'_>,
        y_hat: &[u8],
        w_hat: &[u8],
        points: &[u8],
        index: usize,
        count: usize,
        threads: Option<usize>,
    ) -> PyResult<Py<PyBytes>> {
        let (y_hat, w_hat) = self.nuisance_values(y_hat, w_hat)?;
        let points: RowsAndNew<RowPoint> = cateye::forest::shard_from_bytes(points, "points").map_err(error)?;
        let partials = run::run(py, None, threads, |_| {
            let stages = self.forest.stages()?;
            let new_rows = self.forest.new_rows();
            stages
                .variance_partials(&y_hat, &w_hat, &points, shard(index, count), new_rows)
                .map_err(|e| self.forest.error(e))
        })?;
        bytes_of(py, &partials)
    }

    /// `(cate, variance)` of the training rows (out of bag) and of the new rows, as little-endian
    /// doubles, from the points and every shard's stage-3 bytes.
    fn estimates(&self, py: Python<'_>, points: &[u8], parts: Vec<Vec<u8>>) -> PyResult<Vec<Py<PyBytes>>> {
        let points: RowsAndNew<RowPoint> = cateye::forest::shard_from_bytes(points, "points").map_err(error)?;
        let variances: RowsAndNew<VariancePartial> =
            merged(&parts, "variance partial sums", |a: &mut RowsAndNew<VariancePartial>, b| {
                merge_rows(&mut a.rows, &b.rows, VariancePartial::merge);
                merge_rows(&mut a.new, &b.new, VariancePartial::merge);
            })?;
        let stages = self.forest.stages().map_err(error)?;
        let rows = stages.estimates(&points.rows, &variances.rows).map_err(|e| error(self.forest.error(e)))?;
        let (new_tau, new_variance): (Vec<f64>, Vec<f64>) =
            finish_causal(&points.new, &variances.new, stages.group_size()).into_iter().unzip();
        Ok([&rows.tau, &rows.variance, &new_tau, &new_variance].map(|v| le_bytes(py, v)).into())
    }
}

impl ForestShards {
    /// `ŷ` and `ŵ` from their little-endian bytes, one per row.
    fn nuisance_values(&self, y_hat: &[u8], w_hat: &[u8]) -> PyResult<(Vec<f64>, Vec<f64>)> {
        let n = self.forest.rows();
        Ok((doubles(y_hat, "y_hat", n)?, doubles(w_hat, "w_hat", n)?))
    }
}

/// Doubles as little-endian bytes (what numpy's `frombuffer(..., "<f8")` reads).
fn le_bytes(py: Python<'_>, values: &[f64]) -> Py<PyBytes> {
    PyBytes::new(py, &values.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unbind()
}

/// Adds `b` into `a`, row by row.
fn merge_rows<T>(a: &mut [T], b: &[T], merge: impl Fn(&mut T, &T)) {
    a.iter_mut().zip(b).for_each(|(x, y)| merge(x, y));
}
