//! The deep dive's results: the `deep_dive` section of the scan JSON (schema in
//! `docs/scan-schema.md`).

use crate::select::SelectionSummary;
use cateye_hte::{
    AteEstimate, CalibrationTest, Coefficient, EffectDistribution, Mixture, ScoreCalibration, SubgroupRules, TocPoint,
    VariationDecomposition,
};
use cateye_stats::RandomizationTest;
use serde::{Deserialize, Serialize};

/// The deep dive of a scan: which pairs, and each pair's analysis.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeepDiveReport {
    /// Which pairs the scan flagged and which were analysed.
    pub selection: SelectionSummary,
    /// The analyses that succeeded, in selection order.
    pub pairs: Vec<DeepDive>,
    /// Pairs that could not be analysed, with the reason.
    pub failed: Vec<FailedPair>,
    /// Caveats (also printed in the terminal summary).
    pub warnings: Vec<String>,
    /// Selected pairs not analysed yet: positive only in a `scan.json` written while the deep
    /// dive was running (a run interrupted then keeps its tier-1 results and finished pairs).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remaining: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A selected pair whose analysis failed (too few units, a constant outcome, ...).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FailedPair {
    /// Experiment id.
    pub experiment: String,
    /// Metric column.
    pub metric: String,
    /// Label of the treatment arm.
    pub arm: String,
    /// Why the analysis failed.
    pub error: String,
}

/// The analysis of one (experiment, metric, treatment arm) pair.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeepDive {
    /// Experiment id.
    pub experiment: String,
    /// Metric column.
    pub metric: String,
    /// Label of the treatment arm.
    pub arm: String,
    /// Label of the control arm.
    pub control: String,
    /// `flagged` or `requested`.
    pub reason: String,
    /// The scan's tests that flagged the pair, e.g. `detection`, `dimension:country`.
    pub flagged_by: Vec<String>,
    /// Smallest q-value among the pair's detection and dimension tests in the scan.
    pub evidence_q: f64,
    /// The units and forest covariates analysed.
    pub data: PairData,
    /// The causal forest's settings.
    pub forest: ForestSettings,
    /// AIPW average effect from the forest (all units).
    pub ate: AteEstimate,
    /// Whether the effect is heterogeneous.
    pub detect: Detect,
    /// Which dimensions explain the variation.
    pub surface: Surface,
    /// Who gains and who loses.
    pub characterize: Characterize,
    /// Wall-clock seconds: forest (with nuisance), tests, the rest.
    pub seconds: Timings,
}

/// The units analysed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PairData {
    /// Units analysed (treated, control).
    pub units: [usize; 2],
    /// Units excluded because the metric is missing (treated, control).
    pub missing_outcome: [usize; 2],
    /// When the pair had more units than `max_units`: its units with a value (treated,
    /// control), of which a seeded random subsample (`units`, the same share of each arm) was
    /// analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsampled_from: Option<[usize; 2]>,
    /// Assignment probability used as the known propensity (planned split; equal by default).
    pub propensity: f64,
    /// The forest's covariates and their encodings, in column order.
    pub features: Vec<FeatureInfo>,
    /// Missing covariate values replaced by the covariate's mean, per covariate.
    pub imputed: Vec<(String, usize)>,
}

/// A forest covariate and how it was encoded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FeatureInfo {
    /// Column name.
    pub name: String,
    /// `dimension_by_mean_outcome` (categorical levels ranked by the pair's mean outcome, both
    /// arms pooled), `dimension_ordered` (bins in order), `cuped_covariate`, `covariate`.
    pub encoding: String,
    /// Levels present in the pair (dimensions only).
    pub levels: Option<usize>,
}

/// The forest's settings.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForestSettings {
    /// Number of trees.
    pub trees: usize,
    /// Minimum node size used (grf's `min.node.size`).
    pub min_node_size: usize,
    /// Fraction of the units each tree is grown on (grf's `sample.fraction`).
    pub sample_fraction: f64,
    /// Seed of the forest (the deep dive's seed).
    pub seed: u64,
    /// How `E[Y | X]` was estimated for the forest's centering.
    pub outcome_model: String,
}

/// Is the effect heterogeneous?
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Detect {
    /// grf's calibration test on the out-of-bag predictions; the differential coefficient's
    /// one-sided p-value tests for heterogeneity the forest captures.
    pub calibration: CalibrationTest,
    /// RATE with the out-of-bag predictions as priorities.
    pub rate: RateSummary,
    /// Ding, Feller & Miratrix (2016): idiosyncratic variation, adjusted for the covariates;
    /// absent for a two-valued metric.
    pub randomization: Option<RandomizationTest>,
    /// `tested`, or `uninformative_two_valued`: on a metric with two values (binary) a nonzero
    /// average effect cannot be constant across units, so the test's null says nothing.
    pub randomization_status: String,
    /// The verdict: some test rejects after Holm's correction over the tests run (calibration,
    /// RATE, and the randomization test when it is informative), i.e. `p_value ≤ alpha`. Holm
    /// controls the family-wise error over the tests whatever their dependence, so under a
    /// constant effect the pair is called heterogeneous with probability at most `alpha`.
    pub heterogeneous: bool,
    /// The verdict's p-value: the smallest Holm-adjusted p-value of `tests`.
    pub p_value: f64,
    /// The tests behind the verdict, each with its own and its Holm-adjusted p-value.
    pub tests: Vec<VerdictTest>,
    /// The tests whose Holm-adjusted p-value is at most `alpha`, e.g. `calibration`, `rate`,
    /// `randomization`.
    pub significant: Vec<String>,
}

/// One test behind the verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VerdictTest {
    /// `calibration`, `rate` or `randomization`.
    pub test: String,
    /// The test's own p-value.
    pub p_value: f64,
    /// Holm-adjusted over the tests run.
    pub adjusted_p_value: f64,
}

/// AUTOC and Qini with bootstrap SEs and the one-sided p-value of AUTOC > 0.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RateSummary {
    /// AUTOC: the area under the targeting operator characteristic (TOC), in outcome units.
    pub autoc: f64,
    /// Half-sample bootstrap standard error of `autoc`.
    pub autoc_se: f64,
    /// One-sided p-value of `AUTOC > 0` (normal approximation).
    pub autoc_p_value: f64,
    /// Qini: the area under the TOC weighted by the share treated `q`, in outcome units.
    pub qini: f64,
    /// Half-sample bootstrap standard error of `qini`.
    pub qini_se: f64,
    /// The TOC curve at `q = 0.05, 0.10, …, 1` with bootstrap standard errors (absent from
    /// results written before it was recorded).
    #[serde(default)]
    pub toc: Vec<TocPoint>,
}

/// Which dimensions explain the effect variation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Surface {
    /// Ranked by `share_of_cate_variance`, largest first.
    pub dimensions: Vec<DimensionEvidence>,
    /// Importance of the non-dimension covariates (CUPED column, named covariates).
    pub covariates: Vec<(String, f64)>,
    /// Absent when the regression failed (`decomposition_error` says why).
    pub decomposition: Option<VariationDecomposition>,
    /// Why `decomposition` is absent, if it is.
    pub decomposition_error: Option<String>,
    /// Whether the deep dive's top dimension is the scan's top dimension (by explained SD);
    /// a disagreement is information, not an error.
    pub top_agrees_with_scan: Option<bool>,
}

/// One dimension's evidence.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DimensionEvidence {
    /// Dimension name.
    pub dimension: String,
    /// Rank by `share_of_cate_variance` (1 = largest).
    pub rank: usize,
    /// Share of the variance of the forest's estimates explained by the dimension's levels (η²).
    pub share_of_cate_variance: f64,
    /// grf's split-frequency importance.
    pub importance: f64,
    /// The scan's rank of the dimension for this pair (`None` when the scan did not test it, or,
    /// with `tables = parquet`, when it is not flagged: see `dimensions.parquet`).
    pub scan_rank: Option<usize>,
    /// The scan's q-value of the dimension for this pair (`None` as `scan_rank`).
    pub scan_q_value: Option<f64>,
    /// Best linear projection of the effect on the level indicators (HC3): the intercept is the
    /// effect in the reference level, each coefficient the difference from it.
    pub reference_level: String,
    /// The projection's coefficients: the intercept, then one per other level with units.
    pub blp: Vec<Coefficient>,
    /// Why `blp` is empty, if it is.
    pub blp_error: Option<String>,
}

/// Who gains and who loses.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Characterize {
    /// Distribution of the out-of-bag effect estimates over all units.
    pub overall: EffectDistribution,
    /// Calibration of the estimates against doubly robust scores, `Γ = a + b(τ̂ − τ̄)` (HC3).
    pub calibration: ScoreCalibration,
    /// The overall distribution as the mixture of the levels of each top dimension.
    pub by_dimension: Vec<Mixture>,
    /// Absent when the search failed (`subgroups_error` says why, e.g. too many levels).
    pub subgroups: Option<SubgroupRules>,
    /// Whether the rules say more than the average effect: the pair is heterogeneous (the
    /// verdict) and the held-out test of the rules rejects at `alpha`. The verdict gates the
    /// rules (a fixed-sequence procedure: describe only what was detected), so under a constant
    /// effect rules are shown with probability at most `alpha`; the held-out test keeps rules
    /// that merely fit noise off a heterogeneous pair. Reports show the rules only when true.
    #[serde(default)]
    pub rules_hold_out: bool,
    /// Why `subgroups` is absent, if it is.
    pub subgroups_error: Option<String>,
}

/// Wall-clock seconds of the stages.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timings {
    /// Seconds for the features, the outcome model and the causal forest.
    pub forest: f64,
    /// Seconds for the calibration test, RATE and the randomization test.
    pub tests: f64,
    /// Seconds for the surface and characterize stages.
    pub rest: f64,
}
