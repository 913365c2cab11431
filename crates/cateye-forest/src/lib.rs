//! Honest generalized random forests for cateye: a regression forest, a causal forest with
//! bootstrap-of-little-bags confidence intervals, and the analysis tools of grf (AIPW average
//! effects, calibration test, best linear projection, RATE/TOC, variable importance).
//!
//! Where things live:
//! - `binning`: quantile bins of covariates (done once per fit);
//! - `grow`: the split rules (regression, causal with gradient relabeling) and histogram search;
//! - `tree`, `forest`, `sampling`: honest trees, little bags, out-of-bag bookkeeping;
//! - `regression`, `causal`: the two forests and the full causal fit with nuisance models;
//! - `isotonic`: pool-adjacent-violators isotonic regression (for causal isotonic calibration);
//! - `linear`: least squares on sparse level-indicator designs (cross-fitted outcome model);
//! - `analysis`: everything computed from a fitted causal forest, plus the distribution of
//!   estimated effects and the systematic / idiosyncratic decomposition of their variation;
//! - `simulate`: the Nie & Wager (2021) designs used in tests and benchmarks.

pub mod analysis;
pub mod binning;
pub mod causal;
pub mod data;
pub mod error;
pub mod forest;
mod grow;
pub mod isotonic;
pub mod linear;
pub mod ols;
pub mod options;
pub mod regression;
pub mod sampling;
pub mod simulate;
pub mod tree;

pub use causal::{fit_causal_forest, CateEstimates, CausalForest, CausalForestFit, CausalInput, Propensity};
pub use data::{ForestData, DEFAULT_MAX_BINS};
pub use error::{ForestError, Result};
pub use options::ForestOptions;
pub use regression::RegressionForest;
