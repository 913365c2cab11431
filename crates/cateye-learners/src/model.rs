//! A fitted CATE learner that predicts new rows and persists: for every arm, the models behind
//! the reported estimates, with the binning of the covariates they were fitted on.
//!
//! Cross-fitting leaves K models (one per fold) or K(K − 1)/2 (one per pair of folds, for the
//! nuisances); each is a valid estimator fitted on most of the data, and a new row's prediction is
//! their mean. The estimates of the training rows reported by the fit stay out of fold; the model's
//! prediction of a training row uses every fold's model, so it differs from them (as a forest's
//! out-of-bag estimate differs from its prediction with all trees).
//!
//! No meta-learner has per-unit intervals yet, nor the learners' causal forest (grown without
//! little bags): predictions are point estimates.

use crate::base::{Fitted, SavedFit};
use crate::data::LearnerData;
use crate::error::{column_error, data_error, Result};
use cateye_forest::{Binning, CausalForestModel};
use cateye_hte::IsotonicFit;
use serde::{Deserialize, Serialize};

/// Where the X-learner's propensity weights come from for new rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SavedPropensity {
    /// A known constant (the design, or a given probability).
    Constant(f64),
    /// The cross-fitted classifiers (one per pair of folds), their mean clipped to
    /// `[clip, 1 − clip]`.
    Models {
        /// The classifiers.
        models: Vec<SavedFit>,
        /// The clipping bound.
        clip: f64,
    },
}

/// How one arm's effect is computed for new rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ArmEstimator {
    /// The R- and DR-learners: the final-stage regressions of τ, one per fold.
    Direct(Vec<SavedFit>),
    /// The S-learner: `μ(x, 1) − μ(x, 0)` with the per-fold models of the outcome on the
    /// covariates and the treatment indicator, coded with `binning` (the covariates' binning
    /// plus the indicator's).
    S {
        /// One model per fold.
        models: Vec<SavedFit>,
        /// The binning of the covariates and the indicator.
        binning: Binning,
    },
    /// The T-learner: `μ₁ − μ₀`, the outcome models of the two arms (one per pair of folds).
    T {
        /// Control outcome models.
        mu0: Vec<SavedFit>,
        /// Treated outcome models.
        mu1: Vec<SavedFit>,
    },
    /// The X-learner (Künzel et al. 2019): `e τ̂₀ + (1 − e) τ̂₁`.
    X {
        /// Regressions of the imputed effects on control rows, one per fold.
        tau0: Vec<SavedFit>,
        /// Regressions of the imputed effects on treated rows, one per fold.
        tau1: Vec<SavedFit>,
        /// The propensity weighting the two.
        propensity: SavedPropensity,
    },
    /// grf's causal forest (it has its own binning).
    CausalForest(CausalForestModel),
}

/// One arm's model: its estimator and, for a calibrated candidate, the calibration map.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ArmModel {
    /// The arm's code in the treatment column.
    pub arm: f64,
    /// The candidate reported, e.g. `DR-learner/forest + calibration`.
    pub candidate: String,
    /// How the raw effect is computed.
    pub estimator: ArmEstimator,
    /// The causal isotonic calibration map applied to the raw effect, if the candidate is calibrated.
    pub calibration: Option<IsotonicFit>,
}

/// A fitted CATE learner: predicts every arm's effect against control for new rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CateModel {
    binning: Binning,
    max_bins: usize,
    control: f64,
    arms: Vec<ArmModel>,
}

/// One arm's predicted effects.
#[derive(Clone, Debug, PartialEq)]
pub struct ArmPrediction {
    /// The arm's code.
    pub arm: f64,
    /// The effect of the arm against control, per row.
    pub cate: Vec<f64>,
}

/// The mean of several models' predictions of `rows` (with `set`, see [`Fitted::predict`]).
fn mean_prediction(models: &[SavedFit], data: &LearnerData, rows: &[usize], set: Option<(usize, f64)>) -> Vec<f64> {
    let mut sum = vec![0.0; rows.len()];
    for model in models {
        for (s, v) in sum.iter_mut().zip(model.predict(data, rows, set)) {
            *s += v;
        }
    }
    let k = models.len().max(1) as f64;
    sum.iter().map(|s| s / k).collect()
}

impl ArmEstimator {
    /// The raw effect of every row of `data` (coded with the model's covariate binning).
    fn predict(&self, data: &LearnerData, max_bins: usize) -> Result<Vec<f64>> {
        let rows: Vec<usize> = (0..data.num_rows()).collect();
        Ok(match self {
            ArmEstimator::Direct(models) => mean_prediction(models, data, &rows, None),
            ArmEstimator::S { models, binning } => {
                let mut columns: Vec<Vec<f64>> = (0..data.num_features()).map(|f| data.column(f).to_vec()).collect();
                columns.push(vec![0.0; data.num_rows()]);
                let with_w = LearnerData::with_binning(binning, columns, max_bins)?;
                let f = data.num_features();
                let treated = mean_prediction(models, &with_w, &rows, Some((f, 1.0)));
                let control = mean_prediction(models, &with_w, &rows, Some((f, 0.0)));
                treated.iter().zip(&control).map(|(a, b)| a - b).collect()
            }
            ArmEstimator::T { mu0, mu1 } => {
                let (m1, m0) = (mean_prediction(mu1, data, &rows, None), mean_prediction(mu0, data, &rows, None));
                m1.iter().zip(&m0).map(|(a, b)| a - b).collect()
            }
            ArmEstimator::X { tau0, tau1, propensity } => {
                let (t0, t1) = (mean_prediction(tau0, data, &rows, None), mean_prediction(tau1, data, &rows, None));
                let e = match propensity {
                    SavedPropensity::Constant(e) => vec![*e; rows.len()],
                    SavedPropensity::Models { models, clip } => mean_prediction(models, data, &rows, None)
                        .into_iter()
                        .map(|e| e.clamp(*clip, 1.0 - clip))
                        .collect(),
                };
                (0..rows.len()).map(|i| e[i] * t0[i] + (1.0 - e[i]) * t1[i]).collect()
            }
            ArmEstimator::CausalForest(model) => {
                let columns: Vec<&[f64]> = (0..data.num_features()).map(|f| data.column(f)).collect();
                model.predict(&columns)?.tau
            }
        })
    }

    /// Checks models read from a file against `p` covariates.
    fn check(&self, p: usize) -> Result<()> {
        let all = |models: &[SavedFit], p: usize| models.iter().try_for_each(|m| m.check(p));
        match self {
            ArmEstimator::Direct(models) => all(models, p),
            ArmEstimator::S { models, binning } => {
                if binning.num_features() != p + 1 {
                    return Err(data_error("the S-learner's binning does not fit the covariates"));
                }
                all(models, p + 1)
            }
            ArmEstimator::T { mu0, mu1 } => all(mu0, p).and(all(mu1, p)),
            ArmEstimator::X { tau0, tau1, propensity } => {
                all(tau0, p)?;
                all(tau1, p)?;
                match propensity {
                    SavedPropensity::Models { models, .. } => all(models, p),
                    SavedPropensity::Constant(_) => Ok(()),
                }
            }
            ArmEstimator::CausalForest(model) => {
                if model.covariates().len() != p {
                    return Err(data_error("the causal forest's covariates do not fit the model's"));
                }
                Ok(model.check()?)
            }
        }
    }
}

impl CateModel {
    /// A model of `arms` against `control`, fitted on covariates coded by `binning`.
    pub fn new(binning: Binning, max_bins: usize, control: f64, arms: Vec<ArmModel>) -> Self {
        CateModel { binning, max_bins, control, arms }
    }

    /// The covariates a new row must have, in this order.
    pub fn covariates(&self) -> &[String] {
        self.binning.names()
    }

    /// The control arm's code.
    pub fn control(&self) -> f64 {
        self.control
    }

    /// The arms' models.
    pub fn arms(&self) -> &[ArmModel] {
        &self.arms
    }

    /// Every arm's effect against control for new rows given by column, in the order of
    /// [`Self::covariates`]. Non-finite covariate values are an error naming the column and row.
    pub fn predict(&self, columns: Vec<Vec<f64>>) -> Result<Vec<ArmPrediction>> {
        if columns.len() != self.binning.num_features() {
            return Err(column_error(
                "covariates",
                format!(
                    "{} columns given for prediction, the model was fitted on {}",
                    columns.len(),
                    self.binning.num_features()
                ),
            ));
        }
        let data = LearnerData::with_binning(&self.binning, columns, self.max_bins)?;
        self.arms
            .iter()
            .map(|arm| {
                let raw = arm.estimator.predict(&data, self.max_bins)?;
                let cate = match &arm.calibration {
                    Some(map) => raw.iter().map(|&t| map.predict(t)).collect(),
                    None => raw,
                };
                Ok(ArmPrediction { arm: arm.arm, cate })
            })
            .collect()
    }

    /// Checks a model read from a file: every arm's models against the covariates.
    pub fn check(&self) -> Result<()> {
        let p = self.binning.num_features();
        self.arms.iter().try_for_each(|arm| arm.estimator.check(p))
    }
}
