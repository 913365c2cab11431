//! Forest tuning options with grf's defaults (grf 2.x `regression_forest` / `causal_forest`).

use crate::error::{option_error, Result};
use serde::{Deserialize, Serialize};

/// How trees are grown and how predictions are formed. The defaults are grf's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForestOptions {
    /// Number of trees (a multiple of `ci_group_size` is used: it is rounded up).
    pub num_trees: usize,
    /// Share of the clusters (units without clusters) each tree is grown on, drawn without replacement.
    pub sample_fraction: f64,
    /// Mean number of candidate split variables per node; `None` = min(ceil(sqrt(p) + 20), p).
    /// Each node draws max(1, Poisson(mtry)) variables (at most p) without replacement, as grf does.
    pub mtry: Option<usize>,
    /// Nodes with at most this many samples are not split. For the causal forest each child must
    /// also hold at least this many units on either side of the node's mean treatment.
    pub min_node_size: usize,
    /// Honest trees: the subsample is split in two, one part places the splits, the other fills the leaves.
    pub honesty: bool,
    /// Share of each tree's subsample that places the splits.
    pub honesty_fraction: f64,
    /// Remove leaves that hold no estimation sample (otherwise such trees skip the point).
    pub honesty_prune_leaves: bool,
    /// Balance: each child keeps at least this share of the node (of the treatment variation, for causal splits).
    pub alpha: f64,
    /// Penalty on splits that leave a child with little (treatment) variation.
    pub imbalance_penalty: f64,
    /// Trees per little bag for the variance (bootstrap of little bags); 1 gives no variance.
    pub ci_group_size: usize,
    /// Quantile bins per covariate for the split search (at most 65,535; values are exact below it).
    pub max_bins: usize,
    /// Seed of the random streams: one per little bag, so a fit does not depend on the number of threads.
    pub seed: u64,
}

impl Default for ForestOptions {
    fn default() -> Self {
        ForestOptions {
            num_trees: 2000,
            sample_fraction: 0.5,
            mtry: None,
            min_node_size: 5,
            honesty: true,
            honesty_fraction: 0.5,
            honesty_prune_leaves: true,
            alpha: 0.05,
            imbalance_penalty: 0.0,
            ci_group_size: 2,
            max_bins: 256,
            seed: 42,
        }
    }
}

impl ForestOptions {
    /// grf's default mtry for `p` covariates.
    pub fn mtry_for(&self, p: usize) -> usize {
        self.mtry.unwrap_or_else(|| ((p as f64).sqrt() + 20.0).ceil() as usize).clamp(1, p.max(1))
    }

    /// Trees actually grown: `num_trees` rounded up to whole little bags.
    pub fn trees_grown(&self) -> usize {
        self.num_trees.div_ceil(self.ci_group_size) * self.ci_group_size
    }

    /// Checks the options' ranges; the error names the first option out of range and what was expected.
    pub fn validate(&self) -> Result<()> {
        if self.num_trees == 0 {
            return Err(option_error("num_trees", "must be at least 1"));
        }
        if self.ci_group_size == 0 {
            return Err(option_error("ci_group_size", "must be at least 1"));
        }
        if !(self.sample_fraction > 0.0 && self.sample_fraction <= 1.0) {
            return Err(option_error("sample_fraction", format!("{} is not in (0, 1]", self.sample_fraction)));
        }
        if self.ci_group_size > 1 && self.sample_fraction > 0.5 {
            return Err(option_error(
                "sample_fraction",
                format!(
                    "{} is above 0.5, which the variance estimate (ci_group_size {}) needs: each little bag \
                     draws its trees from half of the data",
                    self.sample_fraction, self.ci_group_size
                ),
            ));
        }
        if !(self.honesty_fraction > 0.0 && self.honesty_fraction < 1.0) {
            return Err(option_error("honesty_fraction", format!("{} is not in (0, 1)", self.honesty_fraction)));
        }
        if !(0.0..0.25).contains(&self.alpha) {
            return Err(option_error("alpha", format!("{} is not in [0, 0.25)", self.alpha)));
        }
        if !(self.imbalance_penalty >= 0.0 && self.imbalance_penalty.is_finite()) {
            return Err(option_error("imbalance_penalty", "must be a finite number >= 0"));
        }
        if !(2..=65_535).contains(&self.max_bins) {
            return Err(option_error("max_bins", format!("{} is not in [2, 65535]", self.max_bins)));
        }
        if self.mtry == Some(0) {
            return Err(option_error("mtry", "must be at least 1"));
        }
        Ok(())
    }
}

cateye_stats::settings_with!(ForestOptions);
