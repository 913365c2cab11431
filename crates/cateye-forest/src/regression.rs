//! Honest regression forest (grf's `regression_forest`): the prediction at x is the
//! forest-weighted mean of the outcome, `Σ α_i(x) ω_i y_i / Σ α_i(x) ω_i`, with the forest
//! weights of Athey, Tibshirani & Wager (2019, eq. 3). Used for the nuisance models of the
//! causal forest and as a base learner. Fitted in little bags ([`RegressionForest::fit_with_variance`]),
//! its predictions carry grf's bootstrap-of-little-bags variance (Athey, Tibshirani & Wager 2019,
//! §4; grf's `RegressionPredictionStrategy::compute_variance`).

use crate::causal::objective_bayes_debias;
use crate::data::ForestData;
use crate::error::{check_finite, option_error, ForestError, Result};
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

    /// Fits in little bags of `options.ci_group_size` (at least 2) trees, so that predictions
    /// carry a variance ([`Self::predict_with_variance`]).
    pub fn fit_with_variance(data: &ForestData, y: &[f64], outcome: &str, options: &ForestOptions) -> Result<Self> {
        if options.ci_group_size < 2 {
            return Err(option_error(
                "ci_group_size",
                format!("{}: variances need little bags of at least 2 trees", options.ci_group_size),
            ));
        }
        let ticker = Ticker::new(&silent, "regression forest", options.num_trees as u64);
        Self::fit_shard(data, y, outcome, options, PURPOSE_REGRESSION, Shard::WHOLE, &ticker)
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
        let options = ForestOptions { ci_group_size: 1, ..options.clone() };
        Self::fit_shard(data, y, outcome, &options, purpose, Shard::WHOLE, ticker)
    }

    /// The trees of `shard`'s little bags (of `options.ci_group_size` trees) of the forest
    /// [`Self::fit_with_purpose`] grows.
    pub(crate) fn fit_shard(
        data: &ForestData,
        y: &[f64],
        outcome: &str,
        options: &ForestOptions,
        purpose: u64,
        shard: Shard,
        ticker: &Ticker<'_>,
    ) -> Result<Self> {
        options.validate()?;
        shard.check()?;
        check_finite(outcome, y, data.num_rows())?;
        let rule = SplitRule::new(Kind::Regression, options, data.num_features());
        let weights = &data.weights;
        let targets = Targets { y, z: &[], weight: weights };
        let bags = shard.bags(options.trees_grown() / options.ci_group_size);
        let trees =
            grow_trees(data, targets, rule, options, purpose, bags, |u| [weights[u], weights[u] * y[u]], ticker);
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

    /// Predictions for new rows with their variance: `(μ̂(x), Var μ̂(x))` per row, the variance NaN
    /// for a forest of single-tree bags (see [`Self::fit_with_variance`]).
    pub fn predict_with_variance(&self, rows: &[u16], num_features: usize) -> Vec<(f64, f64)> {
        let n = rows.len() / num_features.max(1);
        let row = |i: usize| &rows[i * num_features..(i + 1) * num_features];
        self.trees.predict_blocks(n, row, None, |_, l, b, out| self.estimate_block(l, b, out))
    }

    /// Trees per little bag.
    pub fn group_size(&self) -> usize {
        self.trees.group_size
    }

    /// `(μ̂, variance)` for a block of `b` rows routed to `leaves` (tree-major). Per tree, the
    /// leaf's mean of `ω(y − μ̂)` is `ψ = leaf ωy − μ̂ · leaf ω`; the variance is the between-bag
    /// mean square of ψ less the within-bag noise (objective Bayes, as the causal forest), over
    /// the squared mean leaf weight.
    fn estimate_block(&self, leaves: &[u32], b: usize, out: &mut Vec<(f64, f64)>) {
        let (trees, g) = (&self.trees.trees, self.trees.group_size);
        // The point estimate from the same compensated sums as `predict`, so both agree bit for bit.
        let mut partials = Vec::with_capacity(b);
        self.partial_block(leaves, b, &mut partials);
        let mu: Vec<f64> = partials.iter().map(finish_regression).collect();
        let mut used = vec![0u32; b];
        for t in 0..trees.len() {
            for (count, &leaf) in used.iter_mut().zip(&leaves[t * b..(t + 1) * b]) {
                *count += u32::from(leaf != NO_LEAF);
            }
        }
        let (mut good, mut psi_squared, mut bag_psi_squared) = (vec![0u32; b], vec![0.0; b], vec![0.0; b]);
        let (mut bag_psi, mut bag_squared, mut complete) = (vec![0.0; b], vec![0.0; b], vec![true; b]);
        for bag in 0..if g < 2 { 0 } else { trees.len() / g } {
            bag_psi.fill(0.0);
            bag_squared.fill(0.0);
            complete.fill(true);
            for t in bag * g..(bag + 1) * g {
                for (s, &leaf) in leaves[t * b..(t + 1) * b].iter().enumerate() {
                    if leaf == NO_LEAF {
                        complete[s] = false;
                        continue;
                    }
                    let v = &trees[t].leaves[leaf as usize];
                    let psi = v[1] - mu[s] * v[0];
                    bag_psi[s] += psi;
                    bag_squared[s] += psi * psi;
                }
            }
            for s in (0..b).filter(|&s| complete[s]) {
                good[s] += 1;
                psi_squared[s] += bag_squared[s];
                bag_psi_squared[s] += (bag_psi[s] / g as f64).powi(2);
            }
        }
        out.extend((0..b).map(|s| {
            if g < 2 || good[s] == 0 || mu[s].is_nan() {
                return (mu[s], f64::NAN);
            }
            let bags = f64::from(good[s]);
            let var_between = bag_psi_squared[s] / bags;
            let var_total = psi_squared[s] / (bags * g as f64);
            let group_noise = (var_total - var_between) / (g - 1) as f64;
            let jacobian = partials[s][0].value() / f64::from(used[s]);
            (mu[s], objective_bayes_debias(var_between, group_noise, bags) / (jacobian * jacobian))
        }));
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

    #[test]
    fn little_bag_intervals_cover_the_conditional_mean() {
        // y = x1 + N(0, 1) at n = 2,000: 95% intervals of E[y | x] at 200 new points, over 10
        // fits, cover the truth in 90-99% of cases (measured: 0.961; the forest's smoothing bias
        // near the edges of x1 costs a little).
        let (mut covered, mut total) = (0, 0);
        for rep in 0..10 {
            let sim = randomized_trial(2000, 3, 0.0, 0.0, 1.0, 100 + rep);
            let y: Vec<f64> = (0..2000).map(|i| sim.x[0][i] + (sim.y[i] - sim.x[1][i] - sim.x[2][i])).collect();
            let data = ForestData::new(&sim.columns(), &sim.names(), 256).unwrap();
            let options = ForestOptions { num_trees: 1000, seed: rep, ..ForestOptions::default() };
            let forest = RegressionForest::fit_with_variance(&data, &y, "y", &options).unwrap();
            let grid: Vec<f64> = (0..200).map(|k| 0.05 + 0.9 * k as f64 / 199.0).collect();
            let rows = data.bin_new_rows(&[&grid, &vec![0.5; 200], &vec![0.5; 200]]).unwrap();
            for (&x, (mu, var)) in grid.iter().zip(forest.predict_with_variance(&rows, 3)) {
                total += 1;
                covered += usize::from((mu - x).abs() <= cateye_stats::Z_975 * var.sqrt());
            }
        }
        let coverage = covered as f64 / total as f64;
        eprintln!("regression forest: 95% interval coverage {coverage:.3}");
        assert!((0.90..=0.99).contains(&coverage), "coverage {coverage}");
        let tiny = ForestData::new(&[&[1.0, 2.0, 3.0, 4.0]], &["x".into()], 256).unwrap();
        let options = ForestOptions { num_trees: 10, ..ForestOptions::default() };
        let single = RegressionForest::fit(&tiny, &[1.0, 2.0, 3.0, 4.0], "y", &options).unwrap();
        assert_eq!(single.group_size(), 1);
        let grouped = RegressionForest::fit_with_variance(&tiny, &[1.0, 2.0, 3.0, 4.0], "y", &options).unwrap();
        assert_eq!((grouped.group_size(), grouped.trees().len()), (2, 10), "10 trees in 5 little bags");
        assert!(RegressionForest::fit_with_variance(
            &ForestData::new(&[&[1.0, 2.0]], &["x".into()], 256).unwrap(),
            &[1.0, 2.0],
            "y",
            &ForestOptions { ci_group_size: 1, ..ForestOptions::default() }
        )
        .is_err());
    }
}
