//! Doubly robust (AIPW) scores of the conditional effect (Robins, Rotnitzky & Zhao 1994;
//! Kennedy 2023, eq. 3): `Γ = μ₁ − μ₀ + W (Y − μ₁)/e − (1 − W)(Y − μ₀)/(1 − e)`. Their mean is
//! the AIPW average effect. Every estimator's scores go through [`aipw_score`]: the learners'
//! pseudo-outcomes with their cross-fitted `μ₀`, `μ₁`, `e`, and a fit's scores with
//! `μ₀ = m̂ − ê τ̂`, `μ₁ = m̂ + (1 − ê) τ̂` from its `m̂ = Ŷ`, `ê = Ŵ` and out-of-sample `τ̂`, which is
//! grf's `get_scores`: `τ̂ + (W − ê)/(ê(1 − ê)) (Y − m̂ − (W − ê) τ̂)`.
//!
//! Clipping policy, one for all: the inverse weights use `e` clipped to
//! `[PROPENSITY_FLOOR, 1 − PROPENSITY_FLOOR]` (0.001), a guard against division by nearly zero
//! that leaves any sensible propensity alone. Estimators that *estimate* propensities may clip
//! harder when they estimate them (the learners clip to `[0.05, 0.95]` by default, and report
//! how many they clipped).

use crate::fit::CateFit;
use crate::Result;
use cateye_stats::InputError;
use serde::Serialize;

/// Propensities are clipped to [PROPENSITY_FLOOR, 1 − PROPENSITY_FLOOR] in the inverse weights.
pub const PROPENSITY_FLOOR: f64 = 1e-3;

/// Scores with a record of the propensities that were clipped.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct DoublyRobustScores {
    /// AIPW score `Γ_i` of each unit.
    pub scores: Vec<f64>,
    /// Rows whose estimated propensity was outside [0.001, 0.999] and was clipped.
    pub propensity_clipped: usize,
    /// Smallest estimated propensity `Ŵ`, before clipping.
    pub propensity_min: f64,
    /// Largest estimated propensity `Ŵ`, before clipping.
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

/// The doubly robust (AIPW) pseudo-outcome of one unit: `μ₁ − μ₀ + W (Y − μ₁)/e − (1 − W)(Y − μ₀)/(1 − e)`,
/// from the outcome models `μ₀`, `μ₁` and the propensity `e` at the unit's covariates, with `e`
/// clipped to `[PROPENSITY_FLOOR, 1 − PROPENSITY_FLOOR]` (see the module documentation).
pub fn aipw_score(y: f64, w: f64, mu0: f64, mu1: f64, e: f64) -> f64 {
    let e = clipped_propensity(e);
    mu1 - mu0 + w * (y - mu1) / e - (1.0 - w) * (y - mu0) / (1.0 - e)
}

/// The doubly robust scores of a fit's units ([`aipw_score`] with `μ₀ = m̂ − ê τ̂`,
/// `μ₁ = m̂ + (1 − ê) τ̂`), with a record of the propensities the floor clipped.
pub fn doubly_robust_scores(fit: &CateFit<'_>) -> Result<DoublyRobustScores> {
    require_binary(fit, "doubly robust scores")?;
    let clipped = fit.w_hat.iter().filter(|&&e| clipped_propensity(e) != e).count();
    let scores = (0..fit.y.len())
        .map(|i| {
            let (m, e, tau) = (fit.y_hat[i], fit.w_hat[i], fit.tau[i]);
            aipw_score(fit.y[i], fit.w[i], m - e * tau, m + (1.0 - e) * tau, e)
        })
        .collect();
    let (min, max) = fit.w_hat.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &e| (a.min(e), b.max(e)));
    Ok(DoublyRobustScores { scores, propensity_clipped: clipped, propensity_min: min, propensity_max: max })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_model_form_equals_grfs_residual_form() {
        // grf's get_scores: τ + (W − e)/(e(1 − e)) (Y − m − (W − e) τ); the same number as the
        // AIPW score with μ₀ = m − eτ and μ₁ = m + (1 − e)τ, for treated and control units.
        for (k, &(y, m, e, tau)) in
            [(1.3, 0.4, 0.3, 0.7), (-2.0, 0.1, 0.9, -1.2), (0.0, -3.0, 0.05, 2.5)].iter().enumerate()
        {
            for w in [0.0, 1.0] {
                let grf = tau + (w - e) / (e * (1.0 - e)) * (y - m - (w - e) * tau);
                let ours = aipw_score(y, w, m - e * tau, m + (1.0 - e) * tau, e);
                assert!((grf - ours).abs() < 1e-12 * grf.abs().max(1.0), "case {k}, w {w}: {grf} vs {ours}");
            }
        }
        // The floor: a propensity of 0 is weighted as 0.001, never divided by.
        let at_zero = aipw_score(1.0, 1.0, 0.0, 0.0, 0.0);
        assert_eq!(at_zero, 1.0 / PROPENSITY_FLOOR);
    }
}
