//! `cateye bench deep-dive | deep-dive-scan`: the deep dive of one pair (100,000 units, 20
//! dimensions by default) and a whole scan with `--deep-dive 20` over many experiments.

use crate::{peak_rss_text, BenchError, Result};
use cateye::scan::{DeepDiveConfig, ScanConfig, Selection};
use cateye::{Config, Source};
use cateye_deepdive::run_deep_dive;
use cateye_sim::{synthetic_spec, Heterogeneity, TableSpec};
use std::path::Path;
use std::time::Instant;

/// `experiments` × `units` rows with effect heterogeneity planted in the first `planted`
/// experiments (metric 0 by dimension d0, the others' metric 1 idiosyncratic every third).
fn spec(experiments: usize, units: usize, metrics: usize, dims: usize, levels: usize, planted: usize) -> TableSpec {
    let mut spec = synthetic_spec(experiments, units, metrics, dims, levels, 7);
    for (e, x) in spec.experiments.iter_mut().enumerate().take(planted) {
        x.heterogeneity[0] =
            Some(Heterogeneity::ByDimension { dimension: e % dims, shifts: vec![(0, 0.15), (1, -0.1)] });
        if e % 3 == 0 && metrics > 1 {
            x.heterogeneity[1] = Some(Heterogeneity::Idiosyncratic { sd: 0.3 });
        }
    }
    spec
}

fn config(metrics: usize, dims: usize, deep_dive: DeepDiveConfig) -> Config {
    let scan = ScanConfig::default().with(|c| {
        c.metrics = Some((0..metrics).map(|m| format!("m{m}")).collect());
        c.dimensions = Some((0..dims).map(|d| format!("d{d}")).collect());
    });
    Config::new(scan, deep_dive)
}

/// One pair: scan a one-experiment table and deep-dive its metric.
pub(crate) fn pair(dir: &Path, units: usize, dims: usize, levels: usize, trees: usize) -> Result<()> {
    let file = dir.join(format!("deep_dive_{units}x{dims}.parquet"));
    cateye::demo::write_table(&spec(1, units, 1, dims, levels, 1), &file)?;
    let dd = DeepDiveConfig::default().with(|c| {
        c.pairs = Selection::All;
        c.trees = trees;
    });
    let cfg = config(1, dims, dd.with(|c| c.requested = vec!["exp00000:m0".into()]));
    let source = Source::open(&file)?;
    let (stats, result) = cateye_scan::scan_source(&source, &cfg.scan, &|_, _| {})?;
    let t = Instant::now();
    let report = run_deep_dive(&source, &cfg.scan, &cfg.deep_dive, &stats, &result, &|_| {})?;
    let total = t.elapsed().as_secs_f64();
    let d = report.pairs.first().ok_or_else(|| BenchError::Failed(format!("deep dive failed: {:?}", report.failed)))?;
    println!(
        "deep dive of one pair: {units} units, {dims} dimensions ({levels} levels) + CUPED covariate, {trees} trees, \
         {} permutations x {} grid points: {total:.2} s (reading rows {:.2} s, forest {:.2} s, tests {:.2} s, \
         surface/characterize {:.2} s), peak RSS {}",
        cfg.deep_dive.permutations,
        cfg.deep_dive.grid,
        total - d.seconds.forest - d.seconds.tests - d.seconds.rest,
        d.seconds.forest,
        d.seconds.tests,
        d.seconds.rest,
        peak_rss_text()
    );
    println!(
        "  top dimension {} (planted d0), calibration p {:.2e}, subgroup rules: {}",
        d.surface.dimensions[0].dimension,
        d.detect.calibration.differential_forest_prediction.p_value_greater,
        d.characterize
            .subgroups
            .as_ref()
            .unwrap()
            .leaves
            .iter()
            .map(|l| l.rule.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    Ok(())
}

/// A whole scan with the deep dive of the 20 strongest flagged pairs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scan(
    dir: &Path,
    experiments: usize,
    units: usize,
    metrics: usize,
    dims: usize,
    levels: usize,
    trees: usize,
    pairs: usize,
) -> Result<()> {
    let file = dir.join(format!("deep_dive_scan_{experiments}x{units}.parquet"));
    let t = Instant::now();
    cateye::demo::write_table(&spec(experiments, units, metrics, dims, levels, pairs + pairs / 2), &file)?;
    println!(
        "generated {experiments} experiments x {units} units x {metrics} metrics x {dims} dimensions in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let cfg = config(
        metrics,
        dims,
        DeepDiveConfig::default().with(|c| {
            c.pairs = Selection::Top(pairs);
            c.trees = trees;
        }),
    );
    let t = Instant::now();
    let source = Source::open(&file)?;
    let (stats, result) = cateye_scan::scan_source(&source, &cfg.scan, &|_, _| {})?;
    let scan_seconds = t.elapsed().as_secs_f64();
    let report = run_deep_dive(&source, &cfg.scan, &cfg.deep_dive, &stats, &result, &|_| {})?;
    let total = t.elapsed().as_secs_f64();
    let per_pair: Vec<f64> = report.pairs.iter().map(|d| d.seconds.forest + d.seconds.tests + d.seconds.rest).collect();
    println!(
        "scan + deep dive: {total:.1} s (scan {scan_seconds:.1} s; {} flagged, {} deep-dived in {:.1} s, {:.1} s per \
         pair on average, {} failed), peak RSS {}",
        report.selection.flagged,
        report.pairs.len(),
        total - scan_seconds,
        per_pair.iter().sum::<f64>() / per_pair.len().max(1) as f64,
        report.failed.len(),
        peak_rss_text()
    );
    Ok(())
}
