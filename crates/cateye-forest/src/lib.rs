//! Honest generalized random forests: the grf core of cateye.
//!
//! A regression forest (grf's `regression_forest`) and a causal forest (`causal_forest`, with
//! bootstrap-of-little-bags confidence intervals), their out-of-bag and new-row predictions,
//! split-frequency variable importance, and fitted models that predict new rows and persist.
//! What is computed *from* a fit (average effects, calibration, BLP, RATE, ...) lives in
//! `cateye_hte`, which takes any estimator's fit; [`CausalForestFit::effects`] hands a forest's
//! fit over.
//!
//! Where things live:
//! - `binning`: covariates coded once per fit, fine codes and coarse quantile bins;
//! - `grow`: the split rules (regression, causal with gradient relabeling), histogram search for
//!   large nodes, exact search for small subtrees;
//! - `tree`, `forest`, `sampling`: honest trees, little bags, out-of-bag bookkeeping;
//! - `prefetch`: software prefetches of the gathers by unit index (large data);
//! - `regression`, `causal`: the two forests and the full causal fit with nuisance models;
//! - `importance`: split-frequency variable importance;
//! - `model`: fitted forests with their binning, for prediction and persistence.
#![deny(missing_docs)]

mod binning;
mod causal;
mod data;
mod error;
mod forest;
mod grow;
mod importance;
mod model;
mod options;
mod prefetch;
mod regression;
mod sampling;
pub mod shard;
mod tree;

pub use binning::{BinnedFeatures, Binning, MAX_FINE_BINS, MISSING};
pub use causal::{
    fit_causal_forest, fit_causal_forest_reporting, min_units_per_arm, objective_bayes_debias, CateEstimates,
    CausalForest, CausalForestFit, CausalInput, CausalShards, FitTimings, NuisancePartials, Point, Propensity,
    RowsAndNew,
};
pub use data::{ForestData, DEFAULT_MAX_BINS};
pub use error::{ForestError, InputError, Result};
pub use forest::Trees;
pub use importance::variable_importance;
pub use model::{CausalForestModel, RegressionForestModel};
pub use options::ForestOptions;
pub use regression::RegressionForest;
pub use sampling::Clusters;
pub use tree::{Tree, MAX_FEATURES};
