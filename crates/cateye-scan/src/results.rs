//! The scan's results: the documented JSON schema (see `docs/scan-schema.md`) as Rust types.

use crate::suffstats::MetricInfo;
use cateye_stats::Heterogeneity;
use cateye_stats::SrmTest;
use cateye_stats::VarianceRatioTest;
use cateye_stats::{Correction, Estimate};
use serde::{Deserialize, Serialize};

/// Version of the JSON schema; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a scan computes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScanResult {
    pub schema_version: u32,
    pub input: InputSummary,
    pub settings: Settings,
    /// One row per experiment.
    pub srm: Vec<SrmRow>,
    /// One row per experiment × metric × treatment arm.
    pub effects: Vec<EffectRow>,
    /// One row per experiment × metric × treatment arm.
    pub detection: Vec<DetectionRow>,
    /// One row per experiment × metric × treatment arm × dimension.
    pub dimensions: Vec<DimensionRow>,
    /// Significant heterogeneity, strongest evidence first.
    pub findings: Vec<Finding>,
}

/// What was read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputSummary {
    pub source: Option<String>,
    pub rows: u64,
    /// Rows whose experiment or variant is null: not analysed.
    pub rows_skipped: u64,
    pub experiments: usize,
    pub metrics: Vec<MetricInfo>,
    pub dimensions: Vec<DimensionSummary>,
    /// Caveats the user must know about (also printed in the terminal summary).
    pub warnings: Vec<String>,
}

/// A dimension as analysed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DimensionSummary {
    pub name: String,
    pub kind: cateye_io::DimensionKind,
    pub levels: usize,
    pub edges: Option<Vec<f64>>,
}

/// The statistical settings of the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub alpha: f64,
    pub confidence: f64,
    pub correction: Correction,
    pub srm_alpha: f64,
    pub min_units_per_arm: usize,
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
pub struct SrmRow {
    pub experiment: String,
    pub arms: Vec<String>,
    pub units: Vec<f64>,
    /// Planned share of each arm.
    pub planned: Vec<f64>,
    pub test: Option<SrmTest>,
    /// Adjusted across experiments (for triage when many experiments are scanned).
    pub q_value: f64,
    /// `p_value ≤ srm_alpha` (uncorrected: a per-experiment validity check).
    pub mismatch: bool,
}

/// CUPED-adjusted effect.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CupedEffect {
    /// Covariate column.
    pub covariate: String,
    /// Pooled within-arm slope.
    pub theta: f64,
    /// Units whose covariate was missing and imputed (treatment, control).
    pub pre_imputed: [f64; 2],
    pub ate: Estimate,
    pub lift: Estimate,
    /// `1 − Var(adjusted)/Var(raw)` of the ATE.
    pub variance_reduction: f64,
}

/// Average effect of one arm on one metric.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EffectRow {
    pub experiment: String,
    pub metric: String,
    pub arm: String,
    pub control: String,
    /// Units with a value (treatment, control).
    pub n: [f64; 2],
    /// Units with a missing value, excluded (treatment, control).
    pub missing: [f64; 2],
    pub mean: [f64; 2],
    pub binary: bool,
    pub ate: Estimate,
    pub lift: Estimate,
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
pub struct DetectionRow {
    pub experiment: String,
    pub metric: String,
    pub arm: String,
    /// `tested`, `uninformative_two_valued` (the variance of a metric with at most two values,
    /// e.g. a binary one, is fixed by its mean) or `insufficient_data`.
    pub status: String,
    /// `cuped_residual` or `outcome`.
    pub on: String,
    pub test: Option<VarianceRatioTest>,
    pub q_value: f64,
}

/// The effect in one level (or the pooled `other` level) of a dimension.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LevelEffectRow {
    pub level: String,
    /// The levels pooled into this one (only for `other`).
    pub pooled_from: Vec<String>,
    /// Units with a value (treatment, control).
    pub n: [f64; 2],
    pub effect: f64,
    pub se: f64,
}

/// Heterogeneity of one arm's effect on one metric across the levels of one dimension.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DimensionRow {
    pub experiment: String,
    pub metric: String,
    pub arm: String,
    pub dimension: String,
    /// Whether the level effects are CUPED-adjusted.
    pub cuped: bool,
    pub levels: Vec<LevelEffectRow>,
    /// Levels with fewer than `min_units_per_arm` valued units in either compared arm, pooled
    /// into `other`.
    pub pooled: Vec<String>,
    /// Levels left out of the test: fewer than two valued units in an arm, or no variation.
    pub excluded: Vec<String>,
    pub test: Option<Heterogeneity>,
    /// `√V̂`: standard deviation of the effect across levels explained by this dimension.
    pub explained_sd: f64,
    /// Adjusted p-value across the whole dimension family.
    pub q_value: f64,
    /// Rank of the dimension by explained variance within its experiment × metric × arm (1 = most).
    pub rank: usize,
    pub flagged: bool,
}

/// A level whose effect departs from the dimension's average effect.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LevelDeviation {
    pub level: String,
    pub effect: f64,
    pub se: f64,
    /// `effect − average effect` (unit-share weighted).
    pub deviation: f64,
}

/// A significant finding.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    /// `dimension`: a dimension explains heterogeneity; `unexplained`: the variance-ratio test
    /// detects heterogeneity but no dimension is flagged.
    pub kind: String,
    pub experiment: String,
    pub metric: String,
    pub arm: String,
    pub dimension: Option<String>,
    pub q_value: f64,
    pub p_value: f64,
    pub explained_sd: Option<f64>,
    pub average_effect: f64,
    pub levels: Vec<LevelDeviation>,
}
