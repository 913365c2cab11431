//! Tier 2 of the scan: the deep dive of flagged (experiment, metric, treatment arm) pairs.
//!
//! The scan tests pre-chosen breakdowns one at a time from sufficient statistics; the deep dive
//! reads the unit-level rows of a pair again and explains its heterogeneity as a whole:
//!
//! 1. **Select** ([`select`]): the pairs the scan flags, strongest evidence first, capped
//!    (`--deep-dive all|none|N`, default 20), plus pairs the user names.
//! 2. **Features** ([`pair`]): every dimension becomes one forest covariate — categorical levels
//!    ranked by the pair's pooled mean outcome (whose noise is uncorrelated with that of the effect
//!    estimates; see `pair::dimension_feature`), so a single split can isolate a block of levels), binned ones in bin
//!    order — plus the CUPED column and the covariates the user names. The known assignment
//!    probability (the planned split) is the propensity; `E[Y | X]` comes from a cross-fitted
//!    linear model on the same features.
//! 3. **Detect**: grf's calibration test and RATE (AUTOC) on out-of-bag predictions, and the
//!    randomization test of Ding, Feller & Miratrix (2016) for idiosyncratic variation.
//! 4. **Surface**: per dimension, split-frequency importance, the best linear projection of the
//!    effect on its levels (HC3), the share of the variance of the estimated effects it explains
//!    (its rank next to the scan's); the systematic / idiosyncratic split (DFM 2019).
//! 5. **Characterize**: quantiles, histogram and share negative (with a band from doubly robust
//!    scores) overall and as a mixture over the levels of the top dimensions; depth-2 subgroup
//!    rules searched on half the units and re-estimated on the other half.
//!
//! The statistics live in `cateye_forest` and `cateye_stats`; this module only wires them to the
//! scan's data and results.

pub mod config;
pub mod pair;
pub mod result;
pub mod rows;
pub mod select;
pub mod summary;

pub use config::{DeepDiveConfig, Selection};
pub use result::*;
pub use select::{select_pairs, SelectedPair, SelectionSummary};
pub use summary::deep_dive_summary;

use crate::config::ScanConfig;
use crate::data::Source;
use crate::error::{Result, ScanError};
use crate::results::ScanResult;
use crate::suffstats::SuffStats;
use std::path::Path;

/// Progress of the deep dive: `(pairs done, pairs in all, pair just started or finished)`.
pub type DeepDiveProgress<'a> = &'a (dyn Fn(DeepDiveEvent) + Sync);

/// What the progress callback hears.
#[derive(Clone, Debug)]
pub enum DeepDiveEvent<'a> {
    /// Reading the rows of `experiments` experiments.
    Loading {
        experiments: usize,
    },
    Started {
        index: usize,
        total: usize,
        pair: &'a SelectedPair,
    },
    Finished {
        index: usize,
        total: usize,
        pair: &'a SelectedPair,
        seconds: f64,
        ok: bool,
    },
}

/// Run the deep dive of `path` (already scanned into `stats` and `result`).
pub fn run_deep_dive(
    path: &Path,
    config: &ScanConfig,
    stats: &SuffStats,
    result: &ScanResult,
    progress: DeepDiveProgress,
) -> Result<DeepDiveReport> {
    let dd = &config.deep_dive;
    let bad = |message: String| ScanError::Config { file: "deep dive settings".into(), message };
    dd.validate().map_err(bad)?;
    let selection = select_pairs(result, dd, config.alpha).map_err(bad)?;
    let mut report = DeepDiveReport { selection, pairs: Vec::new(), failed: Vec::new(), warnings: Vec::new() };
    if report.selection.selected.is_empty() {
        return Ok(report);
    }
    for srm in result.srm.iter().filter(|r| r.mismatch) {
        if report.selection.selected.iter().any(|p| p.experiment == srm.experiment) {
            report.warnings.push(format!(
                "{} has a sample ratio mismatch: its deep dive uses the planned assignment probability as the \
                 propensity, which the mismatch puts in doubt",
                srm.experiment
            ));
        }
    }
    if config.cluster.is_some() {
        report.warnings.push(
            "the deep dive treats units as independently randomized: its forest and tests ignore the cluster column"
                .into(),
        );
    }
    // Experiments and the metrics needed from each, in selection order.
    let mut wanted: Vec<(String, Vec<usize>)> = Vec::new();
    for p in &report.selection.selected {
        let m = stats.metrics.iter().position(|m| m.name == p.metric).expect("metric of the scan");
        match wanted.iter_mut().find(|(e, _)| *e == p.experiment) {
            Some((_, metrics)) if !metrics.contains(&m) => metrics.push(m),
            Some(_) => {}
            None => wanted.push((p.experiment.clone(), vec![m])),
        }
    }
    progress(DeepDiveEvent::Loading { experiments: wanted.len() });
    let source = Source::open(path)?;
    let loaded = rows::load_rows(&source, config, stats, &wanted, &dd.covariates)?;
    let control_code = loaded.arms.iter().position(|a| *a == config.control);
    let total = report.selection.selected.len();
    for (index, pair) in report.selection.selected.iter().enumerate() {
        progress(DeepDiveEvent::Started { index, total, pair });
        let start = std::time::Instant::now();
        let outcome = analyze(&loaded, config, result, pair, control_code);
        let ok = outcome.is_ok();
        match outcome {
            Ok(d) => report.pairs.push(d),
            Err(error) => report.failed.push(FailedPair {
                experiment: pair.experiment.clone(),
                metric: pair.metric.clone(),
                arm: pair.arm.clone(),
                error,
            }),
        }
        progress(DeepDiveEvent::Finished { index, total, pair, seconds: start.elapsed().as_secs_f64(), ok });
    }
    Ok(report)
}

/// The deep dive of one selected pair, or why it could not be done.
fn analyze(
    loaded: &rows::LoadedRows,
    config: &ScanConfig,
    result: &ScanResult,
    pair: &SelectedPair,
    control_code: Option<usize>,
) -> std::result::Result<DeepDive, String> {
    let rows = loaded.experiments.iter().find(|e| e.name == pair.experiment).ok_or("experiment not loaded")?;
    let metric = loaded.layout.metrics.iter().position(|m| m.name == pair.metric).ok_or("metric not loaded")?;
    let arm = loaded.arms.iter().position(|a| *a == pair.arm).ok_or("arm not found")?;
    let control = control_code.ok_or("control arm not found")?;
    let pair_rows = pair::pair_rows(loaded, rows, metric, arm as u32, control as u32)?;
    let propensity = match (
        config.planned_weight(&pair.experiment, &pair.arm),
        config.planned_weight(&pair.experiment, &config.control),
    ) {
        (Some(t), Some(c)) => t / (t + c),
        _ => 0.5,
    };
    pair::analyze_pair(pair, &config.control, &pair_rows, propensity, result, &config.deep_dive, config.alpha)
}
