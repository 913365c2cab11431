//! The omnibus calibration test of a causal forest (Chernozhukov, Demirer, Duflo & Fernández-Val
//! 2018's best linear predictor, as grf's `test_calibration`): regress `Y − Ŷ` without intercept
//! on `(W − Ŵ) τ̄` and `(W − Ŵ)(τ̂ − τ̄)`, with `τ̂` the out-of-bag predictions and `τ̄` their mean.
//! A mean coefficient of 1 says the average prediction is correct; a differential coefficient
//! of 1 that the heterogeneity is well calibrated, and significantly above 0 that heterogeneity
//! exists. Robust SEs (HC3, or cluster-robust), one-sided p-values for H0: coefficient ≤ 0.

use crate::fit::CateFit;
use crate::ols::{weighted_ols, Coefficient};
use crate::vcov_of;
use crate::Result;
use serde::{Deserialize, Serialize};

/// The two coefficients of the best linear predictor, named as in grf's `test_calibration`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CalibrationTest {
    /// Coefficient of `(W − Ŵ) τ̄`: 1 when the average prediction is correct.
    pub mean_forest_prediction: Coefficient,
    /// Coefficient of `(W − Ŵ)(τ̂ − τ̄)`: 1 when the heterogeneity is well calibrated, above 0 when it exists.
    pub differential_forest_prediction: Coefficient,
}

/// The omnibus calibration test of `fit`: the weighted regression of `Y − Ŷ` without intercept on
/// `(W − Ŵ) τ̄` and `(W − Ŵ)(τ̂ − τ̄)`, with `τ̄` the weighted mean of `τ̂`, HC3 or cluster-robust SEs.
pub fn test_calibration(fit: &CateFit<'_>) -> Result<CalibrationTest> {
    let n = fit.y.len();
    let tau = fit.tau;
    let total: f64 = (0..n).map(|i| fit.weight(i)).sum();
    let mean_tau = (0..n).map(|i| fit.weight(i) * tau[i]).sum::<f64>() / total;
    let w_res: Vec<f64> = (0..n).map(|i| fit.w[i] - fit.w_hat[i]).collect();
    let mean_term: Vec<f64> = w_res.iter().map(|r| r * mean_tau).collect();
    let differential: Vec<f64> = w_res.iter().zip(tau).map(|(r, t)| r * (t - mean_tau)).collect();
    let y_res: Vec<f64> = (0..n).map(|i| fit.y[i] - fit.y_hat[i]).collect();
    let mut c = weighted_ols(
        &[("mean.forest.prediction", &mean_term), ("differential.forest.prediction", &differential)],
        &y_res,
        fit.weights,
        vcov_of(fit),
    )?;
    let differential_forest_prediction = c.pop().expect("two terms");
    let mean_forest_prediction = c.pop().expect("two terms");
    Ok(CalibrationTest { mean_forest_prediction, differential_forest_prediction })
}
