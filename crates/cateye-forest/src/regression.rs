//! Honest regression forest (grf's `regression_forest`): the prediction at x is the
//! forest-weighted mean of the outcome, `Σ α_i(x) ω_i y_i / Σ α_i(x) ω_i`, with the forest
//! weights of Athey, Tibshirani & Wager (2019, eq. 3). Used for the nuisance models of the
//! causal forest and as a base learner.

use crate::data::ForestData;
use crate::error::{check_finite, ForestError, Result};
use crate::forest::{grow_trees, Trees, NO_LEAF};
use crate::grow::{Kind, SplitRule, Targets};
use crate::options::ForestOptions;
use crate::shard::{finish_regression, RegressionPartial, Shard};
use cateye_stats::{silent, Progress, Ticker};
use serde::{Deserialize, Serialize};

/// A fitted regression forest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RegressionForest {
    trees: Trees<2>,
}

const PURPOSE_REGRESSION: u64 = 1;

impl RegressionForest {
    /// Fits on outcome `y` (named `outcome` in errors); `options.ci_group_size` is ignored (1).
    pub fn fit(data: &ForestData, y: &[f64], outcome: &str, options: &ForestOptions) -> Result<Self> {
        Self::fit_reporting(data, y, outcome, options, &silent)
    }

    /// [`Self::fit`], reporting the trees grown to `progress` (stage "regression forest").
    pub fn fit_reporting(
        data: &ForestData,
        y: &[f64],
        outcome: &str,
        options: &ForestOptions,
        progress: Progress<'_>,
    ) -> Result<Self> {
        let ticker = Ticker::new(progress, "regression forest", options.num_trees as u64);
        Self::fit_with_purpose(data, y, outcome, options, PURPOSE_REGRESSION, &ticker)
    }

    pub(crate) fn fit_with_purpose(
        data: &ForestData,
        y: &[f64],
        outcome: &str,
        options: &ForestOptions,
        purpose: u64,
        ticker: &Ticker<'_>,
    ) -> Result<Self> {
        Self::fit_shard(data, y, outcome, options, purpose, Shard::WHOLE, ticker)
    }

    /// The trees of `shard`'s little bags of the forest [`Self::fit_with_purpose`] grows.
    pub(crate) fn fit_shard(
        data: &ForestData,
        y: &[f64],
        outcome: &str,
        options: &ForestOptions,
        purpose: u64,
        shard: Shard,
        ticker: &Ticker<'_>,
    ) -> Result<Self> {
        let options = ForestOptions { ci_group_size: 1, ..options.clone() };
        options.validate()?;
        shard.check()?;
        check_finite(outcome, y, data.num_rows())?;
        let rule = SplitRule::new(Kind::Regression, &options, data.num_features());
        let weights = &data.weights;
        let targets = Targets { y, z: &[], weight: weights };
        let bags = shard.bags(options.trees_grown());
        let trees =
            grow_trees(data, targets, rule, &options, purpose, bags, |u| [weights[u], weights[u] * y[u]], ticker);
        Ok(RegressionForest { trees })
    }

    /// Out-of-bag prediction for every training row (NaN for a row that every tree holds in
    /// bag); an error for a forest read from a file, which does not keep its in-bag samples.
    pub fn predict_oob(&self, data: &ForestData) -> Result<Vec<f64>> {
        Ok(self.oob_partials(data)?.iter().map(finish_regression).collect())
    }

    /// The out-of-bag sums of every training row over this forest's trees (see
    /// [`crate::shard`]): what a shard of the forest contributes to [`Self::predict_oob`].
    pub fn oob_partials(&self, data: &ForestData) -> Result<Vec<RegressionPartial>> {
        if !self.trees.has_in_bag() {
            return Err(ForestError::NoInBagSamples);
        }
        let cluster = |i: usize| data.clusters.cluster_of(i);
        Ok(self.trees.predict_blocks(
            data.num_rows(),
            |i| data.features.row(i),
            Some(&cluster),
            |_, l, b, out| self.partial_block(l, b, out),
        ))
    }

    /// Predictions for new rows binned with `ForestData::bin_new_rows`.
    pub fn predict(&self, rows: &[u16], num_features: usize) -> Vec<f64> {
        let n = rows.len() / num_features.max(1);
        let row = |i: usize| &rows[i * num_features..(i + 1) * num_features];
        let partials = self.trees.predict_blocks(n, row, None, |_, l, b, out| self.partial_block(l, b, out));
        partials.iter().map(finish_regression).collect()
    }

    /// `[Σ_t leaf ω, Σ_t leaf ωy]` per row over the trees that predict it.
    fn partial_block(&self, leaves: &[u32], b: usize, out: &mut Vec<RegressionPartial>) {
        let start = out.len();
        out.resize(start + b, RegressionPartial::default());
        let sums = &mut out[start..];
        for (t, tree) in self.trees.trees.iter().enumerate() {
            for (s, &leaf) in leaves[t * b..(t + 1) * b].iter().enumerate() {
                if leaf != NO_LEAF {
                    let v = &tree.leaves[leaf as usize];
                    sums[s][0].add(v[0]);
                    sums[s][1].add(v[1]);
                }
            }
        }
    }

    /// The fitted trees (what split-frequency importance reads).
    pub fn trees(&self) -> &Trees<2> {
        &self.trees
    }

    /// Checks a forest read from a file against `p` covariates (every tree's structure).
    pub fn check(&self, p: usize) -> Result<()> {
        self.trees.check(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cateye_sim::randomized_trial;

    #[test]
    fn out_of_bag_predictions_recover_a_smooth_mean() {
        // y = x2 + x3 + (w − 0.5)(1 + (x1 − 0.5)) + N(0, 1): regress y on x (w ignored) → E[y|x] = x2 + x3.
        let sim = randomized_trial(4000, 3, 1.0, 1.0, 1.0, 8);
        let data = ForestData::new(&sim.columns(), &sim.names(), 256).unwrap();
        let forest =
            RegressionForest::fit(&data, &sim.y, "y", &ForestOptions { num_trees: 300, ..ForestOptions::default() })
                .unwrap();
        let oob = forest.predict_oob(&data).unwrap();
        let truth: Vec<f64> = (0..4000).map(|i| sim.x[1][i] + sim.x[2][i]).collect();
        let rmse = (oob.iter().zip(&truth).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / 4000.0).sqrt();
        // The mean's SD is 0.41; a forest with noise SD 1 at n = 4000 gets well under half of it.
        assert!(rmse < 0.2, "OOB RMSE {rmse}");
        // New data: predictions use all trees and follow the signal.
        let grid: Vec<f64> = vec![0.1, 0.5, 0.9];
        let rows = data.bin_new_rows(&[&[0.5, 0.5, 0.5], &grid, &grid]).unwrap();
        let p = forest.predict(&rows, 3);
        assert!(p[0] < p[1] && p[1] < p[2], "{p:?}");
        assert!((p[2] - p[0] - 1.6).abs() < 0.5, "{p:?}");
    }
}
