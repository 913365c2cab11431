//! `cateye._cateye`: the native half of cateye's Python package. Each function is one call of
//! the `cateye` library crate on data that crossed the boundary as an Arrow C stream
//! (`arrow_stream.rs`), run off the interpreter's lock with Ctrl-C honoured (`run.rs`). Settings
//! arrive as JSON text, reports leave as JSON text, tables leave as Arrow streams: the Python
//! layer (`python/cateye/`) turns them into keyword arguments, dicts and pyarrow tables.

mod arrow_stream;
mod distributed;
mod run;

use arrow::array::{Array, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use arrow_stream::{source, ArrowStream};
use cateye::analysis::{CateFit, RateOptions, TargetSample};
use cateye::cate::{BaseKind, CateConfig, CateSpec};
use cateye::forest::{ForestOptions, ForestSpec};
use cateye::regression::RegressionSpec;
use cateye::scan::{ScanEvent, ScanReport};
use cateye::{Config, Progress, Source, UnitTable};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde_json::{Map, Value};
use std::sync::Arc;

pyo3::create_exception!(
    _cateye,
    CateyeError,
    pyo3::exceptions::PyValueError,
    "cateye refused the input or a setting: the message names the column, row, value or key at fault \
     and what was expected (the command line's message)."
);

/// A library error as the Python exception, with the command line's message.
fn error(e: impl Into<cateye::Error>) -> PyErr {
    CateyeError::new_err(e.into().to_string())
}

/// A settings error of the Python API.
fn setting(message: impl Into<String>) -> PyErr {
    CateyeError::new_err(message.into())
}

fn json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| setting(format!("cannot serialize the results: {e}")))
}

fn parse_object(text: &str, what: &str) -> PyResult<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| setting(format!("{what}: {e}")))
}

/// Per-unit results as one record batch of float columns.
fn unit_batch(units: &UnitTable) -> RecordBatch {
    let fields: Vec<Field> = units.columns().iter().map(|(n, _)| Field::new(n, DataType::Float64, false)).collect();
    let arrays =
        units.columns().iter().map(|(_, v)| Arc::new(Float64Array::from(v.clone())) as Arc<dyn Array>).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("float columns of one length")
}

/// The report and its per-dimension and per-level tables.
type ScanOutput = (String, ArrowStream, ArrowStream);

fn scan_output(report: &ScanReport) -> PyResult<ScanOutput> {
    let rows = &report.result.dimensions;
    Ok((
        json(report)?,
        ArrowStream::of(cateye::tables::dimension_table(rows)),
        ArrowStream::of(cateye::tables::level_table(rows)),
    ))
}

fn scan_config(config: &str) -> PyResult<Config> {
    Config::from_json_str(config, "cateye.scan").map_err(error)
}

/// The output of a scan: the report as JSON, its dimension and level tables, its statistics.
type ScanCall = (String, ArrowStream, ArrowStream, SuffStats);

/// Runs `job` (a scan of `data` with the JSON settings `config`) and hands over its output.
fn scan_call<F>(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    (config, label): (&str, &str),
    progress: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
    job: F,
) -> PyResult<ScanCall>
where
    F: FnOnce(&Source, &Config, Progress<'_>) -> cateye::Result<(cateye::scan::SuffStats, ScanReport)> + Send,
{
    let config = scan_config(config)?;
    let source = source(data, label)?;
    let (stats, report) = run::run(py, progress, threads, |progress| job(&source, &config, progress))?;
    let (report, dimensions, levels) = scan_output(&report)?;
    Ok((report, dimensions, levels, SuffStats { stats }))
}

/// Tier 1 and the deep dive of `data` (a path or an Arrow stream) with the settings of
/// `config` (JSON: the keys of a TOML config file). Returns the report as JSON, the dimension
/// and level tables, and the sufficient statistics.
#[pyfunction]
#[pyo3(signature = (data, config, label, progress = None, threads = None))]
fn scan(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    config: &str,
    label: &str,
    progress: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<ScanCall> {
    scan_call(py, data, (config, label), progress, threads, |source, config, progress| {
        let events = |event: ScanEvent<'_>| match event {
            ScanEvent::Rows { read, total } => progress("reading rows", read, total.unwrap_or(0)),
            ScanEvent::DeepDive(_) => progress("deep dive", 0, 0),
            _ => {}
        };
        cateye::scan::scan(source, config, &events)
    })
}

/// The scan of a statistics table (the table `SuffStats.to_arrow` or `cateye stats` writes).
#[pyfunction]
#[pyo3(signature = (data, config, label, threads = None))]
fn scan_stats(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    config: &str,
    label: &str,
    threads: Option<usize>,
) -> PyResult<ScanCall> {
    scan_call(py, data, (config, label), None, threads, |source, config, _| cateye::scan::scan_stats(source, config))
}

/// The sufficient statistics of the unit-level rows of `data`.
#[pyfunction]
#[pyo3(signature = (data, config, label, threads = None))]
fn suff_stats(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    config: &str,
    label: &str,
    threads: Option<usize>,
) -> PyResult<SuffStats> {
    let config = scan_config(config)?;
    let source = source(data, label)?;
    let stats = run::run(py, None, threads, |_| cateye::scan::suff_stats(&source, &config.scan))?;
    Ok(SuffStats { stats })
}

/// The SQL (`dialect`: "spark" or "ansi") that computes the statistics table of the unit-level
/// table `table` (`config`: JSON, the keys of a TOML config file; `bins` is refused: SQL cannot
/// bin); `cuped`: every metric has the covariate `pre_prefix` + metric; `pre`: (metric, column,
/// `None` for `pre_prefix` + metric) pairs.
#[pyfunction]
#[pyo3(signature = (table, config, dialect, cuped = false, pre = Vec::new()))]
fn stats_sql(
    table: &str,
    config: &str,
    dialect: &str,
    cuped: bool,
    pre: Vec<(String, Option<String>)>,
) -> PyResult<String> {
    use cateye::scan::{CovariateColumns, Dialect, StatsQuery};
    if parse_object(config, "cateye.stats_sql")?.contains_key("bins") {
        return Err(error(StatsQuery::binning_refused("bins")));
    }
    let config = Config::from_json_str(config, "cateye.stats_sql").map_err(error)?;
    let dialect = dialect.parse::<Dialect>().map_err(|e| setting(e.to_string()))?;
    let query =
        StatsQuery::from_config(table, &config.scan, &CovariateColumns { all: cuped, listed: pre }).map_err(error)?;
    query.sql(dialect).map_err(error)
}

/// Sufficient statistics of unit-level rows: they merge exactly across partitions.
#[pyclass(module = "cateye._cateye", frozen)]
struct SuffStats {
    stats: cateye::scan::SuffStats,
}

#[pymethods]
impl SuffStats {
    /// The statistics of both tables' rows (the same metrics and dimensions).
    fn merge(&self, other: &SuffStats) -> PyResult<SuffStats> {
        let mut merged = self.stats.clone();
        merged.merge(&other.stats).map_err(|e| setting(format!("cannot merge these statistics: {e}")))?;
        Ok(SuffStats { stats: merged })
    }

    /// The statistics table (one row per experiment × arm × metric × dimension level).
    fn to_arrow(&self) -> ArrowStream {
        ArrowStream::of(cateye::scan::stats_table(&self.stats))
    }

    /// The statistics as bytes: exact, for moving partial statistics between processes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        distributed::stats_bytes(py, self)
    }

    /// Statistics from the bytes of `to_bytes`.
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<SuffStats> {
        distributed::stats_from(bytes)
    }

    /// The tier-1 scan of these statistics (`config` as for `scan`; no deep dive).
    fn scan(&self, py: Python<'_>, config: &str, label: &str) -> PyResult<(String, ArrowStream, ArrowStream)> {
        let config = scan_config(config)?;
        let report = run::run(py, None, None, |_| cateye::scan::scan_suff_stats(&self.stats, &config.scan, label))?;
        scan_output(&report)
    }
}

/// Takes `key` out of a JSON spec as a string (absent or null: `None`).
fn take_string(spec: &mut Map<String, Value>, key: &str) -> PyResult<Option<String>> {
    match spec.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(setting(format!("{key}: expected a string, got {other}"))),
    }
}

fn take<T: serde::de::DeserializeOwned>(spec: &mut Map<String, Value>, key: &str) -> PyResult<Option<T>> {
    match spec.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v).map(Some).map_err(|e| setting(format!("{key}: {e}"))),
    }
}

fn no_unknown_keys(spec: &Map<String, Value>, what: &str) -> PyResult<()> {
    match spec.keys().next() {
        Some(key) => Err(setting(format!("{what}: unknown setting '{key}'"))),
        None => Ok(()),
    }
}

/// Forest options from the defaults overlaid with `given` (an unknown key is an error).
fn forest_options(given: Map<String, Value>) -> PyResult<ForestOptions> {
    let Value::Object(mut options) = serde_json::to_value(ForestOptions::default()).expect("options serialize") else {
        unreachable!("options serialize to an object")
    };
    for (key, value) in given {
        if !options.contains_key(&key) {
            let known: Vec<&String> = options.keys().collect();
            return Err(setting(format!("unknown forest option '{key}' (known: {known:?})")));
        }
        options.insert(key, value);
    }
    serde_json::from_value(Value::Object(options)).map_err(|e| setting(format!("forest options: {e}")))
}

pub(crate) fn forest_spec(spec: &str) -> PyResult<ForestSpec> {
    let mut spec = parse_object(spec, "forest spec")?;
    let outcome = take_string(&mut spec, "outcome")?.ok_or_else(|| setting("forest spec: no outcome"))?;
    let treatment = take_string(&mut spec, "treatment")?.ok_or_else(|| setting("forest spec: no treatment"))?;
    let mut forest = ForestSpec::new(outcome, treatment);
    forest.covariates = take::<Vec<String>>(&mut spec, "covariates")?;
    if let Some(p) = take_string(&mut spec, "propensity")? {
        forest.propensity = p.parse().unwrap_or_else(|never| match never {});
    }
    forest.y_hat = take_string(&mut spec, "y_hat")?;
    forest.weights = take_string(&mut spec, "weights")?;
    forest.cluster = take_string(&mut spec, "cluster")?;
    forest.options = forest_options(take(&mut spec, "options")?.unwrap_or_default())?;
    no_unknown_keys(&spec, "forest spec")?;
    Ok(forest)
}

/// The forest's default settings (grf's) as JSON.
#[pyfunction]
fn forest_defaults() -> PyResult<String> {
    json(&ForestOptions::default())
}

/// Fits a causal forest as `cateye forest` does. `spec` (JSON): outcome, treatment,
/// covariates, propensity, y_hat, weights, cluster, options (the forest's settings). Returns the
/// summary as JSON, the per-unit estimates and the model.
#[pyfunction]
#[pyo3(signature = (data, spec, label, progress = None, threads = None))]
fn fit_forest(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    spec: &str,
    label: &str,
    progress: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<(String, ArrowStream, Model)> {
    let spec = forest_spec(spec)?;
    let source = source(data, label)?;
    let fit =
        run::run(py, progress, threads, |progress| cateye::forest::fit_forest_reporting(&source, &spec, progress))?;
    let model = Model { model: cateye::model::Model::CausalForest(fit.model) };
    Ok((json(&fit.summary)?, ArrowStream::of(unit_batch(&fit.units)), model))
}

/// Fits a regression forest of `E[Y | X]`. `spec` (JSON): outcome, covariates, weights,
/// cluster, options. Returns the summary as JSON, the out-of-bag estimates (`prediction`) and
/// the model.
#[pyfunction]
#[pyo3(signature = (data, spec, label, progress = None, threads = None))]
fn fit_regression_forest(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    spec: &str,
    label: &str,
    progress: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<(String, ArrowStream, Model)> {
    let mut given = parse_object(spec, "regression spec")?;
    let outcome = take_string(&mut given, "outcome")?.ok_or_else(|| setting("regression spec: no outcome"))?;
    let mut spec = RegressionSpec::new(outcome);
    spec.covariates = take::<Vec<String>>(&mut given, "covariates")?;
    spec.weights = take_string(&mut given, "weights")?;
    spec.cluster = take_string(&mut given, "cluster")?;
    spec.options = forest_options(take(&mut given, "options")?.unwrap_or_default())?;
    no_unknown_keys(&given, "regression spec")?;
    let source = source(data, label)?;
    let fit = run::run(py, progress, threads, |progress| {
        cateye::regression::fit_regression_forest(&source, &spec, progress)
    })?;
    let oob = UnitTable::new(vec![("prediction".into(), fit.oob)]);
    let model = Model { model: cateye::model::Model::RegressionForest(fit.model) };
    Ok((json(&fit.summary)?, ArrowStream::of(unit_batch(&oob)), model))
}

fn cate_spec(spec: &str) -> PyResult<CateSpec> {
    let mut spec = parse_object(spec, "learner spec")?;
    let outcome = take_string(&mut spec, "outcome")?.ok_or_else(|| setting("learner spec: no outcome"))?;
    let treatment = take_string(&mut spec, "treatment")?.ok_or_else(|| setting("learner spec: no treatment"))?;
    let mut cate = CateSpec::new(outcome, treatment);
    cate.covariates = take::<Vec<String>>(&mut spec, "covariates")?;
    if let Some(p) = take_string(&mut spec, "propensity")? {
        cate.propensity = p.parse().unwrap_or_else(|never| match never {});
    }
    cate.weights = take_string(&mut spec, "weights")?;
    cate.cluster = take_string(&mut spec, "cluster")?;
    let mut config = CateConfig::default();
    if let Some(m) = take_string(&mut spec, "method")? {
        config.method = m.parse().map_err(|e| setting(format!("method: {e}")))?;
    }
    let select = take::<bool>(&mut spec, "select")?.unwrap_or(false);
    config.bases = match take::<Vec<String>>(&mut spec, "bases")? {
        Some(names) => names
            .into_iter()
            .map(|b| b.parse::<BaseKind>().map_err(|e| setting(format!("base: {e}"))))
            .collect::<PyResult<Vec<_>>>()?,
        None if select => BaseKind::ALL.to_vec(),
        None => vec![BaseKind::Forest],
    };
    config.select = select;
    if let Some(loss) = take_string(&mut spec, "loss")? {
        config.loss = loss.parse().map_err(|e| setting(format!("loss: {e}")))?;
    }
    if let Some(v) = take(&mut spec, "calibrate")? {
        config.calibrate = v;
    }
    if let Some(v) = take(&mut spec, "intervals")? {
        config.intervals = v;
    }
    if let Some(v) = take(&mut spec, "interval_trees")? {
        config.interval_trees = v;
    }
    if let Some(v) = take(&mut spec, "final_min_node_size")? {
        config.final_min_node_size = v;
    }
    if let Some(v) = take(&mut spec, "folds")? {
        config.folds = v;
    }
    if let Some(v) = take(&mut spec, "trees")? {
        config.trees = v;
    }
    if let Some(v) = take(&mut spec, "clip")? {
        config.clip = v;
    }
    if let Some(v) = take(&mut spec, "max_bins")? {
        config.max_bins = v;
    }
    if let Some(v) = take(&mut spec, "seed")? {
        config.seed = v;
    }
    config.control = take(&mut spec, "control")?;
    config.keep_model = true;
    cate.config = config;
    no_unknown_keys(&spec, "learner spec")?;
    Ok(cate)
}

/// Runs the CATE learners as `cateye cate` does. `spec` (JSON): outcome, treatment, covariates,
/// propensity, weights, cluster, method, intervals, interval_trees, final_min_node_size, bases, select, loss, calibrate, folds, trees, clip, max_bins, seed,
/// control. Returns the summary as JSON, the per-unit estimates and the model.
#[pyfunction]
#[pyo3(signature = (data, spec, label, progress = None, threads = None))]
fn fit_cate(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    spec: &str,
    label: &str,
    progress: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<(String, ArrowStream, Option<Model>)> {
    let spec = cate_spec(spec)?;
    let source = source(data, label)?;
    let fit = run::run(py, progress, threads, |progress| cateye::cate::fit_cate_reporting(&source, &spec, progress))?;
    let model = fit.model.map(|m| Model { model: cateye::model::Model::Cate(m) });
    Ok((json(&fit.summary)?, ArrowStream::of(unit_batch(&fit.units)), model))
}

/// A fitted causal forest or CATE learner.
#[pyclass(module = "cateye._cateye", frozen)]
struct Model {
    model: cateye::model::Model,
}

#[pymethods]
impl Model {
    /// Predictions for the rows of `data` (covariates found by name): for a causal forest
    /// `cate`, `se`, `ci_lower`, `ci_upper`; for a CATE learner `cate` per arm; for a
    /// regression forest `prediction`.
    #[pyo3(signature = (data, label, threads = None))]
    fn predict(
        &self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        label: &str,
        threads: Option<usize>,
    ) -> PyResult<ArrowStream> {
        let source = source(data, label)?;
        let units = run::run(py, None, threads, |progress| self.model.predict_reporting(&source, progress))?;
        Ok(ArrowStream::of(unit_batch(&units)))
    }

    /// The model file's bytes (what `cateye predict` reads).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.model.to_bytes().map_err(error)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// A model from a model file's bytes.
    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<Model> {
        Ok(Model { model: cateye::model::Model::from_bytes(bytes, "model bytes").map_err(error)? })
    }

    /// The covariates a row must have, in the model's order.
    #[getter]
    fn covariates(&self) -> Vec<String> {
        self.model.covariates().to_vec()
    }

    /// "causal forest", "CATE learner" or "regression forest".
    #[getter]
    fn kind(&self) -> &'static str {
        self.model.kind()
    }
}

/// The float columns of `data`, by name, read whole (nulls refused).
fn float_columns(source: &Source, names: &[&str]) -> PyResult<Vec<Vec<f64>>> {
    let schema = source.schema().clone();
    let label = source.label().to_string();
    let mut projection = Vec::with_capacity(names.len());
    for name in names {
        let index = schema
            .index_of(name)
            .map_err(|_| setting(format!("{label}: no column '{name}' (columns: {})", source.column_list())))?;
        projection.push(index);
    }
    let mut columns = vec![Vec::new(); names.len()];
    for batch in source.batches(&projection, 65_536).map_err(error)? {
        let batch = batch.map_err(error)?;
        for (j, column) in columns.iter_mut().enumerate() {
            let array = arrow::compute::cast(batch.column(j), &DataType::Float64)
                .map_err(|e| setting(format!("{label}: column '{}': expected numbers ({e})", names[j])))?;
            let array = array.as_any().downcast_ref::<Float64Array>().expect("cast to Float64");
            if array.null_count() > 0 {
                return Err(setting(format!("{label}: column '{}' has missing values", names[j])));
            }
            column.extend_from_slice(array.values());
        }
    }
    Ok(columns)
}

/// The columns of a CATE fit: `y`, `w`, `y_hat`, `w_hat`, `tau`, and optionally `weights` and
/// `cluster` (dense codes from 0).
struct FitColumns {
    columns: Vec<Vec<f64>>,
    weights: Option<Vec<f64>>,
    clusters: Option<Vec<u32>>,
}

impl FitColumns {
    fn read(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let source = source(data, "fit")?;
        let has = |name: &str| source.schema().index_of(name).is_ok();
        let (weighted, clustered) = (has("weights"), has("cluster"));
        let mut names = vec!["y", "w", "y_hat", "w_hat", "tau"];
        names.extend(weighted.then_some("weights"));
        names.extend(clustered.then_some("cluster"));
        let mut columns = float_columns(&source, &names)?;
        let clusters = clustered.then(|| columns.pop().unwrap_or_default().into_iter().map(|c| c as u32).collect());
        let weights = if weighted { columns.pop() } else { None };
        Ok(FitColumns { columns, weights, clusters })
    }

    fn fit(&self) -> PyResult<CateFit<'_>> {
        let c = &self.columns;
        CateFit::new(&c[0], &c[1], &c[2], &c[3], &c[4])
            .and_then(|f| f.with_weights(self.weights.as_deref()))
            .and_then(|f| f.with_clusters(self.clusters.as_deref()))
            .map_err(analysis_error)
    }
}

fn analysis_error(e: cateye::analysis::InputError) -> PyErr {
    error(cateye::Error::Fit { input: "fit".into(), cause: e.into() })
}

/// The AIPW average effect on `target` ("all", "treated", "control", "overlap") as JSON.
#[pyfunction]
fn average_treatment_effect(fit: &Bound<'_, PyAny>, target: &str) -> PyResult<String> {
    let target: TargetSample = serde_json::from_value(Value::String(target.into()))
        .map_err(|_| setting(format!("target_sample '{target}': expected all, treated, control or overlap")))?;
    let columns = FitColumns::read(fit)?;
    json(&cateye::analysis::average_treatment_effect(&columns.fit()?, target).map_err(analysis_error)?)
}

/// The omnibus calibration test as JSON.
#[pyfunction]
fn test_calibration(fit: &Bound<'_, PyAny>) -> PyResult<String> {
    let columns = FitColumns::read(fit)?;
    json(&cateye::analysis::test_calibration(&columns.fit()?).map_err(analysis_error)?)
}

/// RATE (AUTOC and Qini) of the `priority` column of `priorities`, as JSON.
#[pyfunction]
#[pyo3(signature = (fit, priorities, bootstrap = 200, seed = 42))]
fn rank_average_treatment_effect(
    py: Python<'_>,
    fit: &Bound<'_, PyAny>,
    priorities: &Bound<'_, PyAny>,
    bootstrap: usize,
    seed: u64,
) -> PyResult<String> {
    let columns = FitColumns::read(fit)?;
    let priority = float_columns(&source(priorities, "priorities")?, &["priority"])?.pop().unwrap_or_default();
    let mut options = RateOptions::default();
    options.bootstrap = bootstrap;
    options.seed = seed;
    let fit = columns.fit()?;
    let rate = py.detach(|| cateye::analysis::rank_average_treatment_effect(&fit, &priority, &options));
    json(&rate.map_err(analysis_error)?)
}

/// The best linear projection of the effect on the columns of `covariates` (with an
/// intercept), as JSON.
#[pyfunction]
fn best_linear_projection(fit: &Bound<'_, PyAny>, covariates: &Bound<'_, PyAny>) -> PyResult<String> {
    let columns = FitColumns::read(fit)?;
    let source = source(covariates, "A")?;
    let names: Vec<String> = source.schema().fields().iter().map(|f| f.name().clone()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let values = float_columns(&source, &refs)?;
    let named: Vec<(&str, &[f64])> = refs.iter().copied().zip(values.iter().map(Vec::as_slice)).collect();
    json(&cateye::analysis::best_linear_projection(&columns.fit()?, &named).map_err(analysis_error)?)
}

/// The self-contained HTML report of results given as JSON (`scan.json`, `forest.json` or
/// `cate.json`); `label` names them in errors.
#[pyfunction]
fn render_report(py: Python<'_>, results: &str, label: &str) -> PyResult<String> {
    let results =
        cateye_report::Results::from_json_str(results, label).map_err(|e| CateyeError::new_err(e.to_string()))?;
    Ok(py.detach(|| cateye_report::render(&results)))
}

/// The native module.
#[pymodule]
fn _cateye(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CateyeError", m.py().get_type::<CateyeError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<ArrowStream>()?;
    m.add_class::<SuffStats>()?;
    m.add_class::<Model>()?;
    m.add_class::<distributed::ForestShards>()?;
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add_function(wrap_pyfunction!(scan_stats, m)?)?;
    m.add_function(wrap_pyfunction!(stats_sql, m)?)?;
    m.add_function(wrap_pyfunction!(suff_stats, m)?)?;
    m.add_function(wrap_pyfunction!(forest_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(fit_forest, m)?)?;
    m.add_function(wrap_pyfunction!(fit_regression_forest, m)?)?;
    m.add_function(wrap_pyfunction!(fit_cate, m)?)?;
    m.add_function(wrap_pyfunction!(average_treatment_effect, m)?)?;
    m.add_function(wrap_pyfunction!(test_calibration, m)?)?;
    m.add_function(wrap_pyfunction!(rank_average_treatment_effect, m)?)?;
    m.add_function(wrap_pyfunction!(best_linear_projection, m)?)?;
    m.add_function(wrap_pyfunction!(render_report, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::deep_dive_plan, m)?)?;
    m.add_function(wrap_pyfunction!(distributed::deep_dive_experiment, m)?)?;
    Ok(())
}
