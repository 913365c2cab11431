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
use crate::shard::{finish_regression, merge_regression, PointPartial, RegressionPartial, Shard, VariancePartial};
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
        Self::grow_shard(data, y_centered, w_centered, options, Shard::WHOLE, ticker)
    }

    /// The trees of `shard`'s little bags of the forest [`Self::grow`] grows (see
    /// [`crate::shard`]).
    pub fn grow_shard(
        data: &ForestData,
        y_centered: &[f64],
        w_centered: &[f64],
        options: &ForestOptions,
        shard: Shard,
        ticker: &Ticker<'_>,
    ) -> Result<Self> {
        options.validate()?;
        shard.check()?;
        let rule = SplitRule::new(Kind::Causal, options, data.num_features());
        let om = &data.weights;
        let (y, z) = (y_centered, w_centered);
        let targets = Targets { y, z, weight: om };
        let bags = shard.bags(options.trees_grown() / options.ci_group_size);
        let trees = grow_trees(
            data,
            targets,
            rule,
            options,
            PURPOSE_CAUSAL,
            bags,
            |u| [om[u], om[u] * y[u], om[u] * z[u], om[u] * z[u] * y[u], om[u] * z[u] * z[u]],
            ticker,
        );
        Ok(CausalForest { trees })
    }

    /// Out-of-bag estimates for the training rows (an error for a forest read from a file,
    /// which does not keep its trees' in-bag samples).
    pub fn predict_oob(&self, data: &ForestData) -> Result<CateEstimates> {
        self.require_in_bag()?;
        let cluster = |i: usize| data.clusters.cluster_of(i);
        let estimates = self.trees.predict_blocks(
            data.num_rows(),
            |i| data.features.row(i),
            Some(&cluster),
            |_, l, b, out| self.estimate_block(l, b, out),
        );
        let (tau, variance) = estimates.into_iter().unzip();
        Ok(CateEstimates { tau, variance })
    }

    /// Estimates for new rows binned with `ForestData::bin_new_rows`.
    pub fn predict(&self, rows: &[u16], num_features: usize) -> CateEstimates {
        let n = rows.len() / num_features.max(1);
        let row = |i: usize| &rows[i * num_features..(i + 1) * num_features];
        let estimates = self.trees.predict_blocks(n, row, None, |_, l, b, out| self.estimate_block(l, b, out));
        let (tau, variance) = estimates.into_iter().unzip();
        CateEstimates { tau, variance }
    }

    /// The out-of-bag [`PointPartial`]s of the training rows over this forest's trees (what a
    /// shard contributes to the points of [`Self::predict_oob`]).
    pub fn oob_point_partials(&self, data: &ForestData) -> Result<Vec<PointPartial>> {
        self.require_in_bag()?;
        let cluster = |i: usize| data.clusters.cluster_of(i);
        Ok(self.trees.predict_blocks(
            data.num_rows(),
            |i| data.features.row(i),
            Some(&cluster),
            |_, l, b, out| out.extend(self.point_block(l, b)),
        ))
    }

    /// The out-of-bag [`VariancePartial`]s of the training rows over this forest's little bags,
    /// at the rows' merged `points` (see [`solve_points`]).
    pub fn oob_variance_partials(&self, data: &ForestData, points: &[RowPoint]) -> Result<Vec<VariancePartial>> {
        self.require_in_bag()?;
        if points.len() != data.num_rows() {
            return Err(column_error("points", format!("{} for {} rows", points.len(), data.num_rows())));
        }
        let cluster = |i: usize| data.clusters.cluster_of(i);
        Ok(self.trees.predict_blocks(
            data.num_rows(),
            |i| data.features.row(i),
            Some(&cluster),
            |start, l, b, out| out.extend(self.variance_block(l, b, &points[start..start + b])),
        ))
    }

    /// The [`PointPartial`]s of new rows (binned with `ForestData::bin_new_rows`) over this
    /// forest's trees: what a shard contributes to the points of [`Self::predict`].
    pub fn point_partials(&self, rows: &[u16], num_features: usize) -> Vec<PointPartial> {
        let n = rows.len() / num_features.max(1);
        let row = |i: usize| &rows[i * num_features..(i + 1) * num_features];
        self.trees.predict_blocks(n, row, None, |_, l, b, out| out.extend(self.point_block(l, b)))
    }

    /// The [`VariancePartial`]s of new rows over this forest's little bags, at their merged
    /// `points`.
    pub fn variance_partials(&self, rows: &[u16], num_features: usize, points: &[RowPoint]) -> Vec<VariancePartial> {
        let n = rows.len() / num_features.max(1);
        let row = |i: usize| &rows[i * num_features..(i + 1) * num_features];
        self.trees.predict_blocks(n, row, None, |start, l, b, out| {
            out.extend(self.variance_block(l, b, &points[start..start + b]))
        })
    }

    /// The fitted trees (what split-frequency importance reads).
    pub fn trees(&self) -> &Trees<K> {
        &self.trees
    }

    /// Checks a forest read from a file against `p` covariates (every tree's structure).
    pub fn check(&self, p: usize) -> Result<()> {
        self.trees.check(p)
    }

    fn require_in_bag(&self) -> Result<()> {
        if self.trees.has_in_bag() {
            Ok(())
        } else {
            Err(ForestError::NoInBagSamples)
        }
    }

    /// Estimates and variances for a block of `b` rows routed to `leaves` (tree-major): the
    /// same [`PointPartial`]s, points and [`VariancePartial`]s a sharded forest merges.
    fn estimate_block(&self, leaves: &[u32], b: usize, out: &mut Vec<(f64, f64)>) {
        let partials = self.point_block(leaves, b);
        let points = solve_points(&partials);
        let variances = self.variance_block(leaves, b, &points);
        out.extend(finish_causal(&points, &variances, self.trees.group_size));
    }

    /// Per row of the block, the sums over the trees that predict it of their leaf statistics.
    fn point_block(&self, leaves: &[u32], b: usize) -> Vec<PointPartial> {
        let mut partials = vec![PointPartial::default(); b];
        for (t, tree) in self.trees.trees.iter().enumerate() {
            for (p, &leaf) in partials.iter_mut().zip(&leaves[t * b..(t + 1) * b]) {
                if leaf != NO_LEAF {
                    for (acc, &v) in p.sums.iter_mut().zip(&tree.leaves[leaf as usize]) {
                        acc.add(v);
                    }
                    p.used += 1;
                }
            }
        }
        partials
    }

    /// The little-bag terms of the variance (grf `InstrumentalPredictionStrategy::compute_variance`)
    /// of a block's rows at their `points`: per tree, `ψ_b = mean_leaf ω z (y − μ − τ z)` with
    /// the forest's τ and intercept μ; per row, over the bags whose trees all predict it, the
    /// number of such bags, `Σ ψ²` over their trees and `Σ ψ̄²` over the bags (ψ̄ a bag's mean).
    fn variance_block(&self, leaves: &[u32], b: usize, points: &[RowPoint]) -> Vec<VariancePartial> {
        let g = self.trees.group_size;
        let mut partials = vec![VariancePartial::default(); b];
        if g < 2 {
            return partials;
        }
        let trees = &self.trees.trees;
        let (mut bag_psi, mut bag_squared, mut complete) = (vec![0.0; b], vec![0.0; b], vec![true; b]);
        for bag in 0..trees.len() / g {
            bag_psi.fill(0.0);
            bag_squared.fill(0.0);
            complete.fill(true);
            for t in bag * g..(bag + 1) * g {
                for (s, &leaf) in leaves[t * b..(t + 1) * b].iter().enumerate() {
                    match (&points[s], leaf) {
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
            for (s, partial) in partials.iter_mut().enumerate() {
                if complete[s] {
                    partial.good += 1;
                    partial.psi_squared.add(bag_squared[s]);
                    let mean = bag_psi[s] / g as f64;
                    partial.bag_psi_squared.add(mean * mean);
                }
            }
        }
        partials
    }
}

/// A row's forest-weighted residual-on-residual solution (`None` without trees or treatment
/// variation at the row).
pub type RowPoint = Option<Point>;

/// The points of rows from their merged [`PointPartial`]s.
pub fn solve_points(partials: &[PointPartial]) -> Vec<RowPoint> {
    partials.iter().map(|p| Point::solve(p.sums.map(|s| s.value()), p.used)).collect()
}

/// Each row's `(τ̂, variance)` from its point and merged [`VariancePartial`]: the between-bag
/// mean square, less the within-bag noise `(var_total − var_between)/(g − 1)` removed by an
/// objective Bayes step that keeps the result positive, divided by the squared Jacobian
/// `(Σαω(z − z̄)²/Σαω)²`. NaN variance with little bags of one tree.
pub fn finish_causal(points: &[RowPoint], variances: &[VariancePartial], group_size: usize) -> Vec<(f64, f64)> {
    points
        .iter()
        .zip(variances)
        .map(|(point, v)| match point {
            None => (f64::NAN, f64::NAN),
            Some(p) if group_size < 2 || v.good == 0 => (p.tau, f64::NAN),
            Some(p) => {
                let good = f64::from(v.good);
                let var_between = v.bag_psi_squared.value() / good;
                let var_total = v.psi_squared.value() / (good * group_size as f64);
                let group_noise = (var_total - var_between) / (group_size - 1) as f64;
                (p.tau, objective_bayes_debias(var_between, group_noise, good) / (p.jacobian * p.jacobian))
            }
        })
        .collect()
}

/// The forest-weighted residual-on-residual solution at one row: the effect τ, the intercept μ
/// and the Jacobian of the moment equation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The CATE estimate τ̂(x).
    pub tau: f64,
    /// The intercept μ̂(x) of the centered outcome.
    pub mu: f64,
    /// `Σαω(z − z̄)² / Σαω`.
    pub jacobian: f64,
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
    let job = CausalShards::new(data, input, options)?;
    let start = Instant::now();
    let (y_hat, w_hat) = job.nuisance_reporting(Shard::WHOLE, progress).and_then(|p| job.nuisance(&p))?;
    let nuisance = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let (y_centered, w_centered) = job.centered(&y_hat, &w_hat);
    let ticker = Ticker::new(progress, "causal forest", options.trees_grown() as u64);
    let forest = CausalForest::grow_reporting(data, &y_centered, &w_centered, options, &ticker)?;
    let forest_seconds = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let oob = forest.predict_oob(data)?;
    let oob_predictions = start.elapsed().as_secs_f64();
    job.check_out_of_bag(&oob.tau)?;
    let n = data.num_rows();
    Ok(CausalForestFit {
        forest,
        y: input.y.to_vec(),
        w: input.w.to_vec(),
        y_hat,
        w_hat,
        oob,
        binary_treatment: job.binary_treatment,
        weights: data.weights().map(<[f64]>::to_vec),
        clusters: data.clusters().map(|c| (0..n).map(|i| c.cluster_of(i) as u32).collect()),
        timings: FitTimings { nuisance, forest: forest_seconds, oob_predictions },
        warnings: job.warnings,
    })
}

/// The out-of-bag partial sums of a shard of the two nuisance forests (see [`crate::shard`]):
/// `None` for a nuisance the caller supplied (`y_hat`, or a propensity that is not estimated).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NuisancePartials {
    /// The outcome forest's, for `ŷ = E[Y | X]`.
    pub outcome: Option<Vec<RegressionPartial>>,
    /// The propensity forest's, for `ŵ = E[W | X]`.
    pub treatment: Option<Vec<RegressionPartial>>,
}

impl NuisancePartials {
    /// Adds another shard's partials.
    pub fn merge(&mut self, other: &NuisancePartials) {
        for (mine, theirs) in [(&mut self.outcome, &other.outcome), (&mut self.treatment, &other.treatment)] {
            match (mine.as_mut(), theirs) {
                (Some(a), Some(b)) => merge_regression(a, b),
                (None, Some(b)) => *mine = Some(b.clone()),
                _ => {}
            }
        }
    }
}

/// Per-row values of a sharded stage for the training rows (out of bag) and for new rows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RowsAndNew<T> {
    /// One per training row.
    pub rows: Vec<T>,
    /// One per new row.
    pub new: Vec<T>,
}

/// A causal forest fit split into the stages of [`crate::shard`]: checked once, then each stage
/// run for any shard of the forest's little bags. [`fit_causal_forest`] runs every stage for
/// the whole forest; a distributed engine runs them for its shards and merges the partials, and
/// gets the same estimates.
#[derive(Debug)]
pub struct CausalShards<'a> {
    data: &'a ForestData,
    input: CausalInput<'a>,
    options: &'a ForestOptions,
    /// Whether the treatment is 0/1.
    pub binary_treatment: bool,
    /// Caveats found while checking the input.
    pub warnings: Vec<String>,
}

impl<'a> CausalShards<'a> {
    /// Checks the input as [`fit_causal_forest`] does.
    pub fn new(data: &'a ForestData, input: CausalInput<'a>, options: &'a ForestOptions) -> Result<Self> {
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
        Ok(CausalShards { data, input, options, binary_treatment, warnings })
    }

    /// The nuisance forests' settings: the causal forest's, with a quarter of its trees (at
    /// least 50) in little bags of one tree.
    pub fn nuisance_options(&self) -> ForestOptions {
        ForestOptions { num_trees: (self.options.num_trees / 4).max(50), ci_group_size: 1, ..self.options.clone() }
    }

    /// Stage 1 for `shard`: its bags of the nuisance forests that are estimated, and their
    /// out-of-bag partial sums.
    pub fn nuisance_partials(&self, shard: Shard) -> Result<NuisancePartials> {
        self.nuisance_reporting(shard, &silent)
    }

    fn nuisance_reporting(&self, shard: Shard, progress: Progress<'_>) -> Result<NuisancePartials> {
        let options = self.nuisance_options();
        let grow = |target: &[f64], name: &str, purpose: u64, stage: &str| -> Result<Vec<RegressionPartial>> {
            let ticker = Ticker::new(progress, stage, shard.bags(options.trees_grown()).len() as u64);
            let forest = RegressionForest::fit_shard(self.data, target, name, &options, purpose, shard, &ticker)?;
            forest.oob_partials(self.data)
        };
        let input = &self.input;
        Ok(NuisancePartials {
            outcome: match input.y_hat {
                Some(_) => None,
                None => Some(grow(input.y, input.outcome, PURPOSE_Y_HAT, "outcome forest")?),
            },
            treatment: match input.propensity {
                Propensity::Estimate => Some(grow(input.w, input.treatment, PURPOSE_W_HAT, "propensity forest")?),
                _ => None,
            },
        })
    }

    /// `ŷ` and `ŵ` from the merged partials of every shard (or the values the caller gave).
    pub fn nuisance(&self, partials: &NuisancePartials) -> Result<(Vec<f64>, Vec<f64>)> {
        let input = &self.input;
        let n = self.data.num_rows();
        let trees = self.nuisance_options().trees_grown();
        let predictions = |partials: &Option<Vec<RegressionPartial>>, target: &str| -> Result<Vec<f64>> {
            let Some(partials) = partials.as_ref().filter(|p| p.len() == n) else {
                return Err(column_error(
                    target,
                    "the nuisance forest's partial sums are missing or of another length",
                ));
            };
            let values: Vec<f64> = partials.iter().map(finish_regression).collect();
            if let Some(row) = values.iter().position(|p| p.is_nan()) {
                return Err(ForestError::NoOutOfBagNuisance { row, target: target.to_string(), trees });
            }
            Ok(values)
        };
        let y_hat = match input.y_hat {
            Some(y_hat) => {
                check_finite("y_hat", y_hat, n)?;
                y_hat.to_vec()
            }
            None => predictions(&partials.outcome, input.outcome)?,
        };
        let w_hat = match input.propensity {
            Propensity::Estimate => predictions(&partials.treatment, input.treatment)?,
            Propensity::Design => {
                let share = input.w.iter().sum::<f64>() / n as f64;
                vec![share; n]
            }
            Propensity::Known(e) => {
                if !(e > 0.0 && e < 1.0) && self.binary_treatment {
                    return Err(column_error("propensity", format!("{e} is not a probability in (0, 1)")));
                }
                vec![e; n]
            }
            Propensity::PerUnit { values: e, column } => {
                check_finite(column, e, n)?;
                if self.binary_treatment {
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
        Ok((y_hat, w_hat))
    }

    /// The centered outcome and treatment `y − ŷ`, `w − ŵ` the causal trees are grown on.
    pub fn centered(&self, y_hat: &[f64], w_hat: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let y = self.input.y.iter().zip(y_hat).map(|(y, m)| y - m).collect();
        let w = self.input.w.iter().zip(w_hat).map(|(w, e)| w - e).collect();
        (y, w)
    }

    /// Stage 2 for `shard`: its bags of the causal forest, and their [`PointPartial`]s for the
    /// training rows (out of bag) and for `new_rows` (binned with `ForestData::bin_new_rows`).
    pub fn point_partials(
        &self,
        y_hat: &[f64],
        w_hat: &[f64],
        shard: Shard,
        new_rows: &[u16],
    ) -> Result<RowsAndNew<PointPartial>> {
        let forest = self.shard_forest(y_hat, w_hat, shard)?;
        let p = self.data.num_features();
        Ok(RowsAndNew { rows: forest.oob_point_partials(self.data)?, new: forest.point_partials(new_rows, p) })
    }

    /// Stage 3 for `shard`: the same bags grown again, and their [`VariancePartial`]s at the
    /// merged `points` ([`solve_points`] of the merged stage-2 partials), for the training rows
    /// and `new_rows`.
    pub fn variance_partials(
        &self,
        y_hat: &[f64],
        w_hat: &[f64],
        points: &RowsAndNew<RowPoint>,
        shard: Shard,
        new_rows: &[u16],
    ) -> Result<RowsAndNew<VariancePartial>> {
        let p = self.data.num_features();
        if points.new.len() * p != new_rows.len() {
            return Err(column_error("points", format!("{} for {} new rows", points.new.len(), new_rows.len() / p)));
        }
        let forest = self.shard_forest(y_hat, w_hat, shard)?;
        Ok(RowsAndNew {
            rows: forest.oob_variance_partials(self.data, &points.rows)?,
            new: forest.variance_partials(new_rows, p, &points.new),
        })
    }

    /// Trees per little bag (`ci_group_size`; variances need at least 2).
    pub fn group_size(&self) -> usize {
        self.options.ci_group_size
    }

    /// The out-of-bag estimates from the merged partials of every shard: those of the forest
    /// grown whole; an error naming a row that no tree left out of its bags.
    pub fn estimates(&self, points: &[RowPoint], variances: &[VariancePartial]) -> Result<CateEstimates> {
        let (tau, variance): (Vec<f64>, Vec<f64>) =
            finish_causal(points, variances, self.options.ci_group_size).into_iter().unzip();
        self.check_out_of_bag(&tau)?;
        Ok(CateEstimates { tau, variance })
    }

    fn shard_forest(&self, y_hat: &[f64], w_hat: &[f64], shard: Shard) -> Result<CausalForest> {
        let n = self.data.num_rows();
        if y_hat.len() != n || w_hat.len() != n {
            return Err(column_error(
                "y_hat",
                format!("{} and {} nuisance values for {n} rows", y_hat.len(), w_hat.len()),
            ));
        }
        let (y, w) = self.centered(y_hat, w_hat);
        let ticker = Ticker::new(&silent, "causal forest", 0);
        CausalForest::grow_shard(self.data, &y, &w, self.options, shard, &ticker)
    }

    fn check_out_of_bag(&self, tau: &[f64]) -> Result<()> {
        match tau.iter().position(|t| t.is_nan()) {
            Some(row) => Err(ForestError::NoOutOfBag { row, trees: self.options.trees_grown() }),
            None => Ok(()),
        }
    }
}

/// The fewest treated and the fewest control units a causal forest accepts for a 0/1 treatment:
/// `max(10, 2 · min_node_size)`. Below it no tree can place a split with `min_node_size` units of
/// each arm on both sides, and the AIPW effect rests on a handful of inverse weights.
pub fn min_units_per_arm(options: &ForestOptions) -> usize {
    (2 * options.min_node_size).max(10)
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
