//! Honest causal forest (generalized random forests; Athey, Tibshirani & Wager 2019;
//! Wager & Athey 2018), as grf's `causal_forest`:
//!
//! 1. Local centering: out-of-bag regression forests estimate `m(x) = E[Y|X]` and
//!    `e(x) = E[W|X]` (or the caller supplies them; in a randomized experiment the known
//!    assignment probability replaces `e`), and the forest works on `Y − m̂`, `W − ê`.
//! 2. Trees split on gradient-based pseudo-outcomes (see `grow`), honestly, on subsamples drawn
//!    without replacement in little bags of `ci_group_size` trees.
//! 3. The estimate at x solves the forest-weighted residual-on-residual moment
//!    `Σ α_i(x) ω_i (z_i − z̄)(y_i − ȳ − τ (z_i − z̄)) = 0` (GRF eq. 2 with α from eq. 3).
//! 4. Its variance is the bootstrap of little bags (GRF §4; Sexton & Laake 2009): the spread of
//!    per-bag estimating-equation averages, debiased for within-bag noise with grf's objective
//!    Bayes correction.

use crate::data::ForestData;
use crate::error::{check_finite, column_error, ForestError, Result};
use crate::forest::{grow_trees, Trees, NO_LEAF};
use crate::grow::{Kind, SplitRule, Targets};
use crate::options::ForestOptions;
use crate::regression::RegressionForest;
use cateye_hte::CateFit;
use cateye_stats::normal_sf;
use cateye_stats::{silent, Progress, Ticker};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Leaf statistics: averages of ω, ωy, ωz, ωzy, ωz² over the leaf's estimation units (y, z centered).
const K: usize = 5;
const W_: usize = 0;
const Y_: usize = 1;
const Z_: usize = 2;
const ZY_: usize = 3;
const ZZ_: usize = 4;

const PURPOSE_Y_HAT: u64 = 11;
const PURPOSE_W_HAT: u64 = 12;
const PURPOSE_CAUSAL: u64 = 13;

/// Conditional average treatment effects with their variances (NaN where not estimable).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CateEstimates {
    /// Estimated CATE `τ̂(x)` per row, in outcome units per unit of treatment.
    pub tau: Vec<f64>,
    /// Bootstrap-of-little-bags variance of `τ̂(x)` per row (NaN when `ci_group_size` is 1).
    pub variance: Vec<f64>,
}

/// The trees of a causal forest, fitted on centered outcome and treatment.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CausalForest {
    trees: Trees<K>,
}

impl CausalForest {
    /// Grows the trees on centered outcome `y_centered` and treatment `w_centered`.
    pub fn grow(data: &ForestData, y_centered: &[f64], w_centered: &[f64], options: &ForestOptions) -> Result<Self> {
        Self::grow_reporting(data, y_centered, w_centered, options, &Ticker::new(&silent, "causal forest", 0))
    }

    /// [`Self::grow`], reporting every little bag grown to `ticker`.
    pub fn grow_reporting(
        data: &ForestData,
        y_centered: &[f64],
        w_centered: &[f64],
        options: &ForestOptions,
        ticker: &Ticker<'_>,
    ) -> Result<Self> {
        options.validate()?;
        let rule = SplitRule::new(Kind::Causal, options, data.num_features());
        let om = &data.weights;
        let (y, z) = (y_centered, w_centered);
        let targets = Targets { y, z, weight: om };
        let trees = grow_trees(
            data,
            targets,
            rule,
            options,
            PURPOSE_CAUSAL,
            |u| [om[u], om[u] * y[u], om[u] * z[u], om[u] * z[u] * y[u], om[u] * z[u] * z[u]],
            ticker,
        );
        Ok(CausalForest { trees })
    }

    /// Out-of-bag estimates for the training rows (an error for a forest read from a file,
    /// which does not keep its trees' in-bag samples).
    pub fn predict_oob(&self, data: &ForestData) -> Result<CateEstimates> {
        if !self.trees.has_in_bag() {
            return Err(ForestError::NoInBagSamples);
        }
        let cluster = |i: usize| data.clusters.cluster_of(i);
        let estimates = self.trees.predict_blocks(
            data.num_rows(),
            |i| data.features.row(i),
            Some(&cluster),
            |l, b, out| self.estimate_block(l, b, out),
        );
        let (tau, variance) = estimates.into_iter().unzip();
        Ok(CateEstimates { tau, variance })
    }

    /// Estimates for new rows binned with `ForestData::bin_new_rows`.
    pub fn predict(&self, rows: &[u16], num_features: usize) -> CateEstimates {
        let n = rows.len() / num_features.max(1);
        let row = |i: usize| &rows[i * num_features..(i + 1) * num_features];
        let estimates = self.trees.predict_blocks(n, row, None, |l, b, out| self.estimate_block(l, b, out));
        let (tau, variance) = estimates.into_iter().unzip();
        CateEstimates { tau, variance }
    }

    /// The fitted trees (what split-frequency importance reads).
    pub fn trees(&self) -> &Trees<K> {
        &self.trees
    }

    /// Checks a forest read from a file against `p` covariates (every tree's structure).
    pub fn check(&self, p: usize) -> Result<()> {
        self.trees.check(p)
    }

    /// Estimates and variances for a block of `b` rows routed to `leaves` (tree-major).
    fn estimate_block(&self, leaves: &[u32], b: usize, out: &mut Vec<(f64, f64)>) {
        let trees = &self.trees.trees;
        let mut sums = vec![[0.0; K]; b];
        let mut used = vec![0u32; b];
        for (t, tree) in trees.iter().enumerate() {
            for (s, &leaf) in leaves[t * b..(t + 1) * b].iter().enumerate() {
                if leaf != NO_LEAF {
                    for (acc, v) in sums[s].iter_mut().zip(&tree.leaves[leaf as usize]) {
                        *acc += v;
                    }
                    used[s] += 1;
                }
            }
        }
        // The forest-weighted moment solution per row: τ, intercept μ, and the Jacobian.
        let point: Vec<Option<Point>> = (0..b).map(|s| Point::solve(sums[s], used[s])).collect();
        let variance = self.little_bag_variance(leaves, b, &point);
        out.extend(point.iter().zip(variance).map(|(p, v)| p.as_ref().map_or((f64::NAN, f64::NAN), |p| (p.tau, v))));
    }

    /// Bootstrap-of-little-bags variance (grf `InstrumentalPredictionStrategy::compute_variance`):
    /// per tree, `ψ_b = mean_leaf ω z (y − μ − τ z)` with the forest's τ and intercept μ;
    /// `var_between` is the mean square of bag-averaged ψ over bags whose trees all predict the
    /// row, `var_total` that of single-tree ψ; the within-bag noise `(var_total − var_between)/(g − 1)`
    /// is removed by an objective Bayes step that keeps the result positive, and the result is
    /// divided by the squared Jacobian `(Σαω(z − z̄)²/Σαω)²`.
    fn little_bag_variance(&self, leaves: &[u32], b: usize, point: &[Option<Point>]) -> Vec<f64> {
        let g = self.trees.group_size;
        if g < 2 {
            return vec![f64::NAN; b];
        }
        let trees = &self.trees.trees;
        let (mut good, mut psi_squared, mut bag_psi_squared) = (vec![0usize; b], vec![0.0; b], vec![0.0; b]);
        let (mut bag_psi, mut bag_squared, mut complete) = (vec![0.0; b], vec![0.0; b], vec![true; b]);
        for bag in 0..trees.len() / g {
            bag_psi.fill(0.0);
            bag_squared.fill(0.0);
            complete.fill(true);
            for t in bag * g..(bag + 1) * g {
                for (s, &leaf) in leaves[t * b..(t + 1) * b].iter().enumerate() {
                    match (&point[s], leaf) {
                        (Some(p), leaf) if leaf != NO_LEAF => {
                            let v = &trees[t].leaves[leaf as usize];
                            let psi = v[ZY_] - v[ZZ_] * p.tau - v[Z_] * p.mu;
                            bag_psi[s] += psi;
                            bag_squared[s] += psi * psi;
                        }
                        _ => complete[s] = false,
                    }
                }
            }
            for s in 0..b {
                if complete[s] {
                    good[s] += 1;
                    psi_squared[s] += bag_squared[s];
                    let mean = bag_psi[s] / g as f64;
                    bag_psi_squared[s] += mean * mean;
                }
            }
        }
        (0..b)
            .map(|s| match &point[s] {
                Some(p) if good[s] > 0 => {
                    let var_between = bag_psi_squared[s] / good[s] as f64;
                    let var_total = psi_squared[s] / (good[s] * g) as f64;
                    let group_noise = (var_total - var_between) / (g - 1) as f64;
                    objective_bayes_debias(var_between, group_noise, good[s] as f64) / (p.jacobian * p.jacobian)
                }
                _ => f64::NAN,
            })
            .collect()
    }
}

/// The forest-weighted residual-on-residual solution at one row.
struct Point {
    tau: f64,
    mu: f64,
    jacobian: f64,
}

impl Point {
    /// From the sums over `used` trees of the leaf averages; `None` without trees or treatment variation.
    fn solve(sum: [f64; K], used: u32) -> Option<Point> {
        if used == 0 {
            return None;
        }
        let a = sum.map(|s| s / used as f64);
        // Σαω times the weighted covariance of z with y, and with itself.
        let first_stage = a[ZZ_] * a[W_] - a[Z_] * a[Z_];
        if first_stage.abs() <= 1e-12 * (a[ZZ_] * a[W_]).abs().max(f64::MIN_POSITIVE) {
            return None;
        }
        let tau = (a[ZY_] * a[W_] - a[Y_] * a[Z_]) / first_stage;
        Some(Point { tau, mu: (a[Y_] - a[Z_] * tau) / a[W_], jacobian: first_stage / a[W_] })
    }
}

/// Posterior mean of a variance `σ² = var_between − group_noise` under a flat prior on σ² ≥ 0
/// and a normal likelihood with SE `max(var_between, group_noise)·sqrt(2/groups)`: the estimate
/// plus `se · φ(r)/Φ(r)` with `r = estimate/se` (grf's `ObjectiveBayesDebiaser`).
pub fn objective_bayes_debias(var_between: f64, group_noise: f64, groups: f64) -> f64 {
    let estimate = var_between - group_noise;
    let se = var_between.max(group_noise) * (2.0 / groups).sqrt();
    if se <= 0.0 {
        return estimate.max(0.0);
    }
    let r = estimate / se;
    // φ(r)/Φ(r); for r far below 0, Φ underflows: the Mills-ratio expansion |r| + 1/|r| takes over.
    let ratio = if r > -30.0 {
        (-0.5 * r * r).exp() / (2.0 * std::f64::consts::PI).sqrt() / normal_sf(-r)
    } else {
        -r - 1.0 / r
    };
    estimate + se * ratio
}

/// Where the propensity `e(x) = P(W = 1 | X = x)` comes from: the one estimator-level
/// propensity type of cateye (the causal forest and the CATE learners take it).
#[derive(Clone, Copy, Debug)]
pub enum Propensity<'a> {
    /// The design of a randomized experiment: the treated share of the rows, a constant (for the
    /// CATE learners, each arm's share of its pair with control).
    Design,
    /// Estimated from the covariates (a regression forest on W for the causal forest; a
    /// cross-fitted classifier, clipped, for the learners).
    Estimate,
    /// The known assignment probability of a randomized experiment.
    Known(f64),
    /// One value per unit (a known design or a model the caller fitted), from `column`.
    PerUnit {
        /// The propensity of each unit, in row order.
        values: &'a [f64],
        /// Name of the column the values come from, used in errors.
        column: &'a str,
    },
}

/// The outcome, treatment and nuisance inputs of a causal forest fit.
#[derive(Clone, Copy, Debug)]
pub struct CausalInput<'a> {
    /// Outcome per unit.
    pub y: &'a [f64],
    /// Treatment per unit: 0/1 for the AIPW-based analyses, otherwise any real value.
    pub w: &'a [f64],
    /// Name of the outcome column, used in errors.
    pub outcome: &'a str,
    /// Name of the treatment column, used in errors.
    pub treatment: &'a str,
    /// Where `e(x) = E[W | X = x]`, the treatment's centering, comes from.
    pub propensity: Propensity<'a>,
    /// `E[Y|X]` per unit; `None` fits an out-of-bag regression forest.
    pub y_hat: Option<&'a [f64]>,
}

/// Wall-clock seconds of the stages of a fit.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[non_exhaustive]
pub struct FitTimings {
    /// Seconds spent on the nuisance estimates `m̂` and `ê`.
    pub nuisance: f64,
    /// Seconds spent growing the causal forest.
    pub forest: f64,
    /// Seconds spent on the out-of-bag estimates of the training rows.
    pub oob_predictions: f64,
}

/// A fitted causal forest with the data and nuisance estimates the analysis tools need.
#[derive(Clone, Debug)]
pub struct CausalForestFit {
    /// The fitted causal forest.
    pub forest: CausalForest,
    /// Outcome per training row.
    pub y: Vec<f64>,
    /// Treatment per training row.
    pub w: Vec<f64>,
    /// `m̂(x) = Ê[Y | X = x]` per training row: out-of-bag forest predictions or the caller's values.
    pub y_hat: Vec<f64>,
    /// `ê(x) = Ê[W | X = x]` per training row, from the input's `propensity` (out-of-bag if estimated).
    pub w_hat: Vec<f64>,
    /// Out-of-bag CATE estimates and variances of the training rows.
    pub oob: CateEstimates,
    /// Whether W takes only the values 0 and 1 (needed by the AIPW-based tools).
    pub binary_treatment: bool,
    /// Sample weight per training row, when the data has weights.
    pub weights: Option<Vec<f64>>,
    /// Cluster index per training row (numbered by first appearance), when the data has clusters.
    pub clusters: Option<Vec<u32>>,
    /// Wall-clock seconds of the fit's stages.
    pub timings: FitTimings,
    /// Caveats about the data the fit could not settle (e.g. a stated propensity that
    /// contradicts the treated share).
    pub warnings: Vec<String>,
}

impl CausalForestFit {
    /// The fit as the analysis tools of `cateye_hte` take it: out-of-bag effects with the
    /// nuisances, sample weights and clusters of the fit.
    pub fn effects(&self) -> CateFit<'_> {
        CateFit::new(&self.y, &self.w, &self.y_hat, &self.w_hat, &self.oob.tau)
            .and_then(|f| f.with_weights(self.weights.as_deref()))
            .and_then(|f| f.with_clusters(self.clusters.as_deref()))
            .expect("a causal forest fit has finite values of equal lengths")
    }
}

/// Fits the nuisance models (unless given), the causal forest and its out-of-bag estimates.
/// Nuisance forests use `max(50, num_trees / 4)` trees and otherwise the same options, as grf does.
pub fn fit_causal_forest(data: &ForestData, input: CausalInput, options: &ForestOptions) -> Result<CausalForestFit> {
    fit_causal_forest_reporting(data, input, options, &silent)
}

/// [`fit_causal_forest`], reporting the trees grown to `progress`: stages "outcome forest"
/// and "propensity forest" (the nuisance forests that are fitted) and "causal forest".
pub fn fit_causal_forest_reporting(
    data: &ForestData,
    input: CausalInput,
    options: &ForestOptions,
    progress: Progress<'_>,
) -> Result<CausalForestFit> {
    options.validate()?;
    let n = data.num_rows();
    check_finite(input.outcome, input.y, n)?;
    check_finite(input.treatment, input.w, n)?;
    let w0 = input.w[0];
    if input.w.iter().all(|&w| w == w0) {
        return Err(column_error(input.treatment, format!("is constant ({w0}): there is no treatment contrast")));
    }
    check_enough_rows(n, options)?;
    let binary_treatment = input.w.iter().all(|&w| w == 0.0 || w == 1.0);
    let mut warnings = Vec::new();
    if binary_treatment {
        let treated = input.w.iter().filter(|&&w| w == 1.0).count();
        let needed = min_units_per_arm(options);
        for (arm, units) in [("treated", treated), ("control", n - treated)] {
            if units < needed {
                return Err(ForestError::TooFewInArm { arm, units, needed, column: input.treatment.to_string() });
            }
        }
        let share = treated as f64 / n as f64;
        let stated = match input.propensity {
            Propensity::Known(e) => Some(e),
            Propensity::PerUnit { values, .. } if values.len() == n => Some(values.iter().sum::<f64>() / n as f64),
            _ => None,
        };
        if let Some(e) = stated.filter(|e| *e > 0.0 && *e < 1.0) {
            // Under the stated design the treated share is e ± 4 binomial SEs (plus a margin).
            let tolerance = 4.0 * (e * (1.0 - e) / n as f64).sqrt() + 0.02;
            if (share - e).abs() > tolerance {
                warnings.push(format!(
                    "the propensity given ({e:.3} on average) contradicts the treated share of the rows ({share:.3}, {treated} of {n}): \
                     check the design, or estimate the propensity"
                ));
            }
        }
    }

    let start = Instant::now();
    let nuisance_options =
        ForestOptions { num_trees: (options.num_trees / 4).max(50), ci_group_size: 1, ..options.clone() };
    let y_hat = match input.y_hat {
        Some(y_hat) => {
            check_finite("y_hat", y_hat, n)?;
            y_hat.to_vec()
        }
        None => {
            oob_nuisance(data, input.y, input.outcome, &nuisance_options, PURPOSE_Y_HAT, "outcome forest", progress)?
        }
    };
    let w_hat = match input.propensity {
        Propensity::Estimate => oob_nuisance(
            data,
            input.w,
            input.treatment,
            &nuisance_options,
            PURPOSE_W_HAT,
            "propensity forest",
            progress,
        )?,
        Propensity::Design => {
            let share = input.w.iter().sum::<f64>() / n as f64;
            vec![share; n]
        }
        Propensity::Known(e) => {
            if !(e > 0.0 && e < 1.0) && binary_treatment {
                return Err(column_error("propensity", format!("{e} is not a probability in (0, 1)")));
            }
            vec![e; n]
        }
        Propensity::PerUnit { values: e, column } => {
            check_finite(column, e, n)?;
            if binary_treatment {
                if let Some(row) = e.iter().position(|&e| !(e > 0.0 && e < 1.0)) {
                    return Err(column_error(
                        column,
                        format!("row {} (1-based) is {}, not a propensity in (0, 1)", row + 1, e[row]),
                    ));
                }
            }
            e.to_vec()
        }
    };
    let nuisance = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let y_centered: Vec<f64> = input.y.iter().zip(&y_hat).map(|(y, m)| y - m).collect();
    let w_centered: Vec<f64> = input.w.iter().zip(&w_hat).map(|(w, e)| w - e).collect();
    let ticker = Ticker::new(progress, "causal forest", options.trees_grown() as u64);
    let forest = CausalForest::grow_reporting(data, &y_centered, &w_centered, options, &ticker)?;
    let forest_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let oob = forest.predict_oob(data)?;
    let oob_predictions = start.elapsed().as_secs_f64();
    if let Some(row) = oob.tau.iter().position(|t| t.is_nan()) {
        return Err(ForestError::NoOutOfBag { row, trees: options.trees_grown() });
    }
    Ok(CausalForestFit {
        forest,
        y: input.y.to_vec(),
        w: input.w.to_vec(),
        y_hat,
        w_hat,
        oob,
        binary_treatment,
        weights: data.weights().map(<[f64]>::to_vec),
        clusters: data.clusters().map(|c| (0..n).map(|i| c.cluster_of(i) as u32).collect()),
        timings: FitTimings { nuisance, forest: forest_seconds, oob_predictions },
        warnings,
    })
}

/// The fewest treated and the fewest control units a causal forest accepts for a 0/1 treatment:
/// `max(10, 2 · min_node_size)`. Below it no tree can place a split with `min_node_size` units of
/// each arm on both sides, and the AIPW effect rests on a handful of inverse weights.
pub fn min_units_per_arm(options: &ForestOptions) -> usize {
    (2 * options.min_node_size).max(10)
}

/// Out-of-bag regression forest predictions of `target`, or an error naming it if some row has none.
fn oob_nuisance(
    data: &ForestData,
    target: &[f64],
    name: &str,
    options: &ForestOptions,
    purpose: u64,
    stage: &str,
    progress: Progress<'_>,
) -> Result<Vec<f64>> {
    let ticker = Ticker::new(progress, stage, options.trees_grown() as u64);
    let forest = RegressionForest::fit_with_purpose(data, target, name, options, purpose, &ticker)?;
    let predictions = forest.predict_oob(data)?;
    if let Some(row) = predictions.iter().position(|p| p.is_nan()) {
        return Err(ForestError::NoOutOfBagNuisance { row, target: name.to_string(), trees: options.trees_grown() });
    }
    Ok(predictions)
}

/// A causal split needs `min_node_size` units on each side of the mean treatment in both
/// children: refuse data whose trees could not split even once.
fn check_enough_rows(n: usize, options: &ForestOptions) -> Result<()> {
    let mut per_tree = n as f64 * options.sample_fraction;
    if options.honesty {
        per_tree *= options.honesty_fraction;
    }
    let needed = 4 * options.min_node_size.max(1);
    if (per_tree as usize) < needed {
        return Err(ForestError::TooFewRows { rows: n, per_tree: per_tree as usize, needed });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debias_is_the_truncated_normal_mean() {
        // Far from zero the correction vanishes; at zero it is se·φ(0)/Φ(0) = se·0.7979.
        assert!((objective_bayes_debias(10.0, 1.0, 1e6) - 9.0).abs() < 1e-9);
        let se = 1.0 * (2.0f64 / 8.0).sqrt();
        assert!((objective_bayes_debias(1.0, 1.0, 8.0) - se * 0.797_884_560_802_865_4).abs() < 1e-12);
        // A negative raw estimate becomes a positive posterior mean.
        let v = objective_bayes_debias(1.0, 100.0, 2.0);
        let r: f64 = -99.0 / 100.0;
        let mills = (-0.5 * r * r).exp() / (2.0 * std::f64::consts::PI).sqrt() / normal_sf(-r);
        assert!((v - (-99.0 + 100.0 * mills)).abs() < 1e-9 && v > 0.0, "{v}");
    }
}
