//! AIPW average treatment effects for the target samples of grf's `average_treatment_effect`.

use crate::fit::CateFit;
use crate::ols::weighted_ols;
use crate::scores::{clipped_propensity, doubly_robust_scores, require_binary};
use crate::Result;
use crate::{influence_se, vcov_of};
use cateye_stats::Z_975;
use serde::{Deserialize, Serialize};

/// Whose average effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetSample {
    /// All units: the mean of the doubly robust scores.
    All,
    /// The treated (ATT): `Σ[W(Y − μ̂0) − (1−W) ê/(1−ê) (Y − μ̂0)] / Σ W`.
    Treated,
    /// The controls (ATC): `Σ[(1−W)(μ̂1 − Y) + W (1−ê)/ê (Y − μ̂1)] / Σ (1 − W)`.
    Control,
    /// Overlap-weighted (weights ê(1−ê)): the residual-on-residual OLS slope of Y − Ŷ on W − Ŵ, HC3 SE.
    Overlap,
}

impl TargetSample {
    /// Every target sample, in the order of grf's `target.sample` choices.
    pub const ALL: [TargetSample; 4] =
        [TargetSample::All, TargetSample::Treated, TargetSample::Control, TargetSample::Overlap];
}

/// An average treatment effect on one target sample, with its standard error and normal 95%
/// interval.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AteEstimate {
    /// Whose average effect.
    pub target: TargetSample,
    /// Point estimate, in the outcome's units.
    pub estimate: f64,
    /// Standard error: influence-function based (cluster-robust with clusters), or the OLS slope's for overlap.
    pub se: f64,
    /// `estimate − z_{0.975} · se`.
    pub ci_lower: f64,
    /// `estimate + z_{0.975} · se`.
    pub ci_upper: f64,
}

/// The average effect on `target` with its standard error (cluster-robust with clusters) and
/// normal 95% interval. Influence-function SEs for all, treated and control (μ̂0 = Ŷ − ŴΤ̂,
/// μ̂1 = Ŷ + (1 − Ŵ)τ̂ as in grf).
pub fn average_treatment_effect(fit: &CateFit<'_>, target: TargetSample) -> Result<AteEstimate> {
    require_binary(fit, "the AIPW average treatment effect")?;
    let n = fit.y.len();
    let (estimate, se) = match target {
        TargetSample::All => {
            let scores = doubly_robust_scores(fit)?.scores;
            let total: f64 = (0..n).map(|i| fit.weight(i)).sum();
            let estimate = (0..n).map(|i| fit.weight(i) * scores[i]).sum::<f64>() / total;
            let phi: Vec<f64> = (0..n).map(|i| fit.weight(i) * (scores[i] - estimate) / total).collect();
            (estimate, influence_se(fit, &phi))
        }
        TargetSample::Treated | TargetSample::Control => {
            let treated = target == TargetSample::Treated;
            // Per row: indicator of the target arm, and the imputed-contrast term.
            let terms: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let (y, w, tau) = (fit.y[i], fit.w[i], fit.tau[i]);
                    let e = clipped_propensity(fit.w_hat[i]);
                    if treated {
                        let r0 = y - (fit.y_hat[i] - fit.w_hat[i] * tau);
                        (w, if w == 1.0 { r0 } else { -e / (1.0 - e) * r0 })
                    } else {
                        let r1 = y - (fit.y_hat[i] + (1.0 - fit.w_hat[i]) * tau);
                        (1.0 - w, if w == 0.0 { -r1 } else { (1.0 - e) / e * r1 })
                    }
                })
                .collect();
            let arm: f64 = (0..n).map(|i| fit.weight(i) * terms[i].0).sum();
            let estimate = (0..n).map(|i| fit.weight(i) * terms[i].1).sum::<f64>() / arm;
            let phi: Vec<f64> = (0..n).map(|i| fit.weight(i) * (terms[i].1 - terms[i].0 * estimate) / arm).collect();
            (estimate, influence_se(fit, &phi))
        }
        TargetSample::Overlap => {
            let y_res: Vec<f64> = (0..n).map(|i| fit.y[i] - fit.y_hat[i]).collect();
            let w_res: Vec<f64> = (0..n).map(|i| fit.w[i] - fit.w_hat[i]).collect();
            let one = vec![1.0; n];
            let coefficients =
                weighted_ols(&[("(intercept)", &one), ("W - W.hat", &w_res)], &y_res, fit.weights, vcov_of(fit))?;
            (coefficients[1].estimate, coefficients[1].se)
        }
    };
    let z = Z_975;
    Ok(AteEstimate { target, estimate, se, ci_lower: estimate - z * se, ci_upper: estimate + z * se })
}
