//! Histogram gradient boosting (Friedman 2001) with second-order leaf values and split gains
//! (Chen & Guestrin 2016, eq. 5–7): `gain = G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ)`,
//! leaf value `−η G/(H + λ)`. Splits are searched on the forest's coarse quantile bins of the
//! fold's rows and stored as fine codes, so trees route any row of the data. Squared loss for
//! regression, logistic loss for classification. Trees are grown depth-first to `max_depth`;
//! a fit is serial and deterministic (cross-fitting runs folds in parallel). Missing covariate
//! values are incorporated in the attribute (MIA, as the forests do): every split point is
//! judged with them on either side, and a node whose rows had none sends them to its larger child.

use super::{check_fit_input, BaseLearner, Fitted, SavedFit, Task};
use crate::data::LearnerData;
use crate::error::{data_error, Result};
use cateye_forest::{BinnedFeatures, MISSING};
use serde::{Deserialize, Serialize};

/// Gradient boosting settings (the defaults follow scikit-learn's `HistGradientBoosting*`:
/// 100 rounds at learning rate 0.1, at least 20 rows per leaf; depth 4 gives up to 16 leaves).
#[derive(Clone, Debug)]
pub struct BoostLearner {
    /// Boosting rounds: the number of trees.
    pub rounds: usize,
    /// Shrinkage `η` applied to every leaf value.
    pub learning_rate: f64,
    /// Greatest depth of a tree (at most `2^max_depth` leaves).
    pub max_depth: usize,
    /// Fewest rows in a leaf.
    pub min_leaf: usize,
    /// L2 penalty on leaf values.
    pub lambda: f64,
}

impl Default for BoostLearner {
    fn default() -> Self {
        BoostLearner { rounds: 100, learning_rate: 0.1, max_depth: 4, min_leaf: 20, lambda: 1.0 }
    }
}

const LEAF: u32 = u32::MAX;

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Node {
    /// Covariate of the split, or `LEAF`.
    feature: u32,
    /// Rows with fine code ≤ threshold go left.
    threshold: u16,
    /// Whether rows missing the covariate go left.
    #[serde(default)]
    missing_left: bool,
    left: u32,
    right: u32,
    value: f64,
}

/// A fitted gradient boosting base learner.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FittedBoost {
    init: f64,
    trees: Vec<Vec<Node>>,
    logistic: bool,
}

impl FittedBoost {
    /// Checks a model read from a file against `p` covariates: every split names a covariate
    /// below `p` and children after it, so that a traversal cannot leave a tree.
    pub(crate) fn check(&self, p: usize) -> Result<()> {
        for (t, tree) in self.trees.iter().enumerate() {
            for (k, node) in tree.iter().enumerate() {
                let bad = node.feature != LEAF
                    && (node.feature as usize >= p
                        || node.left as usize <= k
                        || node.right as usize <= k
                        || node.left as usize >= tree.len()
                        || node.right as usize >= tree.len());
                if bad || tree.is_empty() {
                    return Err(data_error(format!("boosted tree {t} is malformed at node {k}")));
                }
            }
        }
        Ok(())
    }

    fn score(&self, codes: &[u16]) -> f64 {
        let mut total = self.init;
        for tree in &self.trees {
            let mut k = 0usize;
            loop {
                let node = &tree[k];
                if node.feature == LEAF {
                    total += node.value;
                    break;
                }
                let code = codes[node.feature as usize];
                let left = if code == MISSING { node.missing_left } else { code <= node.threshold };
                k = if left { node.left } else { node.right } as usize;
            }
        }
        total
    }
}

impl Fitted for FittedBoost {
    fn predict(&self, data: &LearnerData, rows: &[usize], set: Option<(usize, f64)>) -> Vec<f64> {
        let p = data.num_features();
        let codes = data.codes(rows, set);
        codes
            .chunks(p.max(1))
            .map(|row| {
                let s = self.score(row);
                if self.logistic {
                    1.0 / (1.0 + (-s).exp())
                } else {
                    s
                }
            })
            .collect()
    }

    fn into_saved(self: Box<Self>) -> Option<SavedFit> {
        Some(SavedFit::Boost(*self))
    }
}

/// Gradient and hessian sums of a set of rows.
#[derive(Clone, Copy, Default)]
struct Sums {
    g: f64,
    h: f64,
    count: u32,
}

impl BoostLearner {
    /// Grows one tree on the rows `index[..]` (positions in the fold) and adds its leaf values to `pred`.
    fn grow_tree(
        &self,
        features: &BinnedFeatures,
        index: &mut [u32],
        grad: &[f64],
        hess: &[f64],
        pred: &mut [f64],
        hist: &mut Vec<Sums>,
    ) -> Vec<Node> {
        let leaf = |value| Node { feature: LEAF, threshold: 0, missing_left: false, left: 0, right: 0, value };
        let mut nodes = vec![leaf(0.0)];
        // (node id, start, end, depth)
        let mut stack = vec![(0usize, 0usize, index.len(), 0usize)];
        while let Some((id, start, end, depth)) = stack.pop() {
            let rows = &mut index[start..end];
            let total = rows.iter().fold(Sums::default(), |s, &r| Sums {
                g: s.g + grad[r as usize],
                h: s.h + hess[r as usize],
                count: s.count + 1,
            });
            let split = if depth < self.max_depth && rows.len() >= 2 * self.min_leaf {
                self.best_split(features, rows, grad, hess, total, hist)
            } else {
                None
            };
            match split {
                Some(BoostSplit { feature, bin, missing_left }) => {
                    // A missing value's coarse bin is past every bin, so it goes right unless sent left.
                    let coarse = features.coarse_column(feature);
                    let missing_bin = features.num_coarse_bins(feature) as u16;
                    let mut left_end = 0;
                    for k in 0..rows.len() {
                        let code = coarse[rows[k] as usize];
                        if code <= bin || (code == missing_bin && missing_left == Some(true)) {
                            rows.swap(k, left_end);
                            left_end += 1;
                        }
                    }
                    let (left, right) = (nodes.len(), nodes.len() + 1);
                    // After the last bin: every present value goes left, new ones beyond the range too.
                    let threshold =
                        if bin + 1 == missing_bin { MISSING - 1 } else { features.coarse_last(feature, bin) };
                    nodes[id] = Node {
                        feature: feature as u32,
                        threshold,
                        missing_left: missing_left.unwrap_or(2 * left_end >= rows.len()),
                        left: left as u32,
                        right: right as u32,
                        value: 0.0,
                    };
                    nodes.extend([leaf(0.0), leaf(0.0)]);
                    stack.push((right, start + left_end, end, depth + 1));
                    stack.push((left, start, start + left_end, depth + 1));
                }
                None => {
                    let value = -self.learning_rate * total.g / (total.h + self.lambda);
                    nodes[id] = leaf(value);
                    for &r in rows.iter() {
                        pred[r as usize] += value;
                    }
                }
            }
        }
        nodes
    }

    /// The split with the largest positive gain whose children both keep `min_leaf` rows; ties
    /// go to the first covariate and bin (deterministic). Rows missing a covariate are tried on
    /// both sides of each point, and alone against the rest.
    fn best_split(
        &self,
        features: &BinnedFeatures,
        rows: &[u32],
        grad: &[f64],
        hess: &[f64],
        total: Sums,
        hist: &mut Vec<Sums>,
    ) -> Option<BoostSplit> {
        let parent = total.g * total.g / (total.h + self.lambda);
        let mut best: Option<(f64, BoostSplit)> = None;
        for f in 0..features.num_features() {
            let bins = features.num_coarse_bins(f);
            hist.clear();
            hist.resize(features.num_coarse_slots(f), Sums::default());
            let coarse = features.coarse_column(f);
            for &r in rows {
                let s = &mut hist[coarse[r as usize] as usize];
                s.g += grad[r as usize];
                s.h += hess[r as usize];
                s.count += 1;
            }
            let missing = hist.get(bins).copied().filter(|_| features.has_missing(f)).unwrap_or_default();
            // (rows on the left before the first bin, bins scanned, where missing rows go)
            let passes: &[(Sums, usize, Option<bool>)] = if missing.count == 0 {
                &[(Sums::default(), bins.saturating_sub(1), None)]
            } else {
                // Missing right, up to "present left, missing right"; then missing left.
                &[(Sums::default(), bins, Some(false)), (missing, bins.saturating_sub(1), Some(true))]
            };
            for &(start, scanned, missing_left) in passes {
                let mut left = start;
                for (b, s) in hist[..scanned].iter().enumerate() {
                    left.g += s.g;
                    left.h += s.h;
                    left.count += s.count;
                    let right_count = total.count - left.count;
                    if (left.count as usize) < self.min_leaf {
                        continue;
                    }
                    if (right_count as usize) < self.min_leaf {
                        break;
                    }
                    let (rg, rh) = (total.g - left.g, total.h - left.h);
                    let gain = left.g * left.g / (left.h + self.lambda) + rg * rg / (rh + self.lambda) - parent;
                    if gain > 1e-12 && best.is_none_or(|(g, _)| gain > g) {
                        best = Some((gain, BoostSplit { feature: f, bin: b as u16, missing_left }));
                    }
                }
            }
        }
        best.map(|(_, split)| split)
    }
}

/// A boosting split: coarse bins ≤ `bin` of `feature` go left; missing values go left when
/// `missing_left` (`None`: the node has none).
#[derive(Clone, Copy, Debug)]
struct BoostSplit {
    feature: usize,
    bin: u16,
    missing_left: Option<bool>,
}

impl BaseLearner for BoostLearner {
    fn name(&self) -> &'static str {
        "boost"
    }

    fn fit(
        &self,
        data: &LearnerData,
        rows: &[usize],
        target: &[f64],
        weights: Option<&[f64]>,
        task: Task,
        _seed: u64,
    ) -> Result<Box<dyn Fitted>> {
        check_fit_input(rows, target, weights, task)?;
        let subset = data.binned().features().subset(rows);
        let m = rows.len();
        let weight = |j: usize| weights.map_or(1.0, |w| w[j]);
        let total: f64 = (0..m).map(weight).sum();
        let mean = (0..m).map(|j| weight(j) * target[j]).sum::<f64>() / total;
        let logistic = task == Task::Classification;
        let init =
            if logistic { (mean.clamp(1e-6, 1.0 - 1e-6) / (1.0 - mean.clamp(1e-6, 1.0 - 1e-6))).ln() } else { mean };
        let mut pred = vec![init; m];
        let (mut grad, mut hess) = (vec![0.0; m], vec![0.0; m]);
        let mut index: Vec<u32> = (0..m as u32).collect();
        let mut hist = Vec::new();
        let mut trees = Vec::with_capacity(self.rounds);
        for _ in 0..self.rounds {
            for j in 0..m {
                let w = weight(j);
                if logistic {
                    let p = 1.0 / (1.0 + (-pred[j]).exp());
                    grad[j] = w * (p - target[j]);
                    hess[j] = w * (p * (1.0 - p)).max(1e-12);
                } else {
                    grad[j] = w * (pred[j] - target[j]);
                    hess[j] = w;
                }
            }
            trees.push(self.grow_tree(&subset, &mut index, &grad, &hess, &mut pred, &mut hist));
        }
        Ok(Box::new(FittedBoost { init, trees, logistic }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boosting_fits_a_step_and_predicts_counterfactual_rows() {
        // y = 2·1{x1 > 0.5} + x2, no noise: 100 rounds at depth 4 get close on every row.
        let n = 2000;
        let x1: Vec<f64> = (0..n).map(|i| ((i * 7919) % n) as f64 / n as f64).collect();
        let x2: Vec<f64> = (0..n).map(|i| ((i * 104_729) % n) as f64 / n as f64).collect();
        let y: Vec<f64> = (0..n).map(|i| 2.0 * (x1[i] > 0.5) as u8 as f64 + x2[i]).collect();
        let data = LearnerData::new(vec![x1.clone(), x2], &["x1".into(), "x2".into()], 256).unwrap();
        let rows: Vec<usize> = (0..n).step_by(2).collect();
        let target: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        let fit = BoostLearner::default().fit(&data, &rows, &target, None, Task::Regression, 0).unwrap();
        let held_out: Vec<usize> = (1..n).step_by(2).collect();
        let p = fit.predict(&data, &held_out, None);
        let rmse = (held_out.iter().zip(&p).map(|(&i, v)| (v - y[i]).powi(2)).sum::<f64>() / p.len() as f64).sqrt();
        assert!(rmse < 0.1, "held-out RMSE {rmse}");
        // Setting x1 = 0.9 adds the step for rows with x1 ≤ 0.5.
        let low: Vec<usize> = held_out.iter().copied().filter(|&i| x1[i] < 0.4).take(50).collect();
        let base = fit.predict(&data, &low, None);
        let moved = fit.predict(&data, &low, Some((0, 0.9)));
        let shift = moved.iter().zip(&base).map(|(a, b)| a - b).sum::<f64>() / low.len() as f64;
        assert!((shift - 2.0).abs() < 0.15, "{shift}");
    }

    #[test]
    fn logistic_boosting_gives_probabilities_near_the_truth() {
        let n = 4000;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % n) as f64 / n as f64).collect();
        // P(y = 1) = 0.2 below 0.5 and 0.8 above, drawn deterministically by a low-discrepancy rule.
        let y: Vec<f64> =
            (0..n).map(|i| (((i * 37) % 10) as f64 / 10.0 < if x[i] > 0.5 { 0.8 } else { 0.2 }) as u8 as f64).collect();
        let data = LearnerData::new(vec![x.clone()], &["x".into()], 256).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let fit = BoostLearner::default().fit(&data, &rows, &y, None, Task::Classification, 0).unwrap();
        let p = fit.predict(&data, &rows, None);
        let mean_high = rows.iter().filter(|&&i| x[i] > 0.6).map(|&i| p[i]).sum::<f64>()
            / rows.iter().filter(|&&i| x[i] > 0.6).count() as f64;
        assert!((mean_high - 0.8).abs() < 0.05 && p.iter().all(|&v| v > 0.0 && v < 1.0), "{mean_high}");
    }
}
