//! Doubly robust (AIPW) scores of the conditional effect (Robins, Rotnitzky & Zhao 1994; grf's
//! `get_scores.causal_forest`): `Γ_i = τ̂(X_i) + (W_i − ê_i)/(ê_i(1 − ê_i)) · (Y_i − m̂_i − (W_i − ê_i) τ̂(X_i))`,
//! with the out-of-bag `τ̂`, `m̂ = Ŷ` and `ê = Ŵ` of the fit. Their mean is the AIPW average effect.

use crate::fit::CateFit;
use crate::Result;
use cateye_stats::input::InputError;
use serde::Serialize;

/// Propensities are clipped to [PROPENSITY_FLOOR, 1 − PROPENSITY_FLOOR] in the inverse weights.
pub const PROPENSITY_FLOOR: f64 = 1e-3;

/// Scores with a record of the propensities that were clipped.
#[derive(Clone, Debug, Serialize)]
pub struct DoublyRobustScores {
    pub scores: Vec<f64>,
    /// Rows whose estimated propensity was outside [0.001, 0.999] and was clipped.
    pub propensity_clipped: usize,
    pub propensity_min: f64,
    pub propensity_max: f64,
}

/// Fails unless the treatment is binary (0/1): the AIPW tools need the two potential outcomes.
pub(crate) fn require_binary(fit: &CateFit<'_>, tool: &str) -> Result<()> {
    if fit.binary_treatment() {
        Ok(())
    } else {
        Err(InputError::Data(format!("{tool} needs a binary (0/1) treatment")))
    }
}

pub(crate) fn clipped_propensity(e: f64) -> f64 {
    e.clamp(PROPENSITY_FLOOR, 1.0 - PROPENSITY_FLOOR)
}

/// The doubly robust (AIPW) pseudo-outcome of one unit (Robins, Rotnitzky & Zhao 1994; Kennedy
/// 2023, eq. 3): `μ₁ − μ₀ + W (Y − μ₁)/e − (1 − W)(Y − μ₀)/(1 − e)`, from the outcome models
/// `μ₀`, `μ₁` and the propensity `e` at the unit's covariates. The caller passes `e` as it wants
/// it weighted (the learners clip estimated propensities when they estimate them).
pub fn aipw_score(y: f64, w: f64, mu0: f64, mu1: f64, e: f64) -> f64 {
    mu1 - mu0 + w * (y - mu1) / e - (1.0 - w) * (y - mu0) / (1.0 - e)
}

pub fn doubly_robust_scores(fit: &CateFit<'_>) -> Result<DoublyRobustScores> {
    require_binary(fit, "doubly robust scores")?;
    let mut clipped = 0;
    let scores = (0..fit.y.len())
        .map(|i| {
            let (y, w, m, e, tau) = (fit.y[i], fit.w[i], fit.y_hat[i], fit.w_hat[i], fit.tau[i]);
            let ec = clipped_propensity(e);
            clipped += (ec != e) as usize;
            tau + (w - ec) / (ec * (1.0 - ec)) * (y - m - (w - e) * tau)
        })
        .collect();
    let (min, max) = fit.w_hat.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &e| (a.min(e), b.max(e)));
    Ok(DoublyRobustScores { scores, propensity_clipped: clipped, propensity_min: min, propensity_max: max })
}
