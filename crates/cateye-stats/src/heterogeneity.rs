//! Heterogeneity of effects across the levels of one breakdown dimension.
//!
//! * Cochran's Q (1954): `Q = Σ w_l (τ̂_l − τ̄_w)²` with inverse-variance weights `w_l = 1/v_l`,
//!   χ² with `L − 1` degrees of freedom under equal level effects: the Wald test of equality.
//! * The between-level variance of effects that the dimension explains, weighted by the level's
//!   share of units `π_l`: `V = Σ π_l (τ_l − τ̄_π)²`, the variance of `E[τ | level]` over units.
//!   Its plug-in estimate is biased upwards by sampling noise,
//!   `E[Σ π_l (τ̂_l − τ̂_π)²] = V + Σ π_l (1 − π_l) v_l`, so the method-of-moments estimate is
//!   `V̂ = max(0, Σ π_l (τ̂_l − τ̂_π)² − Σ π_l (1 − π_l) v_l)` — the population-weighted analogue of
//!   the DerSimonian & Laird (1986) between-study variance, comparable across dimensions because
//!   every dimension's `V` is a share of the same total effect variance.

use crate::dist::chi2_sf;
use serde::{Deserialize, Serialize};

/// Effect estimate of one level: estimate, its sampling variance, and the level's share of units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelEffect {
    /// Effect estimate `τ̂_l` of the level.
    pub estimate: f64,
    /// Sampling variance `v_l` of the estimate (its squared standard error).
    pub variance: f64,
    /// The level's share of units `π_l` (renormalised over the valid levels).
    pub share: f64,
}

/// Heterogeneity across the levels of a dimension.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Heterogeneity {
    /// Number of levels that entered the test.
    pub levels: usize,
    /// Cochran's Q.
    pub q: f64,
    /// Degrees of freedom of Q's χ² reference, `L − 1`.
    pub df: f64,
    /// Upper χ² tail of Q on `df` degrees of freedom: the p-value of equal level effects.
    pub p_value: f64,
    /// Inverse-variance weighted mean effect.
    pub weighted_mean: f64,
    /// Unit-share weighted mean effect `τ̂_π`.
    pub population_mean: f64,
    /// Debiased between-level variance of effects `V̂` (floored at zero).
    pub explained_variance: f64,
    /// Plug-in (biased) between-level variance `Σ π_l (τ̂_l − τ̂_π)²`.
    pub raw_variance: f64,
}

impl Heterogeneity {
    /// Standard deviation of the effect across levels, `√V̂`, in the metric's units.
    pub fn explained_sd(&self) -> f64 {
        self.explained_variance.sqrt()
    }
}

/// Heterogeneity statistics of `levels`. Levels whose variance is not positive and finite are
/// ignored; shares are renormalised over the rest. `None` when fewer than two levels remain.
pub fn heterogeneity(levels: &[LevelEffect]) -> Option<Heterogeneity> {
    let valid = || levels.iter().filter(|l| l.variance.is_finite() && l.variance > 0.0 && l.estimate.is_finite());
    let count = valid().count();
    if count < 2 {
        return None;
    }
    let (mut sw, mut swt) = (0.0, 0.0);
    let mut share_total = 0.0;
    for l in valid() {
        sw += 1.0 / l.variance;
        swt += l.estimate / l.variance;
        share_total += l.share;
    }
    let weighted_mean = swt / sw;
    let q: f64 = valid().map(|l| (l.estimate - weighted_mean).powi(2) / l.variance).sum();
    let df = (count - 1) as f64;
    let pi = |l: &LevelEffect| if share_total > 0.0 { l.share / share_total } else { 1.0 / count as f64 };
    let population_mean: f64 = valid().map(|l| pi(l) * l.estimate).sum();
    let raw_variance: f64 = valid().map(|l| pi(l) * (l.estimate - population_mean).powi(2)).sum();
    let bias: f64 = valid().map(|l| pi(l) * (1.0 - pi(l)) * l.variance).sum();
    Some(Heterogeneity {
        levels: count,
        q,
        df,
        p_value: chi2_sf(q, df),
        weighted_mean,
        population_mean,
        explained_variance: (raw_variance - bias).max(0.0),
        raw_variance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cochran_q_closed_form() {
        let l = [
            LevelEffect { estimate: 1.0, variance: 0.25, share: 0.5 },
            LevelEffect { estimate: 2.0, variance: 0.25, share: 0.5 },
        ];
        let h = heterogeneity(&l).unwrap();
        // weighted mean 1.5, Q = 4 * 0.25 * 2 = 2
        assert!((h.weighted_mean - 1.5).abs() < 1e-12);
        assert!((h.q - 2.0).abs() < 1e-12);
        assert!((h.p_value - 0.15729920705028513).abs() < 1e-10);
        // raw = 0.25, bias = 2 * 0.25 * 0.25 = 0.125
        assert!((h.raw_variance - 0.25).abs() < 1e-12);
        assert!((h.explained_variance - 0.125).abs() < 1e-12);
    }

    #[test]
    fn equal_effects_have_no_explained_variance_and_invalid_levels_are_ignored() {
        let l = [
            LevelEffect { estimate: 1.0, variance: 0.1, share: 0.3 },
            LevelEffect { estimate: 1.0, variance: 0.2, share: 0.7 },
            LevelEffect { estimate: 5.0, variance: f64::NAN, share: 0.1 },
        ];
        let h = heterogeneity(&l).unwrap();
        assert_eq!(h.levels, 2);
        assert_eq!(h.explained_variance, 0.0);
        assert!(h.q.abs() < 1e-12);
        assert!(heterogeneity(&l[..1]).is_none());
    }
}
