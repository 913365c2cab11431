//! Honest regression forest (grf's `regression_forest`): the prediction at x is the
//! forest-weighted mean of the outcome, `Σ α_i(x) ω_i y_i / Σ α_i(x) ω_i`, with the forest
//! weights of Athey, Tibshirani & Wager (2019, eq. 3). Used for the nuisance models of the
//! causal forest and as a base learner.

use crate::data::ForestData;
use crate::error::{check_finite, Result};
use crate::forest::{grow_trees, Trees};
use crate::grow::{Kind, SplitRule, Targets};
use crate::options::ForestOptions;
use rayon::prelude::*;

/// A fitted regression forest.
#[derive(Clone, Debug)]
pub struct RegressionForest {
    trees: Trees<2>,
}

const PURPOSE_REGRESSION: u64 = 1;

impl RegressionForest {
    /// Fits on outcome `y` (named `outcome` in errors); `options.ci_group_size` is ignored (1).
    pub fn fit(data: &ForestData, y: &[f64], outcome: &str, options: &ForestOptions) -> Result<Self> {
        Self::fit_with_purpose(data, y, outcome, options, PURPOSE_REGRESSION)
    }

    pub(crate) fn fit_with_purpose(
        data: &ForestData,
        y: &[f64],
        outcome: &str,
        options: &ForestOptions,
        purpose: u64,
    ) -> Result<Self> {
        let options = ForestOptions { ci_group_size: 1, ..options.clone() };
        options.validate()?;
        check_finite(outcome, y, data.num_rows())?;
        let rule = SplitRule {
            kind: Kind::Regression,
            mtry: options.mtry_for(data.num_features()),
            min_node_size: options.min_node_size,
            alpha: options.alpha,
            imbalance_penalty: options.imbalance_penalty,
        };
        let weights = &data.weights;
        let targets = Targets { y, z: &[], weight: weights };
        let trees = grow_trees(data, targets, rule, &options, purpose, |u| [weights[u], weights[u] * y[u]]);
        Ok(RegressionForest { trees })
    }

    /// Out-of-bag prediction for every training row (NaN for a row that every tree holds in bag).
    pub fn predict_oob(&self, data: &ForestData) -> Vec<f64> {
        (0..data.num_rows())
            .into_par_iter()
            .with_min_len(256)
            .map(|i| self.predict_row(data.features.row(i), Some(data.clusters.cluster_of(i))))
            .collect()
    }

    /// Predictions for new rows binned with `ForestData::bin_new_rows`.
    pub fn predict(&self, rows: &[u16], num_features: usize) -> Vec<f64> {
        rows.par_chunks(num_features).with_min_len(256).map(|row| self.predict_row(row, None)).collect()
    }

    fn predict_row(&self, row: &[u16], oob_cluster: Option<usize>) -> f64 {
        let (mut weight, mut sum) = (0.0, 0.0);
        for v in self.trees.leaf_values(row, oob_cluster).flatten() {
            weight += v[0];
            sum += v[1];
        }
        if weight > 0.0 {
            sum / weight
        } else {
            f64::NAN
        }
    }

    pub fn trees(&self) -> &Trees<2> {
        &self.trees
    }
}
