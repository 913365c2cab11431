//! `cateye bench wide`: the paradigm's shape, many experiments × many metrics × many dimensions
//! with few units each (issue 20). Generates `--experiments` (default 40) experiments of
//! `--rows` units (default 1,000), `--metrics` metrics (default 100) with pre-period columns and
//! `--dimensions` categorical dimensions (default 100) of `--levels` levels, all effects constant
//! except one planted (experiment, metric, dimension) triple in each of the first 36
//! experiments; then times `cateye scan --deep-dive none --min-units 20` end to end (read, scan, write the
//! outputs) and reports wall time, time per test, peak memory, the size of `scan.json`, and how
//! many planted triples were found and how many findings are false.

use crate::{io_error, peak_rss_text, Result};
use cateye::scan::{Correction, DeepDiveConfig, ScanConfig, ScanOutputs, Selection, Tables};
use cateye::{Config, Source};
use cateye_sim::{synthetic_spec, Heterogeneity, TableSpec};
use std::collections::HashSet;
use std::path::Path;
use std::time::Instant;

/// Planted triples: one in each of the first `PLANTED` experiments.
const PLANTED: usize = 36;

/// The table and its planted triples `(experiment, metric, dimension)`.
fn spec(
    experiments: usize,
    units: usize,
    metrics: usize,
    dims: usize,
    levels: usize,
) -> (TableSpec, HashSet<(String, String, String)>) {
    let mut spec = synthetic_spec(experiments, units, metrics, dims, levels, 20);
    let mut planted = HashSet::new();
    for (e, x) in spec.experiments.iter_mut().enumerate().take(PLANTED) {
        let (m, d) = ((7 * e) % metrics, (13 * e) % dims);
        // Level 0 shifted by 1.5 noise SDs: about z = 5 at 1,000 units and 10 levels.
        x.heterogeneity[m] = Some(Heterogeneity::ByDimension { dimension: d, shifts: vec![(0, 1.5)] });
        planted.insert((x.name.clone(), format!("m{m}"), format!("d{d}")));
    }
    (spec, planted)
}

/// The generated sweep's shape.
pub(crate) struct Shape {
    pub experiments: usize,
    pub units: usize,
    pub metrics: usize,
    pub dims: usize,
    pub levels: usize,
}

/// How the scan is run.
pub(crate) struct Run {
    pub tables: Tables,
    pub correction: Correction,
    /// Rows of all experiments interleaved (round robin) instead of grouped by experiment.
    pub interleaved: bool,
}

/// Writes the table of `spec` with its experiments' rows interleaved: the first row of every
/// experiment, then the second, and so on (held in memory while written).
fn write_interleaved(spec: &TableSpec, units: usize, file: &Path) -> Result<()> {
    let batches = spec.batches();
    let all =
        arrow::compute::concat_batches(&spec.schema(), &batches).map_err(|e| cateye_io::IoError::write(file, e))?;
    let experiments = spec.experiments.len();
    let order: Vec<u32> = (0..units).flat_map(|i| (0..experiments).map(move |e| (e * units + i) as u32)).collect();
    let chunks = order.chunks(1 << 16).map(|rows| {
        arrow::compute::take_record_batch(&all, &arrow::array::UInt32Array::from(rows.to_vec()))
            .expect("rows of the table")
    });
    Ok(cateye_io::write_batches(file, spec.schema(), chunks)?)
}

pub(crate) fn run(dir: &Path, shape: Shape, how: Run) -> Result<()> {
    let Shape { experiments, units, metrics, dims, levels } = shape;
    let Run { tables, correction, interleaved } = how;
    let order = if interleaved { "_interleaved" } else { "" };
    let file = dir.join(format!("wide_{experiments}x{units}x{metrics}x{dims}{order}.parquet"));
    let (spec, planted) = spec(experiments, units, metrics, dims, levels);
    let t = Instant::now();
    if interleaved {
        write_interleaved(&spec, units, &file)?;
    } else {
        cateye::demo::write_table(&spec, &file)?;
    }
    let size = std::fs::metadata(&file).map_err(io_error(file.display()))?.len();
    println!(
        "generated {experiments} experiments x {units} units x {metrics} metrics (+ pre-period) x {dims} dimensions \
         ({levels} levels){} in {:.1} s: {:.0} MB",
        if interleaved { ", rows of the experiments interleaved" } else { "" },
        t.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    let scan = ScanConfig::default().with(|c| {
        c.metrics = Some((0..metrics).map(|m| format!("m{m}")).collect());
        c.dimensions = Some((0..dims).map(|d| format!("d{d}")).collect());
        // About 50 units per arm and level: below the default of 100, every level would be
        // pooled and nothing tested.
        c.min_units_per_arm = 20;
        c.tables = tables;
        c.correction = correction;
    });
    let config = Config::new(scan, DeepDiveConfig::default().with(|c| c.pairs = Selection::None));
    let out = dir.join("results");
    let t = Instant::now();
    let source = Source::open(&file)?;
    let mut outputs = ScanOutputs::prepare(&out, vec!["cateye bench wide".into()], &[])?;
    let (_, report) = cateye::scan::scan_into(&source, &config, &|_| {}, &mut outputs)?;
    let seconds = t.elapsed().as_secs_f64();
    let result = &report.result;
    let tests = result.dimension_counts.tested;
    let json = std::fs::metadata(out.join("scan.json")).map_err(io_error("scan.json"))?.len();
    let tables_mb: f64 = ["dimensions.parquet", "levels.parquet", "dimensions.csv", "levels.csv"]
        .iter()
        .filter_map(|f| std::fs::metadata(out.join(f)).ok())
        .map(|m| m.len() as f64 / 1e6)
        .sum();
    let found: HashSet<(String, String, String)> = result
        .findings
        .iter()
        .filter_map(|f| f.dimension.as_ref().map(|d| (f.experiment.clone(), f.metric.clone(), d.clone())))
        .collect();
    let recovered = planted.iter().filter(|p| found.contains(*p)).count();
    for f in result.findings.iter().filter(|f| {
        f.dimension.as_ref().is_some_and(|d| !planted.contains(&(f.experiment.clone(), f.metric.clone(), d.clone())))
    }) {
        println!(
            "  false finding: {} / {} / {}: p = {:.3e}, q = {:.3e}",
            f.experiment,
            f.metric,
            f.dimension.as_deref().unwrap_or("-"),
            f.p_value,
            f.q_value
        );
    }
    let false_findings = found.iter().filter(|f| !planted.contains(*f)).count();
    println!(
        "scan of {} rows, {tests} dimension tests ({tables} tables, {correction}): {seconds:.1} s ({:.2} µs per test), peak RSS {}, scan.json {:.0} MB, \
         dimension and level tables {tables_mb:.0} MB; \
         planted triples found {recovered} of {}, false findings {false_findings}",
        experiments * units,
        1e6 * seconds / tests.max(1) as f64,
        peak_rss_text(),
        json as f64 / 1e6,
        planted.len()
    );
    Ok(())
}
