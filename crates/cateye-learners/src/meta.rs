//! The meta-learners: each turns cross-fitted nuisances (see [`crate::nuisance`]) and a base
//! learner into out-of-fold CATE estimates, `τ̂(X_i)` from models fitted without row i's fold,
//! for every row of the data (rows outside the pair are predicted by the fold they fall in).
//!
//! - **S** (single model): `μ(x, w)` with the treatment as a covariate; `τ̂ = μ̂(x, 1) − μ̂(x, 0)`.
//! - **T** (two models): `τ̂ = μ̂₁(x) − μ̂₀(x)`, the cross-fitted nuisances themselves.
//! - **X** (Künzel, Sekhon, Bickel & Yu 2019): imputed effects `D = Y − μ̂₀(x)` on treated and
//!   `μ̂₁(x) − Y` on control rows, regressed per arm to `τ̂₁`, `τ̂₀`, combined as
//!   `ê(x) τ̂₀(x) + (1 − ê(x)) τ̂₁(x)` (their propensity weighting).
//! - **R** (Nie & Wager 2021, eq. 4): minimises the R-loss `Σ ((Y − m̂) − (W − ê) τ(x))²` as the
//!   weighted regression of `(Y − m̂)/(W − ê)` on x with weights `(W − ê)²`.
//! - **DR** (Kennedy 2023): regression of the AIPW pseudo-outcome on x.
//! - **causal forest** (Athey, Tibshirani & Wager 2019): grf's forest with its own nuisances,
//!   out-of-bag estimates for the pair's rows.
//!
//! Intervals (when asked for): the R- and DR-learners with the forest base fit their final stage
//! as an honest regression forest in little bags of two trees, and each estimate carries that forest's
//! bootstrap-of-little-bags variance (the final stage's sampling variance given the cross-fitted
//! pseudo-outcomes; Athey, Tibshirani & Wager 2019, §4); the causal forest carries its own. The
//! S-, T- and X-learners, and every learner on the linear or boosting bases, report none: their
//! estimates are differences or mixtures of separately fitted models (or adaptive ones) whose
//! variances this package does not estimate.

use crate::base::{BaseKind, BaseLearner, SavedFit};
use crate::data::LearnerData;
use crate::error::{data_error, Result};
use crate::model::{ArmEstimator, SavedPropensity};
use crate::nuisance::{cross_fit, CrossFitted, Nuisances, Pair, PairPropensity, PropensityOrigin};
use cateye_forest::{fit_causal_forest, CausalForestModel, CausalInput, ForestOptions};
use cateye_stats::Folds;
use cateye_stats::UnknownChoice;
use serde::{Deserialize, Serialize};

/// A CATE estimation strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Learner {
    /// S-learner: one model `μ(x, w)` with the treatment as a covariate.
    S,
    /// T-learner: `μ̂₁(x) − μ̂₀(x)` from one outcome model per arm.
    T,
    /// X-learner (Künzel et al. 2019): imputed effects regressed per arm, weighted by the propensity.
    X,
    /// R-learner (Nie & Wager 2021): minimises the R-loss.
    R,
    /// DR-learner (Kennedy 2023): regression of the AIPW pseudo-outcome.
    Dr,
    /// grf's causal forest (needs no base learner).
    Forest,
}

impl Learner {
    /// The five meta-learners (the causal forest aside).
    pub const META: [Learner; 5] = [Learner::S, Learner::T, Learner::X, Learner::R, Learner::Dr];

    /// The learner's name in options and tables (`s`, `t`, `x`, `r`, `dr`, `forest`).
    pub fn name(self) -> &'static str {
        match self {
            Learner::S => "s",
            Learner::T => "t",
            Learner::X => "x",
            Learner::R => "r",
            Learner::Dr => "dr",
            Learner::Forest => "forest",
        }
    }
}

impl std::str::FromStr for Learner {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> std::result::Result<Self, UnknownChoice> {
        Learner::META
            .into_iter()
            .chain([Learner::Forest])
            .find(|l| l.name() == s)
            .ok_or_else(|| UnknownChoice::new("method", s, "forest, s, t, x, r or dr"))
    }
}

/// A learner with its base learner (`None` for the causal forest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetaLearner {
    /// The CATE strategy.
    pub learner: Learner,
    /// Its base learner (`None` for the causal forest).
    pub base: Option<BaseKind>,
}

impl MetaLearner {
    /// Display name, e.g. `DR-learner/forest` or `causal forest`.
    pub fn label(&self) -> String {
        match self.base {
            Some(b) => format!("{}-learner/{}", self.learner.name().to_uppercase(), b.name()),
            None => "causal forest".to_string(),
        }
    }
}

/// Everything a meta-learner needs for one pair of arms.
pub struct PairContext<'a> {
    /// Covariates of every row of the data.
    pub data: &'a LearnerData,
    /// The arm against control: outcome, treatment indicator and the pair's rows.
    pub pair: Pair<'a>,
    /// Cross-fitting folds of the rows.
    pub folds: &'a Folds,
    /// Cluster codes of the rows, when units are clustered (the causal forest samples whole clusters).
    pub clusters: Option<&'a [u32]>,
    /// Trees of the R- and DR-learners' final-stage forests when intervals are asked for
    /// (`None`: no intervals, the base learner as given).
    pub interval_trees: Option<usize>,
    /// Quantile bins per covariate when the data is binned again (the S-learner's treatment column).
    pub max_bins: usize,
    /// Seed from which every fit derives its own.
    pub seed: u64,
}

const SEED_S: u64 = 0x5001;
const SEED_X1: u64 = 0x5002;
const SEED_X0: u64 = 0x5003;
const SEED_R: u64 = 0x5004;
const SEED_DR: u64 = 0x5005;

/// A learner's out-of-fold estimates for every row of the data.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LearnerEstimates {
    /// `τ̂(X_i)`.
    pub cate: Vec<f64>,
    /// The variance of each estimate, for a learner that has one (see the module docs).
    pub variance: Option<Vec<f64>>,
    /// With `keep`, the estimator that predicts new rows.
    pub estimator: Option<ArmEstimator>,
}

/// Out-of-fold CATE estimates of a meta-learner (not the causal forest) for every row. The
/// final stage predicting fold k trains on pseudo-outcomes whose nuisances exclude fold k. With
/// `keep`, also the estimator that predicts new rows (its models; the T- and X-learners need the
/// nuisance models too, so `nuisances` must have been fitted with them kept).
pub fn meta_learner_cate(
    learner: Learner,
    ctx: &PairContext,
    base: &dyn BaseLearner,
    nuisances: &Nuisances,
    keep: bool,
) -> Result<LearnerEstimates> {
    let (data, pair, folds) = (ctx.data, ctx.pair, ctx.folds);
    let (y, w) = (pair.y, pair.w);
    let (mu0, mu1, e) = (&nuisances.mu0, &nuisances.mu1, &nuisances.e);
    let member = |i: usize| pair.member[i];
    let regress = |data: &LearnerData,
                   train: &(dyn Fn(usize) -> bool + Sync),
                   target: &(dyn Fn(usize, usize) -> f64 + Sync),
                   weight: Option<&(dyn Fn(usize, usize) -> f64 + Sync)>,
                   sets: &[Option<(usize, f64)>],
                   purpose: u64| {
        cross_fit(data, folds, base, train, target, weight, sets, ctx.seed ^ purpose, keep)
            .map(|fit| (fit.predictions, fit.models))
    };
    // The R- and DR-learners' final stage, with intervals when asked and the base can give them.
    // Not with clusters: the final-stage forest samples units, and its little-bag variance
    // would treat a cluster's units as independent.
    let with_intervals =
        ctx.interval_trees.filter(|_| ctx.clusters.is_none()).and_then(|trees| base.with_intervals(trees));
    let final_stage = |train: &(dyn Fn(usize) -> bool + Sync),
                       target: &(dyn Fn(usize, usize) -> f64 + Sync),
                       weight: Option<&(dyn Fn(usize, usize) -> f64 + Sync)>,
                       purpose: u64| {
        let base = with_intervals.as_deref().unwrap_or(base);
        let mut fit = cross_fit(data, folds, base, train, target, weight, &[None], ctx.seed ^ purpose, keep)?;
        let estimator = keep.then_some(fit.models).map(ArmEstimator::Direct);
        Ok(LearnerEstimates { cate: fit.predictions.remove(0), variance: fit.variance, estimator })
    };
    let sample_weight = |_: usize, i: usize| pair.weight(i);
    let weighted = pair.weights.is_some().then_some(&sample_weight as &(dyn Fn(usize, usize) -> f64 + Sync));
    let kept = |models: Vec<SavedFit>| keep.then_some(models);
    let without_variance =
        |cate: Vec<f64>, estimator: Option<ArmEstimator>| Ok(LearnerEstimates { cate, variance: None, estimator });
    match learner {
        Learner::S => {
            let indicator: Vec<f64> =
                (0..data.num_rows()).map(|i| if pair.is_treated(i) { 1.0 } else { 0.0 }).collect();
            let with_w = data.with_column(indicator, "(treatment)", ctx.max_bins)?;
            let f = data.num_features();
            let target = |_: usize, i: usize| y[i];
            let (mut out, models) =
                regress(&with_w, &member, &target, weighted, &[Some((f, 1.0)), Some((f, 0.0))], SEED_S)?;
            let (treated, control) = (out.remove(0), out.remove(0));
            let estimator = kept(models).map(|models| ArmEstimator::S { models, binning: with_w.binning().clone() });
            without_variance(treated.iter().zip(&control).map(|(a, b)| a - b).collect(), estimator)
        }
        Learner::T => {
            let estimator = if keep {
                Some(ArmEstimator::T { mu0: kept_models(mu0, "T")?, mu1: kept_models(mu1, "T")? })
            } else {
                None
            };
            without_variance(mu1.oof.iter().zip(&mu0.oof).map(|(a, b)| a - b).collect(), estimator)
        }
        Learner::X => {
            let treated = |i: usize| pair.is_treated(i);
            let control = |i: usize| pair.is_control(i);
            let d1 = |k: usize, i: usize| y[i] - mu0.at(Some(k), i);
            let d0 = |k: usize, i: usize| mu1.at(Some(k), i) - y[i];
            let (mut tau1, models1) = regress(data, &treated, &d1, weighted, &[None], SEED_X1)?;
            let (mut tau0, models0) = regress(data, &control, &d0, weighted, &[None], SEED_X0)?;
            let (tau1, tau0) = (tau1.remove(0), tau0.remove(0));
            let estimator = if keep {
                let propensity =
                    match nuisances.propensity_origin {
                        PropensityOrigin::Constant(e) => SavedPropensity::Constant(e),
                        PropensityOrigin::Estimated { clip } => {
                            SavedPropensity::Models { models: kept_models(e, "X")?, clip }
                        }
                        PropensityOrigin::PerUnit => return Err(data_error(
                            "the X-learner weighs by the propensity, and per-unit known propensities are not known \
                             for new rows: no model can be kept (estimate the propensity, or use another learner)",
                        )),
                    };
                Some(ArmEstimator::X { tau0: models0, tau1: models1, propensity })
            } else {
                None
            };
            without_variance(
                (0..data.num_rows()).map(|i| e.oof[i] * tau0[i] + (1.0 - e.oof[i]) * tau1[i]).collect(),
                estimator,
            )
        }
        Learner::R => {
            let m = nuisances
                .m
                .as_ref()
                .ok_or_else(|| data_error("the R-learner needs the outcome model m(x): fit the nuisances with m"))?;
            let residual = |k: usize, i: usize| w[i] - e.at(Some(k), i);
            // A row with W = ê carries no information (weight 0).
            let target = |k: usize, i: usize| {
                let r = residual(k, i);
                if r.abs() < 1e-12 {
                    0.0
                } else {
                    (y[i] - m.at(Some(k), i)) / r
                }
            };
            let weight = |k: usize, i: usize| pair.weight(i) * residual(k, i).powi(2);
            final_stage(&member, &target, Some(&weight), SEED_R)
        }
        Learner::Dr => {
            let target = |k: usize, i: usize| nuisances.dr_score(Some(k), i, y[i], w[i]);
            final_stage(&member, &target, weighted, SEED_DR)
        }
        Learner::Forest => Err(data_error("the causal forest is not a meta-learner: use causal_forest_cate")),
    }
}

/// The kept models of a nuisance (an error when they were not kept).
fn kept_models(nuisance: &CrossFitted, learner: &str) -> Result<Vec<SavedFit>> {
    if nuisance.models.is_empty() {
        return Err(data_error(format!(
            "the {learner}-learner's model needs its nuisance models: fit the nuisances with keep"
        )));
    }
    Ok(nuisance.models.clone())
}

/// grf's causal forest on the pair's rows: out-of-bag estimates there, all-tree predictions for
/// rows outside the pair, each with its bootstrap-of-little-bags variance when intervals are
/// asked for. The forest fits its
/// own nuisances (E[Y|X] by a regression forest; the propensity as given, or estimated by a
/// regression forest of W).
pub fn causal_forest_cate(
    ctx: &PairContext,
    propensity: PairPropensity,
    trees: usize,
    keep: bool,
) -> Result<LearnerEstimates> {
    let pair = ctx.pair;
    let rows = pair.rows();
    let weights: Option<Vec<f64>> = pair.weights.map(|w| rows.iter().map(|&i| w[i]).collect());
    let mut subset = ctx.data.binned().subset(&rows, weights.as_deref().map(|w| (w, "weights")))?;
    if let Some(clusters) = ctx.clusters {
        let ids: Vec<u64> = rows.iter().map(|&i| u64::from(clusters[i])).collect();
        subset = subset.with_clusters(&ids, "cluster")?;
    }
    let y: Vec<f64> = rows.iter().map(|&i| pair.y[i]).collect();
    let w: Vec<f64> = rows.iter().map(|&i| pair.w[i]).collect();
    let per_unit: Vec<f64>;
    let propensity = match propensity {
        PairPropensity::Constant(e) => cateye_forest::Propensity::Known(e),
        PairPropensity::PerUnit(values) => {
            per_unit = rows.iter().map(|&i| values[i]).collect();
            cateye_forest::Propensity::PerUnit { values: &per_unit, column: "propensity" }
        }
        PairPropensity::Estimate { .. } => cateye_forest::Propensity::Estimate,
    };
    let input = CausalInput { y: &y, w: &w, outcome: "outcome", treatment: "treatment", propensity, y_hat: None };
    // Little bags of two trees for its intervals when they are asked for; single-tree bags
    // otherwise (the same forest as before intervals existed, and its R-loss ranked it better
    // in Nie & Wager's setup C: chosen in 5 of 10 replications against 2).
    let options = ForestOptions::default().with(|c| {
        c.num_trees = trees;
        c.ci_group_size = if ctx.interval_trees.is_some() { 2 } else { 1 };
        c.seed = ctx.seed;
    });
    let fit = fit_causal_forest(&subset, input, &options)?;
    let (mut cate, mut variance) = (vec![f64::NAN; ctx.data.num_rows()], vec![f64::NAN; ctx.data.num_rows()]);
    for (k, &i) in rows.iter().enumerate() {
        (cate[i], variance[i]) = (fit.oob.tau[k], fit.oob.variance[k]);
    }
    let outside: Vec<usize> = (0..ctx.data.num_rows()).filter(|&i| !pair.member[i]).collect();
    if !outside.is_empty() {
        let codes = ctx.data.codes(&outside, None);
        let predicted = fit.forest.predict(&codes, ctx.data.num_features());
        for (k, &i) in outside.iter().enumerate() {
            (cate[i], variance[i]) = (predicted.tau[k], predicted.variance[k]);
        }
    }
    let estimator =
        keep.then(|| ArmEstimator::CausalForest(CausalForestModel::new(fit.forest, subset.binning().clone(), options)));
    let variance = ctx.interval_trees.is_some().then_some(variance);
    Ok(LearnerEstimates { cate, variance, estimator })
}
