//! Base learners: regressions (and classifiers, for binary targets) that the meta-learners fit on
//! a subset of rows and predict on others. One small trait, three families:
//!
//! - [`forest::ForestLearner`]: grf's regression forest (`cateye-forest`), honest in final
//!   stages and adaptive for nuisances; for a binary target it is a probability forest (the
//!   leaf mean of a 0/1 target);
//! - [`linear::LinearLearner`]: ridge regression with intercept, logistic regression (IRLS)
//!   for binary targets (nalgebra's Cholesky solves the normal equations);
//! - [`boost::BoostLearner`]: histogram gradient boosting on the forest's binning (squared
//!   loss, or logistic loss for binary targets; Friedman 2001, with the second-order leaf values
//!   and gains of Chen & Guestrin 2016).

pub mod boost;
pub mod forest;
pub mod linear;

use crate::data::LearnerData;
use crate::error::Result;
use cateye_stats::UnknownChoice;
use serde::{Deserialize, Serialize};

/// What a base learner estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// `E[target | x]` under squared loss.
    Regression,
    /// `P(target = 1 | x)` for a 0/1 target.
    Classification,
}

/// A model fitted on some rows, predicting any rows of data with the same covariates and
/// binning (the training [`LearnerData`], or new rows binned alike, see
/// [`LearnerData::with_binning`]).
pub trait Fitted: Send + Sync {
    /// Predictions for `rows`; with `set = Some((f, v))` covariate `f` is taken to be `v`.
    fn predict(&self, data: &LearnerData, rows: &[usize], set: Option<(usize, f64)>) -> Vec<f64>;

    /// Predictions for `rows` with their variance, for a model that has one (a regression
    /// forest fitted in little bags); `None` otherwise.
    fn predict_with_variance(&self, _data: &LearnerData, _rows: &[usize]) -> Option<Vec<(f64, f64)>> {
        None
    }

    /// The model in a form that can be saved and loaded. cateye's base learners all have one;
    /// a learner defined elsewhere may not (`None`), and then a CATE model built on it cannot
    /// be kept.
    fn into_saved(self: Box<Self>) -> Option<SavedFit> {
        None
    }
}

/// A fitted base learner that can be saved: one of cateye's three families.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SavedFit {
    /// A regression forest.
    Forest(forest::FittedForest),
    /// Ridge or logistic regression.
    Linear(linear::FittedLinear),
    /// Gradient boosting.
    Boost(boost::FittedBoost),
}

impl SavedFit {
    /// Checks a model read from a file against `p` covariates.
    pub(crate) fn check(&self, p: usize) -> Result<()> {
        match self {
            SavedFit::Forest(f) => f.check(p),
            SavedFit::Linear(f) => f.check(p),
            SavedFit::Boost(f) => f.check(p),
        }
    }

    /// A fitted model from a base learner's fit (an error naming `learner` when it cannot be saved).
    pub(crate) fn from_fitted(fitted: Box<dyn Fitted>, learner: &str) -> Result<Self> {
        fitted
            .into_saved()
            .ok_or_else(|| crate::error::data_error(format!("the base learner '{learner}' cannot be saved in a model")))
    }
}

impl Fitted for SavedFit {
    fn predict(&self, data: &LearnerData, rows: &[usize], set: Option<(usize, f64)>) -> Vec<f64> {
        match self {
            SavedFit::Forest(f) => f.predict(data, rows, set),
            SavedFit::Linear(f) => f.predict(data, rows, set),
            SavedFit::Boost(f) => f.predict(data, rows, set),
        }
    }

    fn predict_with_variance(&self, data: &LearnerData, rows: &[usize]) -> Option<Vec<(f64, f64)>> {
        match self {
            SavedFit::Forest(f) => f.predict_with_variance(data, rows),
            _ => None,
        }
    }
}

/// A regression / classification method.
pub trait BaseLearner: Send + Sync {
    /// Short name used in tables and output ("forest", "linear", "boost").
    fn name(&self) -> &'static str;

    /// Fits `target[j]` (weight `weights[j]`) of row `rows[j]`. `seed` makes randomised fits
    /// reproducible; fits on disjoint folds get different seeds from their callers.
    fn fit(
        &self,
        data: &LearnerData,
        rows: &[usize],
        target: &[f64],
        weights: Option<&[f64]>,
        task: Task,
        seed: u64,
    ) -> Result<Box<dyn Fitted>>;

    /// The same learner made to fit models whose predictions carry a variance, when it can
    /// (an honest forest of `trees` trees in little bags of two); `None` when it cannot.
    fn with_intervals(&self, _trees: usize) -> Option<Box<dyn BaseLearner>> {
        None
    }
}

/// The base learner families, with their default settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum BaseKind {
    /// grf's regression forest (a probability forest for a binary target).
    Forest,
    /// Ridge regression, or logistic regression for a binary target.
    Linear,
    /// Histogram gradient boosting.
    Boost,
}

impl BaseKind {
    /// Every family: forest, linear, boost.
    pub const ALL: [BaseKind; 3] = [BaseKind::Forest, BaseKind::Linear, BaseKind::Boost];

    /// The family's name in options, tables and the command line (`forest`, `linear`, `boost`).
    pub fn name(self) -> &'static str {
        match self {
            BaseKind::Forest => "forest",
            BaseKind::Linear => "linear",
            BaseKind::Boost => "boost",
        }
    }

    /// The learner with default settings (`trees` for the forest), for a final stage.
    pub fn learner(self, trees: usize) -> Box<dyn BaseLearner> {
        match self {
            BaseKind::Forest => Box::new(forest::ForestLearner::with_trees(trees)),
            BaseKind::Linear => Box::new(linear::LinearLearner::default()),
            BaseKind::Boost => Box::new(boost::BoostLearner::default()),
        }
    }

    /// The learner for the cross-fitted nuisance models: as [`Self::learner`] except that the
    /// forest is adaptive (see [`forest::ForestLearner::for_nuisances`]).
    pub fn nuisance_learner(self, trees: usize) -> Box<dyn BaseLearner> {
        match self {
            BaseKind::Forest => Box::new(forest::ForestLearner::for_nuisances(trees)),
            other => other.learner(trees),
        }
    }
}

impl std::str::FromStr for BaseKind {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> std::result::Result<Self, UnknownChoice> {
        BaseKind::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownChoice::new("base learner", s, "forest, linear or boost"))
    }
}

/// Checks the lengths of a fit's inputs and, for classification, that the target is 0/1.
pub(crate) fn check_fit_input(rows: &[usize], target: &[f64], weights: Option<&[f64]>, task: Task) -> Result<()> {
    use crate::error::data_error;
    if rows.is_empty() {
        return Err(data_error("a base learner was given no rows to fit"));
    }
    if target.len() != rows.len() || weights.is_some_and(|w| w.len() != rows.len()) {
        return Err(data_error(format!(
            "a base learner got {} rows but {} targets{}",
            rows.len(),
            target.len(),
            weights.map_or(String::new(), |w| format!(" and {} weights", w.len()))
        )));
    }
    if let Some(j) = target.iter().position(|t| !t.is_finite()) {
        return Err(data_error(format!(
            "target of row {} (1-based) is {}: expected a finite value",
            rows[j] + 1,
            target[j]
        )));
    }
    if task == Task::Classification {
        if let Some(j) = target.iter().position(|&t| t != 0.0 && t != 1.0) {
            return Err(data_error(format!(
                "classification target of row {} (1-based) is {}: expected 0 or 1",
                rows[j] + 1,
                target[j]
            )));
        }
    }
    Ok(())
}
