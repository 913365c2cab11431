//! Tier 2 of the scan: the deep dive of flagged (experiment, metric, treatment arm) pairs.
//!
//! The scan tests pre-chosen breakdowns one at a time from sufficient statistics; the deep dive
//! reads the unit-level rows of a pair again and explains its heterogeneity as a whole:
//!
//! 1. **Select** ([`select_pairs`]): the pairs the scan flags, strongest evidence first, capped
//!    (`--deep-dive all|none|N`, default 20), plus pairs the user names.
//! 2. **Features** (`pair`): every dimension becomes one forest covariate — categorical levels
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
//! The statistics live in `cateye_forest`, `cateye_hte` and `cateye_stats`; this crate wires
//! them to the scan's data and results.
#![deny(missing_docs)]

mod config;
mod error;
mod pair;
mod result;
mod rows;
mod select;

pub use config::{DeepDiveConfig, Selection};
pub use error::{DeepDiveError, PairError, Result};
pub use result::{
    Characterize, DeepDive, DeepDiveReport, Detect, DimensionEvidence, FailedPair, FeatureInfo, ForestSettings,
    PairData, RateSummary, Surface, Timings,
};
pub use select::{select_pairs, SelectedPair, SelectionSummary};

use cateye_io::Source;
use cateye_scan::{ScanConfig, ScanResult, SuffStats};

/// Progress of the deep dive: `(pairs done, pairs in all, pair just started or finished)`.
pub type DeepDiveProgress<'a> = &'a (dyn Fn(DeepDiveEvent) + Sync);

/// What the progress callback hears.
#[derive(Clone, Debug)]
pub enum DeepDiveEvent<'a> {
    /// Reading the rows of `experiments` experiments.
    Loading {
        /// Number of experiments whose rows are read.
        experiments: usize,
    },
    /// The analysis of a pair begins.
    Started {
        /// Position of the pair in the selection, from 0.
        index: usize,
        /// Number of pairs selected.
        total: usize,
        /// The pair being analysed.
        pair: &'a SelectedPair,
    },
    /// The analysis of a pair ended, successfully or not.
    Finished {
        /// Position of the pair in the selection, from 0.
        index: usize,
        /// Number of pairs selected.
        total: usize,
        /// The pair being analysed.
        pair: &'a SelectedPair,
        /// Wall-clock seconds the pair took.
        seconds: f64,
        /// Whether the analysis succeeded (a failure is listed in `DeepDiveReport::failed`).
        ok: bool,
    },
}

/// Run the deep dive of the unit-level rows of `source` (already scanned into `stats` and
/// `result` under `config`) with the settings `dd`.
pub fn run_deep_dive(
    source: &Source,
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    stats: &SuffStats,
    result: &ScanResult,
    progress: DeepDiveProgress<'_>,
) -> Result<DeepDiveReport> {
    dd.validate()?;
    let selection = select_pairs(result, dd, config.alpha)?;
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
    let loaded = rows::load_rows(source, config, stats, &wanted, &dd.covariates)?;
    let control_code = loaded.arms.iter().position(|a| *a == config.control);
    let total = report.selection.selected.len();
    for (index, pair) in report.selection.selected.iter().enumerate() {
        progress(DeepDiveEvent::Started { index, total, pair });
        let start = std::time::Instant::now();
        let outcome = analyze(&loaded, config, dd, result, pair, control_code);
        let ok = outcome.is_ok();
        match outcome {
            Ok(d) => report.pairs.push(d),
            Err(error) => report.failed.push(FailedPair {
                experiment: pair.experiment.clone(),
                metric: pair.metric.clone(),
                arm: pair.arm.clone(),
                error: error.to_string(),
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
    dd: &DeepDiveConfig,
    result: &ScanResult,
    pair: &SelectedPair,
    control_code: Option<usize>,
) -> std::result::Result<DeepDive, PairError> {
    let rows =
        loaded.experiments.iter().find(|e| e.name == pair.experiment).ok_or(PairError::NotLoaded("experiment"))?;
    let metric =
        loaded.layout.metrics.iter().position(|m| m.name == pair.metric).ok_or(PairError::NotLoaded("metric"))?;
    let arm = loaded.arms.iter().position(|a| *a == pair.arm).ok_or(PairError::NotLoaded("arm"))?;
    let control = control_code.ok_or(PairError::NotLoaded("control arm"))?;
    let pair_rows = pair::pair_rows(loaded, rows, metric, arm as u32, control as u32)?;
    let propensity = match (
        config.planned_weight(&pair.experiment, &pair.arm),
        config.planned_weight(&pair.experiment, &config.control),
    ) {
        (Some(t), Some(c)) => t / (t + c),
        _ => 0.5,
    };
    pair::analyze_pair(pair, &config.control, &pair_rows, propensity, result, dd, config.alpha)
}
