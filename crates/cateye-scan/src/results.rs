//! The scan's results: the documented JSON schema (see `docs/scan-schema.md`) as Rust types.

use crate::suffstats::MetricInfo;
use cateye_stats::Heterogeneity;
use cateye_stats::SrmTest;
use cateye_stats::VarianceRatioTest;
use cateye_stats::{Correction, Estimate};
use serde::{Deserialize, Serialize};

/// Version of the JSON schema; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 2;

/// Everything a scan computes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScanResult {
    /// [`SCHEMA_VERSION`] of the document.
    pub schema_version: u32,
    /// What was read.
    pub input: InputSummary,
    /// Statistical settings of the run.
    pub settings: Settings,
    /// One row per experiment.
    pub srm: Vec<SrmRow>,
    /// One row per experiment × metric × treatment arm.
    pub effects: Vec<EffectRow>,
    /// One row per experiment × metric × treatment arm.
    pub detection: Vec<DetectionRow>,
    /// One row per experiment × metric × treatment arm × dimension (with `tables = parquet`,
    /// the flagged ones; every row is in `dimensions.parquet`).
    pub dimensions: Vec<DimensionRow>,
    /// Counts over every dimension row, whether listed in `dimensions` or not.
    #[serde(default)]
    pub dimension_counts: DimensionCounts,
    /// Significant heterogeneity, strongest evidence first.
    pub findings: Vec<Finding>,
}

/// Counts over all the dimension rows of a scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DimensionCounts {
    /// Rows (experiment × metric × arm × dimension).
    pub rows: usize,
    /// Rows with a test (at least two levels with data).
    pub tested: usize,
    /// Rows where small levels were pooled into `other`.
    pub pooled: usize,
    /// Rows flagged after the correction.
    pub flagged: usize,
}

/// What was read.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputSummary {
    /// Label of the input scanned, when the caller names one.
    pub source: Option<String>,
    /// Rows read.
    pub rows: u64,
    /// Rows whose experiment or variant is null: not analysed.
    pub rows_skipped: u64,
    /// Number of experiments analysed.
    pub experiments: usize,
    /// Metric columns and their pre-period (CUPED) columns.
    pub metrics: Vec<MetricInfo>,
    /// Dimensions as analysed.
    pub dimensions: Vec<DimensionSummary>,
    /// Caveats the user must know about (also printed in the terminal summary).
    pub warnings: Vec<String>,
}

/// A dimension as analysed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DimensionSummary {
    /// Name of the dimension column.
    pub name: String,
    /// Categorical or binned.
    pub kind: cateye_io::DimensionKind,
    /// Number of levels (bins for a binned dimension), before pooling.
    pub levels: usize,
    /// Bin edges of a binned dimension (bins are `[e_{k−1}, e_k)`); `None` for a categorical one.
    pub edges: Option<Vec<f64>>,
}

/// The statistical settings of the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Settings {
    /// Significance level of findings, applied to q-values (after correction).
    pub alpha: f64,
    /// Two-sided confidence level of intervals.
    pub confidence: f64,
    /// Multiple-testing correction applied within each family of tests.
    pub correction: Correction,
    /// Uncorrected p-value at or below which an experiment's SRM is an alert.
    pub srm_alpha: f64,
    /// Uncorrected p-value at or below which (above `srm_alpha`) it is a warning.
    #[serde(default = "default_srm_warning")]
    pub srm_warning: f64,
    /// Levels with fewer valued units than this in either compared arm are pooled into `other`.
    pub min_units_per_arm: usize,
    /// `csv`: `dimensions` holds every dimension row; `parquet`: the flagged ones (every row is in
    /// `dimensions.parquet` and `levels.parquet`).
    #[serde(default)]
    pub tables: crate::config::Tables,
}

fn default_srm_warning() -> f64 {
    0.05
}

impl Settings {
    /// The normal quantile of the two-sided confidence level: an interval is the estimate ± this
    /// many standard errors.
    pub fn z(&self) -> f64 {
        cateye_stats::normal_quantile(0.5 + self.confidence / 2.0)
    }
}

/// Sample ratio mismatch test of one experiment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SrmRow {
    /// Experiment id.
    pub experiment: String,
    /// Arm labels, control first, then arms of the planned split that have no unit.
    pub arms: Vec<String>,
    /// Units per arm.
    pub units: Vec<f64>,
    /// Planned share of each arm.
    pub planned: Vec<f64>,
    /// Pearson χ² goodness-of-fit test; `None` with fewer than two arms.
    pub test: Option<SrmTest>,
    /// Adjusted across experiments (for triage when many experiments are scanned).
    pub q_value: f64,
    /// Alert: `p_value ≤ srm_alpha` (uncorrected: a per-experiment validity check); the
    /// experiment's effects are not trustworthy.
    pub mismatch: bool,
    /// Warning: `srm_alpha < p_value ≤ srm_warning`; worth a look, not a verdict.
    #[serde(default)]
    pub warning: bool,
}

/// CUPED-adjusted effect.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CupedEffect {
    /// Covariate column.
    pub covariate: String,
    /// Pooled within-arm slope.
    pub theta: f64,
    /// Units whose covariate was missing and imputed (treatment, control).
    pub pre_imputed: [f64; 2],
    /// Difference in means of `y − θ (x − x̄)`.
    pub ate: Estimate,
    /// Relative lift of the adjusted means, delta-method SE, normal interval.
    pub lift: Estimate,
    /// `1 − Var(adjusted)/Var(raw)` of the ATE.
    pub variance_reduction: f64,
}

/// Average effect of one arm on one metric.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EffectRow {
    /// Experiment id.
    pub experiment: String,
    /// Metric name.
    pub metric: String,
    /// Treatment arm compared with control.
    pub arm: String,
    /// Control arm.
    pub control: String,
    /// Units with a value (treatment, control).
    pub n: [f64; 2],
    /// Units with a missing value, excluded (treatment, control).
    pub missing: [f64; 2],
    /// Arm means of the metric (treatment, control).
    pub mean: [f64; 2],
    /// Whether every value of the metric in the two arms is 0 or 1.
    pub binary: bool,
    /// Difference in means with a t interval: Welch SE and df (Welch 1947), or CR1 SE with
    /// `G_t + G_c − 2` df when `cluster_robust`.
    pub ate: Estimate,
    /// Relative lift `mean_t / mean_c − 1`, delta-method SE, normal interval.
    pub lift: Estimate,
    /// CUPED-adjusted effect; `None` without a pre-period column or covariate variance.
    pub cuped: Option<CupedEffect>,
    /// Whether the standard errors of `ate`, `lift` and `cuped` are cluster-robust (CR1).
    pub cluster_robust: bool,
    /// Randomization clusters (treatment, control) when cluster-robust.
    pub clusters: Option<[f64; 2]>,
    /// Adjusted p-value of the primary estimate (CUPED when available) across all effects.
    pub q_value: f64,
}

/// Variance-ratio detection of effect variation for one arm and metric.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DetectionRow {
    /// Experiment id.
    pub experiment: String,
    /// Metric name.
    pub metric: String,
    /// Treatment arm compared with control.
    pub arm: String,
    /// `tested`, `uninformative_two_valued` (the variance of a metric with at most two values,
    /// e.g. a binary one, is fixed by its mean) or `insufficient_data`.
    pub status: String,
    /// `cuped_residual` or `outcome`.
    pub on: String,
    /// Variance-ratio test; `None` unless `status` is `tested`.
    pub test: Option<VarianceRatioTest>,
    /// Adjusted p-value across all detection tests.
    pub q_value: f64,
}

/// The effect in one level (or the pooled `other` level) of a dimension.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LevelEffectRow {
    /// Level label, or `other`.
    pub level: String,
    /// The levels pooled into this one (only for `other`).
    pub pooled_from: Vec<String>,
    /// Units with a value (treatment, control).
    pub n: [f64; 2],
    /// Difference in means in the level (CUPED-adjusted with the experiment's `θ` when available).
    pub effect: f64,
    /// Welch standard error of `effect`.
    pub se: f64,
}

/// Heterogeneity of one arm's effect on one metric across the levels of one dimension.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DimensionRow {
    /// Experiment id.
    pub experiment: String,
    /// Metric name.
    pub metric: String,
    /// Treatment arm compared with control.
    pub arm: String,
    /// Dimension name.
    pub dimension: String,
    /// Whether the level effects are CUPED-adjusted.
    pub cuped: bool,
    /// Effects of the levels that entered the test (`other` last when present).
    pub levels: Vec<LevelEffectRow>,
    /// Levels with fewer than `min_units_per_arm` valued units in either compared arm, pooled
    /// into `other`.
    pub pooled: Vec<String>,
    /// Levels left out of the test: fewer than two valued units in an arm, or no variation.
    pub excluded: Vec<String>,
    /// Cochran's Q (1954) and the debiased between-level variance; `None` with fewer than two levels.
    pub test: Option<Heterogeneity>,
    /// `√V̂`: standard deviation of the effect across levels explained by this dimension.
    pub explained_sd: f64,
    /// Adjusted p-value across the whole dimension family.
    pub q_value: f64,
    /// Rank of the dimension by explained variance within its experiment × metric × arm (1 = most).
    pub rank: usize,
    /// `q_value ≤ alpha`.
    pub flagged: bool,
}

/// A level whose effect departs from the dimension's average effect.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LevelDeviation {
    /// Level label.
    pub level: String,
    /// Effect in the level.
    pub effect: f64,
    /// Standard error of `effect`.
    pub se: f64,
    /// `effect − average effect` (unit-share weighted).
    pub deviation: f64,
}

/// A significant finding.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// `dimension`: a dimension explains heterogeneity; `unexplained`: the variance-ratio test
    /// detects heterogeneity but no dimension is flagged.
    pub kind: String,
    /// Experiment id.
    pub experiment: String,
    /// Metric name.
    pub metric: String,
    /// Treatment arm compared with control.
    pub arm: String,
    /// The flagged dimension; `None` for `unexplained`.
    pub dimension: Option<String>,
    /// Adjusted p-value of the underlying test.
    pub q_value: f64,
    /// Unadjusted p-value of the underlying test.
    pub p_value: f64,
    /// `√V̂` of the dimension, in the metric's units; `None` for `unexplained`.
    pub explained_sd: Option<f64>,
    /// Unit-share weighted mean of the level effects `τ̂_π` (NaN for `unexplained`).
    pub average_effect: f64,
    /// Up to four levels departing most from `average_effect`, in standard errors, largest first.
    pub levels: Vec<LevelDeviation>,
}
