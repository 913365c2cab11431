//! Conditional average treatment effect (CATE) learners for cateye, on one API:
//!
//! - `base`: the base learners behind one trait ([`base::BaseLearner`]): the regression forest
//!   of `cateye-forest` (honest in final stages, adaptive for nuisances), ridge / logistic
//!   regression, and histogram gradient boosting on the forest's binning; each also classifies
//!   (binary targets).
//! - `nuisance`: cross-fitted outcome models per arm and the propensity (known or estimated,
//!   clipped and reported).
//! - `meta`: the S-, T-, X- (Künzel et al. 2019), R- (Nie & Wager 2021) and DR-learners
//!   (Kennedy 2023), and grf's causal forest, each giving out-of-fold CATE estimates.
//! - `calibrate`: causal isotonic calibration and cross-calibration (van der Laan, Ulloa-Pérez,
//!   Carone & Luedtke 2023).
//! - `select`: R-loss and doubly robust loss on held-out folds, a ranked table of candidates.
//! - `pipeline`: all of it for one outcome and a (multi-arm) treatment: every arm against control.
#![deny(missing_docs)]

mod base;
mod calibrate;
mod data;
mod error;
mod meta;
mod model;
mod nuisance;
mod pipeline;
mod select;

pub use base::boost::{BoostLearner, FittedBoost};
pub use base::forest::{FittedForest, ForestLearner};
pub use base::linear::{FittedLinear, LinearLearner};
pub use base::{BaseKind, BaseLearner, Fitted, SavedFit, Task};
pub use calibrate::{cross_calibrate, default_min_block, fold_held_out_calibration};
pub use cateye_forest::Propensity;
pub use data::LearnerData;
pub use error::{LearnerError, Result};
pub use meta::{causal_forest_cate, meta_learner_cate, Learner, LearnerEstimates, MetaLearner, PairContext};
pub use model::{ArmEstimator, ArmModel, ArmPrediction, CateModel, SavedPropensity};
pub use nuisance::{
    cross_fit, cross_fit_nuisance, CrossFit, CrossFitted, NuisanceNeeds, Nuisances, Pair, PairPropensity,
    PropensityOrigin, PropensitySummary,
};
pub use pipeline::{
    estimate_cate, estimate_cate_reporting, estimate_cate_sampled, ArmReport, CandidateEstimates, CateConfig,
    CateReport, Sampling, StageTime, PURPOSE_FOLDS,
};
pub use select::{dr_loss_terms, r_loss_terms, rank, SelectionLoss, SelectionRow};

/// Root mean squared error of estimated against true effects (PEHE: precision in estimating
/// heterogeneous effects, Hill 2011).
pub fn pehe(estimates: &[f64], truth: &[f64]) -> f64 {
    let n = truth.len().max(1) as f64;
    (estimates.iter().zip(truth).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / n).sqrt()
}
