//! Cross-fitted nuisance models of one treatment arm against control: the outcome regressions
//! `μ₀(x) = E[Y | X = x, W = 0]`, `μ₁(x) = E[Y | X = x, W = 1]`, `m(x) = E[Y | X = x]` and the
//! propensity `e(x) = P(W = 1 | X = x)` (within the pair of arms).
//!
//! Nuisances are fitted **leaving two folds out**: for every pair of folds {a, b} one model is
//! fitted without both and predicts both. A final-stage model that will predict fold k then
//! trains on pseudo-outcomes of rows in fold j built from the model fitted without k and j, so
//! nothing it learns has seen fold k's outcomes — not even through the nuisances. With plain
//! cross-fitting, row i's outcome enters the nuisance values of every other fold's rows, the
//! final stage learns from them, and `τ̂(X_i)` correlates with row i's noise: held-out losses
//! then reward learners whose nuisances fit individual rows closely (we saw the X-learner with
//! boosting chosen in every replication at twice the best PEHE). A row's own out-of-fold value
//! is the mean of the K − 1 models fitted without its fold. The cost is K(K − 1)/2 fits on
//! (K − 2)/K of the data instead of K fits on (K − 1)/K: 1.5× for K = 5.

use crate::base::{BaseLearner, SavedFit, Task};
use crate::data::LearnerData;
use crate::error::{data_error, Result};
use cateye_hte::aipw_score;
use cateye_stats::Folds;
use rayon::prelude::*;
use serde::Serialize;

/// One arm against control: which rows take part and their treatment indicator.
#[derive(Clone, Copy)]
pub struct Pair<'a> {
    /// Outcome per row of the data.
    pub y: &'a [f64],
    /// 1 for the arm, 0 for control (any value outside the pair).
    pub w: &'a [f64],
    /// Rows of the arm or control; models train on these only, but predict every row.
    pub member: &'a [bool],
    /// Sample weights per row of the data (`None`: every row weighs 1), used in every fit.
    pub weights: Option<&'a [f64]>,
}

impl Pair<'_> {
    /// Indices of the pair's rows (arm or control), ascending.
    pub fn rows(&self) -> Vec<usize> {
        (0..self.y.len()).filter(|&i| self.member[i]).collect()
    }
    /// Whether row `i` belongs to the arm.
    pub fn is_treated(&self, i: usize) -> bool {
        self.member[i] && self.w[i] == 1.0
    }
    /// Whether row `i` belongs to control.
    pub fn is_control(&self, i: usize) -> bool {
        self.member[i] && self.w[i] == 0.0
    }
    /// Sample weight of row `i`.
    pub fn weight(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i])
    }
}

/// A nuisance function's values: out of fold, and excluding any second fold.
#[derive(Clone, Debug)]
pub struct CrossFitted {
    /// `excluding[k][i]`: from the model fitted without fold k and row i's fold (NaN in fold k).
    excluding: Vec<Vec<f64>>,
    fold: Vec<u32>,
    /// Each row's out-of-fold value (mean over the models fitted without its fold).
    pub oof: Vec<f64>,
    /// The models, one per pair of folds, when they were asked to be kept (for a model that
    /// predicts new rows: the mean of their predictions).
    pub models: Vec<SavedFit>,
}

impl CrossFitted {
    /// A known function (the same value however the folds fall).
    pub fn known(values: Vec<f64>) -> Self {
        CrossFitted { excluding: Vec::new(), fold: Vec::new(), oof: values, models: Vec::new() }
    }

    /// The value of row `i` for a final stage that predicts fold `k` (`None`: out of fold).
    pub fn at(&self, k: Option<usize>, i: usize) -> f64 {
        match k {
            Some(k) if !self.excluding.is_empty() && self.fold[i] as usize != k => self.excluding[k][i],
            _ => self.oof[i],
        }
    }
}

/// One cross-fitting model's work: the folds it was fitted without, the rows it predicts, its
/// predictions, and the model when it is kept.
struct HeldOutFit<P> {
    folds: (usize, usize),
    held: Vec<usize>,
    predictions: P,
    saved: Option<SavedFit>,
}

/// What nuisances to fit and keep besides μ₀, μ₁ and e.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NuisanceNeeds {
    /// Fit m(x) = E[Y | X] too (the R-learner and the R-loss need it).
    pub m: bool,
    /// Keep μ₀ and μ₁'s models (a T-learner's model needs them).
    pub keep_outcomes: bool,
    /// Keep e's models (an X-learner's model with an estimated propensity needs them).
    pub keep_propensity: bool,
}

/// Fits `base` once per pair of folds on the rows outside both that `train` accepts and
/// predicts both folds (see the module doc). Fits run in parallel with seeds derived from `seed`
/// and the pair, so the result does not depend on the number of threads. With `keep` the
/// models are kept (see [`CrossFitted::models`]).
#[allow(clippy::too_many_arguments)]
pub fn cross_fit_nuisance(
    data: &LearnerData,
    folds: &Folds,
    base: &dyn BaseLearner,
    task: Task,
    train: &(dyn Fn(usize) -> bool + Sync),
    target: &(dyn Fn(usize) -> f64 + Sync),
    weights: Option<&[f64]>,
    seed: u64,
    keep: bool,
) -> Result<CrossFitted> {
    let k = folds.k();
    let pairs: Vec<(usize, usize)> = (0..k).flat_map(|a| (a + 1..k).map(move |b| (a, b))).collect();
    let fitted: Vec<HeldOutFit<Vec<f64>>> = pairs
        .par_iter()
        .map(|&(a, b)| {
            let rows = folds.training_without(a, b, train);
            if rows.is_empty() {
                return Err(data_error(format!("folds {a} and {b}: no rows to fit a nuisance model on")));
            }
            let targets: Vec<f64> = rows.iter().map(|&i| target(i)).collect();
            let weights: Option<Vec<f64>> = weights.map(|w| rows.iter().map(|&i| w[i]).collect());
            let seed = seed.wrapping_add((a * k + b) as u64 * 7919);
            let model = base.fit(data, &rows, &targets, weights.as_deref(), task, seed)?;
            let held = folds.held_out_pair(a, b);
            let predictions = model.predict(data, &held, None);
            let saved = if keep { Some(SavedFit::from_fitted(model, base.name())?) } else { None };
            Ok(HeldOutFit { folds: (a, b), held, predictions, saved })
        })
        .collect::<Result<_>>()?;
    let n = data.num_rows();
    let mut excluding = vec![vec![f64::NAN; n]; k];
    let mut models = Vec::new();
    for HeldOutFit { folds: (a, b), held, predictions, saved } in fitted {
        models.extend(saved);
        for (&i, v) in held.iter().zip(predictions) {
            let other = if folds.fold_of(i) == a { b } else { a };
            excluding[other][i] = v;
        }
    }
    let oof = (0..n)
        .map(|i| {
            let own = folds.fold_of(i);
            (0..k).filter(|&j| j != own).map(|j| excluding[j][i]).sum::<f64>() / (k - 1) as f64
        })
        .collect();
    let fold = (0..n).map(|i| folds.fold_of(i) as u32).collect();
    Ok(CrossFitted { excluding, fold, oof, models })
}

/// A final-stage cross-fit: for every fold `k`, fits `base` on the rows outside `k` that `train`
/// accepts, with `target(k, i)` and optional `weight(k, i)` (built from nuisance values that
/// exclude fold k), and predicts every row of fold `k` under each of `sets` (see
/// [`crate::base::Fitted::predict`]). Folds are fitted in parallel with derived seeds. Returns
/// the predictions per set, their variances when there is one set `None` and every fold's model
/// has one ([`crate::base::Fitted::predict_with_variance`]), and, with `keep`, the fold models
/// in fold order.
#[allow(clippy::too_many_arguments)]
pub fn cross_fit(
    data: &LearnerData,
    folds: &Folds,
    base: &dyn BaseLearner,
    train: &(dyn Fn(usize) -> bool + Sync),
    target: &(dyn Fn(usize, usize) -> f64 + Sync),
    weight: Option<&(dyn Fn(usize, usize) -> f64 + Sync)>,
    sets: &[Option<(usize, f64)>],
    seed: u64,
    keep: bool,
) -> Result<CrossFit> {
    let per_fold: Vec<HeldOutFit<FoldPredictions>> = (0..folds.k())
        .into_par_iter()
        .map(|k| {
            let rows = folds.training(k, train);
            if rows.is_empty() {
                return Err(data_error(format!("fold {k}: no rows to fit on outside the fold")));
            }
            let targets: Vec<f64> = rows.iter().map(|&i| target(k, i)).collect();
            let weights: Option<Vec<f64>> = weight.map(|w| rows.iter().map(|&i| w(k, i)).collect());
            let model = base.fit(
                data,
                &rows,
                &targets,
                weights.as_deref(),
                Task::Regression,
                seed.wrapping_add(k as u64 * 7919),
            )?;
            let held = folds.held_out(k);
            // A model with variances gives its predictions with them, in one pass.
            let with_variance = (sets == [None]).then(|| model.predict_with_variance(data, &held)).flatten();
            let (predictions, variance) = match with_variance {
                Some(pairs) => {
                    let (mean, variance): (Vec<f64>, Vec<(f64, f64)>) = pairs.iter().map(|&(m, v)| (m, (m, v))).unzip();
                    (vec![mean], Some(variance))
                }
                None => (sets.iter().map(|&set| model.predict(data, &held, set)).collect(), None),
            };
            let saved = if keep { Some(SavedFit::from_fitted(model, base.name())?) } else { None };
            Ok(HeldOutFit { folds: (k, k), held, predictions: (predictions, variance), saved })
        })
        .collect::<Result<_>>()?;
    let mut out = vec![vec![f64::NAN; data.num_rows()]; sets.len()];
    let mut variance = per_fold.iter().all(|fit| fit.predictions.1.is_some()).then(|| vec![f64::NAN; data.num_rows()]);
    let mut models = Vec::new();
    for HeldOutFit { held, predictions: (predictions, with_variance), saved, .. } in per_fold {
        models.extend(saved);
        for (column, values) in out.iter_mut().zip(predictions) {
            for (&i, v) in held.iter().zip(values) {
                column[i] = v;
            }
        }
        if let (Some(variance), Some(values)) = (variance.as_mut(), with_variance) {
            for (&i, (_, v)) in held.iter().zip(values) {
                variance[i] = v;
            }
        }
    }
    Ok(CrossFit { predictions: out, variance, models })
}

/// A fold model's predictions per set, and with their variances when it has them.
type FoldPredictions = (Vec<Vec<f64>>, Option<Vec<(f64, f64)>>);

/// What [`cross_fit`] returns for every row of the data.
#[derive(Clone, Debug)]
pub struct CrossFit {
    /// Out-of-fold predictions, one vector per set.
    pub predictions: Vec<Vec<f64>>,
    /// Their variances, when there is one set `None` and every fold model has one.
    pub variance: Option<Vec<f64>>,
    /// With `keep`, the fold models in fold order.
    pub models: Vec<SavedFit>,
}

/// Where the propensity of a pair comes from.
#[derive(Clone, Copy, Debug)]
pub enum PairPropensity<'a> {
    /// A known constant (randomised design).
    Constant(f64),
    /// Known per-unit values.
    PerUnit(&'a [f64]),
    /// Cross-fitted classifier of W on X with the base learner, clipped to `[clip, 1 − clip]`.
    Estimate {
        /// The clipping bound.
        clip: f64,
    },
}

/// Summary of the propensities used.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct PropensitySummary {
    /// Where the propensities came from, e.g. `known: 0.5` or `estimated (forest), clipped to [0.05, 0.95]`.
    pub source: String,
    /// Smallest out-of-fold propensity of the pair's rows.
    pub min: f64,
    /// Largest out-of-fold propensity of the pair's rows.
    pub max: f64,
    /// Mean out-of-fold propensity of the pair's rows.
    pub mean: f64,
    /// Estimated out-of-fold values of the pair's rows moved to the clipping bounds.
    pub clipped: usize,
}

/// Cross-fitted nuisances of a pair, for every row of the data.
#[derive(Clone, Debug)]
pub struct Nuisances {
    /// `μ₀(x) = E[Y | X = x, W = 0]`, fitted on control rows.
    pub mu0: CrossFitted,
    /// `μ₁(x) = E[Y | X = x, W = 1]`, fitted on the arm's rows.
    pub mu1: CrossFitted,
    /// `E[Y | X]` within the pair, fitted on all the pair's rows (the R-learner's outcome model
    /// and the R-loss's: with few treated rows in a region it is far better estimated than
    /// `e μ₁ + (1 − e) μ₀`). `None` unless asked for.
    pub m: Option<CrossFitted>,
    /// The propensity `e(x) = P(W = 1 | X = x)` within the pair (known, or estimated and clipped).
    pub e: CrossFitted,
    /// Summary of the propensities.
    pub propensity: PropensitySummary,
    /// Where the propensity came from (what a model of the X-learner needs for new rows).
    pub propensity_origin: PropensityOrigin,
}

/// Where a pair's propensity came from, without its values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PropensityOrigin {
    /// A known constant.
    Constant(f64),
    /// Known per-unit values (unknown for new rows).
    PerUnit,
    /// Estimated by a cross-fitted classifier, clipped to `[clip, 1 − clip]`.
    Estimated {
        /// The clipping bound.
        clip: f64,
    },
}

const SEED_MU0: u64 = 0x3001;
const SEED_MU1: u64 = 0x3002;
const SEED_E: u64 = 0x3003;
const SEED_M: u64 = 0x3004;

impl Nuisances {
    /// Fits μ₀ on control rows, μ₁ on arm rows, m on the pair (if `needs.m`) and e (if
    /// estimated), keeping the models `needs` asks for.
    pub fn fit(
        data: &LearnerData,
        pair: Pair,
        folds: &Folds,
        base: &dyn BaseLearner,
        propensity: PairPropensity,
        needs: NuisanceNeeds,
        seed: u64,
    ) -> Result<Self> {
        let NuisanceNeeds { m: with_m, keep_outcomes, keep_propensity } = needs;
        let y = pair.y;
        let outcome = |i: usize| y[i];
        let regress = |train: &(dyn Fn(usize) -> bool + Sync), purpose: u64, keep: bool| {
            cross_fit_nuisance(data, folds, base, Task::Regression, train, &outcome, pair.weights, seed ^ purpose, keep)
        };
        let mu0 = regress(&|i| pair.is_control(i), SEED_MU0, keep_outcomes)?;
        let mu1 = regress(&|i| pair.is_treated(i), SEED_MU1, keep_outcomes)?;
        // m(x) only scores and feeds the R-learner's pseudo-outcomes: a model never needs it.
        let m = if with_m { Some(regress(&|i| pair.member[i], SEED_M, false)?) } else { None };
        let members = pair.rows();
        let (e, source, clipped) = match propensity {
            PairPropensity::Constant(e) => (CrossFitted::known(vec![e; data.num_rows()]), format!("known: {e}"), 0),
            PairPropensity::PerUnit(values) => {
                (CrossFitted::known(values.to_vec()), "known per unit (column)".to_string(), 0)
            }
            PairPropensity::Estimate { clip } => {
                let treated = |i: usize| pair.w[i];
                let mut e = cross_fit_nuisance(
                    data,
                    folds,
                    base,
                    Task::Classification,
                    &|i| pair.member[i],
                    &treated,
                    pair.weights,
                    seed ^ SEED_E,
                    keep_propensity,
                )?;
                let clipped = members.iter().filter(|&&i| e.oof[i] < clip || e.oof[i] > 1.0 - clip).count();
                for v in e.oof.iter_mut().chain(e.excluding.iter_mut().flatten()) {
                    *v = v.clamp(clip, 1.0 - clip);
                }
                (e, format!("estimated ({}), clipped to [{clip}, {}]", base.name(), 1.0 - clip), clipped)
            }
        };
        let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        for &i in &members {
            min = min.min(e.oof[i]);
            max = max.max(e.oof[i]);
            sum += e.oof[i];
        }
        let mean = sum / members.len().max(1) as f64;
        let propensity_origin = match propensity {
            PairPropensity::Constant(e) => PropensityOrigin::Constant(e),
            PairPropensity::PerUnit(_) => PropensityOrigin::PerUnit,
            PairPropensity::Estimate { clip } => PropensityOrigin::Estimated { clip },
        };
        Ok(Nuisances {
            mu0,
            mu1,
            m,
            e,
            propensity: PropensitySummary { source, min, max, mean, clipped },
            propensity_origin,
        })
    }

    /// The doubly robust (AIPW) pseudo-outcome of row `i` ([`cateye_hte::aipw_score`]) with the
    /// nuisance values for a final stage predicting fold `k` (`None`: out of fold). Estimated
    /// propensities were clipped when they were fitted (see [`PairPropensity::Estimate`]).
    pub fn dr_score(&self, k: Option<usize>, i: usize, y: f64, w: f64) -> f64 {
        aipw_score(y, w, self.mu0.at(k, i), self.mu1.at(k, i), self.e.at(k, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::Fitted;

    /// A "learner" that predicts the sum of the distinct targets it was trained on: with target
    /// 2^fold, its prediction is the set of folds it saw, as bits.
    struct FoldsSeen;
    struct Constant(f64);

    impl Fitted for Constant {
        fn predict(&self, _: &LearnerData, rows: &[usize], _: Option<(usize, f64)>) -> Vec<f64> {
            vec![self.0; rows.len()]
        }
    }

    impl BaseLearner for FoldsSeen {
        fn name(&self) -> &'static str {
            "folds seen"
        }
        fn fit(
            &self,
            _: &LearnerData,
            _: &[usize],
            target: &[f64],
            _: Option<&[f64]>,
            _: Task,
            _: u64,
        ) -> Result<Box<dyn Fitted>> {
            let mut distinct = target.to_vec();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            Ok(Box::new(Constant(distinct.iter().sum())))
        }
    }

    #[test]
    fn nuisances_for_a_final_stage_never_saw_its_fold() {
        let n = 100;
        let strata: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let folds = Folds::stratified(&strata, 5, 7, crate::pipeline::PURPOSE_FOLDS).unwrap();
        let data = LearnerData::new(vec![(0..n).map(|i| i as f64).collect()], &["x".into()], 64).unwrap();
        let bit = |i: usize| (1u32 << folds.fold_of(i)) as f64;
        let fitted =
            cross_fit_nuisance(&data, &folds, &FoldsSeen, Task::Regression, &|_| true, &bit, None, 0, false).unwrap();
        let all = 31.0;
        for i in 0..n {
            let own = folds.fold_of(i);
            for k in (0..5).filter(|&k| k != own) {
                // Trained on every fold but k and row i's own.
                assert_eq!(fitted.at(Some(k), i), all - (1u32 << k) as f64 - bit(i), "row {i}, fold {k}");
            }
            // Out of fold: the mean of the four models fitted without row i's fold.
            let expected = (0..5).filter(|&k| k != own).map(|k| all - (1u32 << k) as f64 - bit(i)).sum::<f64>() / 4.0;
            assert_eq!(fitted.at(None, i), expected);
            assert_eq!(fitted.at(Some(own), i), expected);
        }
    }
}
