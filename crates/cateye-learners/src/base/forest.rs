//! The regression forest (Athey, Tibshirani & Wager 2019) as a base learner: honest for final
//! stages, adaptive for nuisance models. The fold's
//! rows keep the full data's bin edges, so the trees route every row of the data.

use super::{check_fit_input, BaseLearner, Fitted, SavedFit, Task};
use crate::data::LearnerData;
use crate::error::Result;
use cateye_forest::{ForestOptions, RegressionForest};
use serde::{Deserialize, Serialize};

/// Regression forest with grf's defaults except the number of trees and, for nuisance models,
/// honesty.
#[derive(Clone, Debug)]
pub struct ForestLearner {
    /// Options of the regression forests it fits.
    pub options: ForestOptions,
}

impl ForestLearner {
    /// The final-stage forest: grf's defaults (honest trees) with `trees` trees and no little
    /// bags (no variance is needed here). Honesty matters in the final stages: adaptive trees
    /// with 5-unit leaves fit the noise of doubly robust pseudo-outcomes, and the DR-learner's
    /// PEHE in Nie & Wager's setup A went from 0.25 to 0.89 without it (n = 2,000).
    pub fn with_trees(trees: usize) -> Self {
        ForestLearner {
            options: ForestOptions::default().with(|c| {
                c.num_trees = trees;
                c.ci_group_size = 1;
            }),
        }
    }

    /// The same forest with nodes of at most `min_node_size` units left unsplit: larger leaves
    /// smooth a final stage's noisy pseudo-outcomes (see `CateConfig::final_min_node_size`).
    pub fn with_min_node_size(mut self, min_node_size: usize) -> Self {
        self.options.min_node_size = min_node_size;
        self
    }

    /// The nuisance forest (μ₀, μ₁, m and the propensity): as [`Self::with_trees`] but adaptive,
    /// every tree's subsample both places the splits and fills the leaves. Cross-fitting already
    /// keeps a row's own outcome out of its nuisance values, so honesty only buys independence
    /// that is not needed, at the price of leaves grown on half the rows: its smoothing bias in
    /// the outcome models and the propensity does not cancel in the doubly robust score. On Nie
    /// & Wager's designs (n = 2,000, 10 replications; honest nuisances with propensities clipped
    /// to [0.01, 0.99], the former defaults, against adaptive ones clipped to [0.05, 0.95]) the
    /// mean score moved from 0.630 to 0.536 in setup A (true ATE 0.498) and from 0.739 to 0.990
    /// in setup C (1.000); the R-learner's PEHE went 0.243 → 0.234 (A) and 0.339 → 0.192 (C),
    /// the DR-learner's 0.464 → 0.313 in C but 0.245 → 0.280 in A. With clipping at 0.01 the
    /// adaptive propensities' extreme weights took the DR-learner's PEHE in A to 0.357; keeping
    /// clipping at 0.01 and growing the propensity forest with larger leaves instead (20 to 50
    /// units) traded bias for variance no better (A: mean score 0.540 to 0.563, DR PEHE 0.305
    /// to 0.263). Adaptive outcome models with an honest propensity forest left most of the bias
    /// (mean score 0.594 in A, 0.860 in C).
    pub fn for_nuisances(trees: usize) -> Self {
        let mut learner = Self::with_trees(trees);
        learner.options.honesty = false;
        learner
    }
}

impl Default for ForestLearner {
    fn default() -> Self {
        Self::with_trees(500)
    }
}

/// A fitted regression forest base learner.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FittedForest {
    forest: RegressionForest,
    /// Prediction for rows no tree reaches (cannot happen with honest pruning, kept as a guard).
    fallback: f64,
}

impl FittedForest {
    /// Checks a model read from a file against `p` covariates.
    pub(crate) fn check(&self, p: usize) -> Result<()> {
        Ok(self.forest.check(p)?)
    }
}

impl Fitted for FittedForest {
    fn predict(&self, data: &LearnerData, rows: &[usize], set: Option<(usize, f64)>) -> Vec<f64> {
        let codes = data.codes(rows, set);
        let mut out = self.forest.predict(&codes, data.num_features());
        for v in &mut out {
            if !v.is_finite() {
                *v = self.fallback;
            }
        }
        out
    }

    fn predict_with_variance(&self, data: &LearnerData, rows: &[usize]) -> Option<Vec<(f64, f64)>> {
        if self.forest.group_size() < 2 {
            return None;
        }
        let codes = data.codes(rows, None);
        let mut out = self.forest.predict_with_variance(&codes, data.num_features());
        for (mean, variance) in &mut out {
            if !mean.is_finite() {
                (*mean, *variance) = (self.fallback, f64::NAN);
            }
        }
        Some(out)
    }

    fn into_saved(self: Box<Self>) -> Option<SavedFit> {
        Some(SavedFit::Forest(*self))
    }
}

impl BaseLearner for ForestLearner {
    fn name(&self) -> &'static str {
        "forest"
    }

    fn fit(
        &self,
        data: &LearnerData,
        rows: &[usize],
        target: &[f64],
        weights: Option<&[f64]>,
        task: Task,
        seed: u64,
    ) -> Result<Box<dyn Fitted>> {
        check_fit_input(rows, target, weights, task)?;
        let subset = data.binned().subset(rows, weights.map(|w| (w, "weights")))?;
        let options = self.options.clone().with(|c| c.seed = seed);
        let forest = if options.ci_group_size >= 2 {
            RegressionForest::fit_with_variance(&subset, target, "target", &options)?
        } else {
            RegressionForest::fit(&subset, target, "target", &options)?
        };
        let (sw, swy) = (0..rows.len()).fold((0.0, 0.0), |(a, b), j| {
            let w = weights.map_or(1.0, |w| w[j]);
            (a + w, b + w * target[j])
        });
        Ok(Box::new(FittedForest { forest, fallback: swy / sw }))
    }

    /// Honest forests only: little bags of two trees give grf's bootstrap-of-little-bags
    /// variance of each prediction (an adaptive forest's would not be valid).
    fn with_intervals(&self, trees: usize) -> Option<Box<dyn BaseLearner>> {
        self.options.honesty.then(|| {
            let options = self.options.clone().with(|c| {
                c.ci_group_size = 2;
                c.num_trees = trees;
            });
            Box::new(ForestLearner { options }) as Box<dyn BaseLearner>
        })
    }
}
