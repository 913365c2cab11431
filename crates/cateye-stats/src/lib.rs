//! Statistics of the cateye scan, free of any I/O: mergeable moments, the tests of one
//! experiment (SRM, average effects with CUPED, variance-ratio detection, heterogeneity across
//! the levels of a dimension) and multiple-testing corrections.
//!
//! | module | computes |
//! |---|---|
//! | [`moments`] | mergeable central moments (the sufficient statistics) |
//! | [`dist`] | normal, Student-t and chi-square tails and quantiles, with large-df guards |
//! | [`effect`] | difference in means (Welch), CUPED, relative lift |
//! | [`cluster`] | cluster-robust (CR1) variance of an arm mean |
//! | [`srm`] | sample-ratio-mismatch chi-square test |
//! | [`variance_ratio`] | detection of effect variation without breakdowns |
//! | [`heterogeneity`] | Cochran's Q and the debiased between-level effect variance |
//! | [`multiple`] | Benjamini–Hochberg, Benjamini–Yekutieli, Holm, Bonferroni |
//! | [`randomization`] | Fisher randomization test of effect variation (Ding, Feller & Miratrix 2016) |
//! | [`rng`] | seeded random streams, one per work item (deterministic whatever the threads) |
//! | [`input`] | the error of an estimator's inputs, and the finiteness check behind it |
//! | [`folds`] | seeded, optionally stratified K-fold assignment for cross-fitting |

pub mod cluster;
pub mod dist;
pub mod effect;
pub mod folds;
pub mod heterogeneity;
pub mod input;
pub mod moments;
pub mod multiple;
pub mod randomization;
pub mod rng;
pub mod srm;
pub mod variance_ratio;

pub use effect::Estimate;
pub use folds::Folds;
pub use input::InputError;
pub use moments::{JointMoments, Moments, PowerSums};

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
pub use multiple::Correction;
