//! Statistics of the cateye scan, free of any I/O: mergeable moments, the tests of one
//! experiment (SRM, average effects with CUPED, variance-ratio detection, heterogeneity across
//! the levels of a dimension) and multiple-testing corrections, flat or over a tree of tests.
//!
//! | module | computes |
//! |---|---|
//! | `moments` | mergeable central moments (the sufficient statistics) |
//! | `dist` | normal, Student-t and chi-square tails and quantiles, with large-df guards |
//! | `effect` | difference in means (Welch), CUPED, relative lift |
//! | `cluster` | cluster-robust (CR1) variance of an arm mean |
//! | `srm` | sample-ratio-mismatch chi-square test |
//! | `variance_ratio` | detection of effect variation without breakdowns |
//! | `heterogeneity` | Cochran's Q and the debiased between-level effect variance |
//! | `multiple` | Benjamini–Hochberg, Benjamini–Yekutieli, Holm, Bonferroni |
//! | `hierarchy` | hierarchical FDR control over a tree of tests (Yekutieli 2008) |
//! | `randomization` | Fisher randomization test of effect variation (Ding, Feller & Miratrix 2016) |
//! | `rng` | seeded random streams, one per work item (deterministic whatever the threads) |
//! | `input` | the error of an estimator's inputs, and the finiteness check behind it |
//! | `progress` | progress reports of long computations from worker threads |
//! | `folds` | seeded, optionally stratified K-fold assignment for cross-fitting |
#![deny(missing_docs)]

mod cluster;
mod dist;
mod effect;
mod folds;
mod heterogeneity;
mod hierarchy;
mod input;
mod moments;
mod multiple;
mod progress;
mod randomization;
mod rng;
mod srm;
mod variance_ratio;

pub use cluster::ClusterMoments;
pub use dist::{
    chi2_sf, f_sf, normal_quantile, normal_sf, normal_two_sided_p, t_quantile, t_two_sided_p, T_ASYMPTOTIC_DF, Z_975,
};
pub use effect::{cuped_theta, difference, mean_difference, relative_lift, welch_df, with_mean_variances, Estimate};
pub use folds::{Folds, FoldsError};
pub use heterogeneity::{heterogeneity, Heterogeneity, LevelEffect};
pub use hierarchy::{hierarchical_adjust, leaf_fdr_factor, HierarchyError, TREE_FDR_FACTOR, YEKUTIELI_DELTA};
pub use input::{check_finite, check_weights, column_error, option_error, InputError};
pub use moments::{joint_power_table, mixed_row, power_row, ps, JointMoments, MixedPowerSums, Moments, PowerSums};
pub use multiple::{adjust, bonferroni_level, Correction};
pub use progress::{silent, Progress, Ticker};
pub use randomization::{
    randomization_test, randomization_test_reporting, RandomizationError, RandomizationOptions, RandomizationTest,
};
pub use rng::stream;
pub use srm::{srm_test, SrmTest};
pub use variance_ratio::{variance_ratio_test, ArmSpread, VarianceRatioTest};

/// Gives settings types (`#[non_exhaustive]`, so that fields can be added without breaking
/// callers) a chained way to change some fields of their defaults:
/// `ScanConfig::default().with(|c| c.alpha = 0.01)`.
#[macro_export]
macro_rules! settings_with {
    ($($t:ty),* $(,)?) => {$(
        impl $t {
            /// These settings with `edit` applied: `Self::default().with(|c| c.field = value)`.
            pub fn with(mut self, edit: impl FnOnce(&mut Self)) -> Self {
                edit(&mut self);
                self
            }
        }
    )*};
}

/// A word that names none of the choices of an option (a correction, a learner, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}': expected {expected}")]
pub struct UnknownChoice {
    /// What was being chosen, e.g. "multiple-testing correction".
    pub what: &'static str,
    /// The word given.
    pub value: String,
    /// The choices, e.g. "bh, by, holm or bonferroni".
    pub expected: &'static str,
}

impl UnknownChoice {
    /// The error for `value` given as a `what`, which must be one of `expected`.
    pub fn new(what: &'static str, value: &str, expected: &'static str) -> Self {
        UnknownChoice { what, value: value.to_string(), expected }
    }
}
