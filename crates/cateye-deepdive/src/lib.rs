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
#[non_exhaustive]
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
    /// Progress inside the pair being analysed: a stage ("causal forest" trees,
    /// "permutations") with the work done and the work in all.
    Progress {
        /// The stage.
        stage: &'a str,
        /// Work done in it.
        done: u64,
        /// Work in all.
        total: u64,
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

/// What the deep dive will do: the selected pairs with the report's warnings (no pair
/// analysed yet), and the experiments and metrics whose rows it needs.
#[derive(Clone, Debug)]
pub struct DeepDivePlan {
    /// The report so far: the selection and the warnings; pairs are added as they finish.
    pub report: DeepDiveReport,
    /// Experiments and the metrics needed from each, in selection order.
    wanted: Vec<(String, Vec<usize>)>,
}

impl DeepDivePlan {
    /// Number of experiments whose rows are read.
    pub fn experiments(&self) -> usize {
        self.wanted.len()
    }
}

/// The unit-level rows the deep dive reads once for all its pairs.
pub use rows::LoadedRows;

/// Chooses the pairs (see [`select_pairs`]) and the rows they need; no data is read.
pub fn plan_deep_dive(
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    stats: &SuffStats,
    result: &ScanResult,
) -> Result<DeepDivePlan> {
    dd.validate()?;
    let selection = select_pairs(result, dd, config.alpha)?;
    let remaining = selection.selected.len();
    let mut report =
        DeepDiveReport { selection, pairs: Vec::new(), failed: Vec::new(), warnings: Vec::new(), remaining };
    for srm in result.srm.iter().filter(|r| r.mismatch) {
        if report.selection.selected.iter().any(|p| p.experiment == srm.experiment) {
            report.warnings.push(format!(
                "{} has a sample ratio mismatch: its deep dive uses the planned assignment probability as the \
                 propensity, which the mismatch puts in doubt",
                srm.experiment
            ));
        }
    }
    if config.cluster.is_some() && !report.selection.selected.is_empty() {
        report.warnings.push(
            "the deep dive treats units as independently randomized: its forest and tests ignore the cluster column"
                .into(),
        );
    }
    let mut wanted: Vec<(String, Vec<usize>)> = Vec::new();
    for p in &report.selection.selected {
        let m = stats.metrics.iter().position(|m| m.name == p.metric).expect("metric of the scan");
        match wanted.iter_mut().find(|(e, _)| *e == p.experiment) {
            Some((_, metrics)) if !metrics.contains(&m) => metrics.push(m),
            Some(_) => {}
            None => wanted.push((p.experiment.clone(), vec![m])),
        }
    }
    Ok(DeepDivePlan { report, wanted })
}

/// Reads the rows the plan's pairs need from `source` (one pass).
pub fn load_pairs(
    source: &Source,
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    stats: &SuffStats,
    plan: &DeepDivePlan,
) -> Result<LoadedRows> {
    rows::load_rows(source, config, stats, &plan.wanted, &dd.covariates)
}

/// Runs the deep dive of pair `index` of the plan on the loaded rows and records the outcome
/// (the pair's results, or why it failed) in `plan.report`. `progress` hears the stages inside
/// the pair ("causal forest" trees, "permutations").
pub fn run_pair(
    plan: &mut DeepDivePlan,
    index: usize,
    loaded: &LoadedRows,
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    result: &ScanResult,
    progress: cateye_stats::Progress<'_>,
) -> bool {
    plan.report.remaining = plan.report.remaining.saturating_sub(1);
    let pair = &plan.report.selection.selected[index];
    let control_code = loaded.arms.iter().position(|a| *a == config.control);
    match analyze(loaded, config, dd, result, pair, control_code, progress) {
        Ok(d) => {
            plan.report.pairs.push(d);
            true
        }
        Err(error) => {
            plan.report.failed.push(FailedPair {
                experiment: pair.experiment.clone(),
                metric: pair.metric.clone(),
                arm: pair.arm.clone(),
                error: error.to_string(),
            });
            false
        }
    }
}

/// Run the deep dive of the unit-level rows of `source` (already scanned into `stats` and
/// `result` under `config`) with the settings `dd`: [`plan_deep_dive`], [`load_pairs`] and
/// [`run_pair`] for every selected pair.
pub fn run_deep_dive(
    source: &Source,
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    stats: &SuffStats,
    result: &ScanResult,
    progress: DeepDiveProgress<'_>,
) -> Result<DeepDiveReport> {
    run_deep_dive_saving(source, config, dd, stats, result, progress, |_| Ok(()))
}

/// [`run_deep_dive`], handing the report to `save` once the pairs are chosen (before any row is
/// read) and again after every pair, so that an interrupted run keeps what was finished. An
/// error of `save` stops the deep dive.
pub fn run_deep_dive_saving<E: From<DeepDiveError>>(
    source: &Source,
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    stats: &SuffStats,
    result: &ScanResult,
    progress: DeepDiveProgress<'_>,
    mut save: impl FnMut(&DeepDiveReport) -> std::result::Result<(), E>,
) -> std::result::Result<DeepDiveReport, E> {
    let mut plan = plan_deep_dive(config, dd, stats, result)?;
    save(&plan.report)?;
    if plan.report.selection.selected.is_empty() {
        return Ok(plan.report);
    }
    progress(DeepDiveEvent::Loading { experiments: plan.experiments() });
    let loaded = load_pairs(source, config, dd, stats, &plan)?;
    let total = plan.report.selection.selected.len();
    for index in 0..total {
        let pair = plan.report.selection.selected[index].clone();
        progress(DeepDiveEvent::Started { index, total, pair: &pair });
        let start = std::time::Instant::now();
        let stage = |stage: &str, done: u64, all: u64| progress(DeepDiveEvent::Progress { stage, done, total: all });
        let ok = run_pair(&mut plan, index, &loaded, config, dd, result, &stage);
        // Saved before it is announced: a pair reported finished is on disk.
        save(&plan.report)?;
        progress(DeepDiveEvent::Finished { index, total, pair: &pair, seconds: start.elapsed().as_secs_f64(), ok });
    }
    Ok(plan.report)
}

/// The deep dive of one selected pair, or why it could not be done.
fn analyze(
    loaded: &LoadedRows,
    config: &ScanConfig,
    dd: &DeepDiveConfig,
    result: &ScanResult,
    pair: &SelectedPair,
    control_code: Option<usize>,
    progress: cateye_stats::Progress<'_>,
) -> std::result::Result<DeepDive, PairError> {
    let rows =
        loaded.experiments.iter().find(|e| e.name == pair.experiment).ok_or(PairError::NotLoaded("experiment"))?;
    let metric =
        loaded.layout.metrics.iter().position(|m| m.name == pair.metric).ok_or(PairError::NotLoaded("metric"))?;
    let arm = loaded.arms.iter().position(|a| *a == pair.arm).ok_or(PairError::NotLoaded("arm"))?;
    let control = control_code.ok_or(PairError::NotLoaded("control arm"))?;
    let pair_rows = pair::pair_rows(loaded, rows, metric, arm as u32, control as u32, pair, dd)?;
    let propensity = match (
        config.planned_weight(&pair.experiment, &pair.arm),
        config.planned_weight(&pair.experiment, &config.control),
    ) {
        (Some(t), Some(c)) => t / (t + c),
        _ => 0.5,
    };
    pair::analyze_pair(pair, &pair_rows, propensity, result, config, dd, progress)
}
