//! Heterogeneity of effects across the levels of one breakdown dimension.
//!
//! * Cochran's Q (1954): `Q = Σ w_l (τ̂_l − τ̄_w)²` with inverse-variance weights `w_l = 1/v_l`,
//!   χ² with `L − 1` degrees of freedom under equal level effects when the `v_l` are known. They
//!   are estimated, each from the level's units (`ν_l` degrees of freedom, Welch–Satterthwaite
//!   for a difference of two means), and with few units per level that makes Q's tail heavier
//!   than χ²'s: at about 50 units per arm and level and 10 levels, null p-values below 1e-5 came
//!   3.75 times as often as they should (400,000 null tests), which at a sweep's thresholds
//!   means false findings. The p-value is therefore Welch's (1951) heteroskedastic test of equal
//!   means, `F = [Q/(L − 1)] / [1 + 2(L − 2)Λ/(L² − 1)]` with `Λ = Σ (1 − w_l/W)²/ν_l`, against
//!   `F(L − 1, (L² − 1)/(3Λ))`; as every `ν_l` grows it becomes Q against χ²_{L−1}, and with two
//!   levels it is the Welch t-test of their difference.
//! * The between-level variance of effects that the dimension explains, weighted by the level's
//!   share of units `π_l`: `V = Σ π_l (τ_l − τ̄_π)²`, the variance of `E[τ | level]` over units.
//!   Its plug-in estimate is biased upwards by sampling noise,
//!   `E[Σ π_l (τ̂_l − τ̂_π)²] = V + Σ π_l (1 − π_l) v_l`, so the method-of-moments estimate is
//!   `V̂ = max(0, Σ π_l (τ̂_l − τ̂_π)² − Σ π_l (1 − π_l) v_l)` — the population-weighted analogue of
//!   the DerSimonian & Laird (1986) between-study variance, comparable across dimensions because
//!   every dimension's `V` is a share of the same total effect variance.

#[cfg(test)]
use crate::dist::chi2_sf;
use crate::dist::f_sf;
use serde::{Deserialize, Serialize};

/// Effect estimate of one level: estimate, its sampling variance, and the level's share of units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelEffect {
    /// Effect estimate `τ̂_l` of the level.
    pub estimate: f64,
    /// Sampling variance `v_l` of the estimate (its squared standard error).
    pub variance: f64,
    /// Degrees of freedom `ν_l` of the variance estimate (infinite when it is known).
    pub df: f64,
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
    /// Numerator degrees of freedom, `L − 1`.
    pub df: f64,
    /// Welch's F statistic (module doc).
    #[serde(default)]
    pub welch_f: f64,
    /// Denominator degrees of freedom of Welch's F, `(L² − 1)/(3Λ)` (infinite when every
    /// level's variance is known).
    #[serde(default)]
    pub df2: f64,
    /// Upper tail of `welch_f` on `F(df, df2)`: the p-value of equal level effects.
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
    let levels = count as f64;
    let lambda: f64 = valid().map(|l| (1.0 - 1.0 / (l.variance * sw)).powi(2) / l.df).sum();
    let welch_f = q / df / (1.0 + 2.0 * (levels - 2.0) * lambda / (levels * levels - 1.0));
    let df2 = if lambda > 0.0 { (levels * levels - 1.0) / (3.0 * lambda) } else { f64::INFINITY };
    let pi = |l: &LevelEffect| if share_total > 0.0 { l.share / share_total } else { 1.0 / count as f64 };
    let population_mean: f64 = valid().map(|l| pi(l) * l.estimate).sum();
    let raw_variance: f64 = valid().map(|l| pi(l) * (l.estimate - population_mean).powi(2)).sum();
    let bias: f64 = valid().map(|l| pi(l) * (1.0 - pi(l)) * l.variance).sum();
    Some(Heterogeneity {
        levels: count,
        q,
        df,
        welch_f,
        df2,
        p_value: f_sf(welch_f, df, df2),
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
            LevelEffect { estimate: 1.0, variance: 0.25, df: f64::INFINITY, share: 0.5 },
            LevelEffect { estimate: 2.0, variance: 0.25, df: f64::INFINITY, share: 0.5 },
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
            LevelEffect { estimate: 1.0, variance: 0.1, df: 30.0, share: 0.3 },
            LevelEffect { estimate: 1.0, variance: 0.2, df: 30.0, share: 0.7 },
            LevelEffect { estimate: 5.0, variance: f64::NAN, df: 30.0, share: 0.1 },
        ];
        let h = heterogeneity(&l).unwrap();
        assert_eq!(h.levels, 2);
        assert_eq!(h.explained_variance, 0.0);
        assert!(h.q.abs() < 1e-12);
        assert!(heterogeneity(&l[..1]).is_none());
    }

    #[test]
    fn two_levels_give_the_welch_t_test_of_their_difference() {
        let (v1, v2, n1, n2) = (0.04, 0.09, 20.0, 45.0);
        let l = [
            LevelEffect { estimate: 1.0, variance: v1, df: n1, share: 0.5 },
            LevelEffect { estimate: 1.6, variance: v2, df: n2, share: 0.5 },
        ];
        let h = heterogeneity(&l).unwrap();
        let t = 0.6 / (v1 + v2).sqrt();
        let welch = (v1 + v2).powi(2) / (v1 * v1 / n1 + v2 * v2 / n2);
        assert!((h.welch_f - t * t).abs() < 1e-12 && (h.df2 - welch).abs() < 1e-9, "{h:?}");
        assert!((h.p_value - crate::t_two_sided_p(t, welch)).abs() < 1e-12);
    }

    /// 200,000 null tests of 10 levels with 50 normal units per arm and level, drawn from the
    /// exact distributions of the arm means and variances: Welch's p-values are uniform in the
    /// tail, where Cochran's Q against χ² (with the same variances) rejects far too often.
    #[test]
    fn small_levels_keep_the_test_calibrated_in_the_tail() {
        use rand::{RngExt, SeedableRng};
        use rand_distr::{ChiSquared, Distribution, StandardNormal};
        let (tests, levels, n) = (200_000u64, 10, 50.0f64);
        let chi = ChiSquared::new(n - 1.0).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut welch, mut cochran) = ([0u64; 3], [0u64; 3]);
        let thresholds = [1e-2, 1e-3, 1e-4];
        for _ in 0..tests {
            let l: Vec<LevelEffect> = (0..levels)
                .map(|_| {
                    let diff = (2.0 / n).sqrt() * rng.sample::<f64, _>(StandardNormal);
                    let (st, sc) = (chi.sample(&mut rng) / (n - 1.0), chi.sample(&mut rng) / (n - 1.0));
                    let (vt, vc) = (st / n, sc / n);
                    let df = (vt + vc).powi(2) / (vt * vt / (n - 1.0) + vc * vc / (n - 1.0));
                    LevelEffect { estimate: diff, variance: vt + vc, df, share: 0.1 }
                })
                .collect();
            let h = heterogeneity(&l).unwrap();
            let chi2_p = chi2_sf(h.q, h.df);
            for (k, t) in thresholds.iter().enumerate() {
                welch[k] += u64::from(h.p_value <= *t);
                cochran[k] += u64::from(chi2_p <= *t);
            }
        }
        eprintln!("rejections at 1e-2, 1e-3, 1e-4 of {tests}: Welch {welch:?}, Cochran's Q vs chi2 {cochran:?}");
        for (k, t) in thresholds.iter().enumerate() {
            let expected = tests as f64 * t;
            // Within 4 binomial SDs of the nominal count (and 1.5 at least for the smallest).
            let slack = 4.0 * expected.sqrt() + 1.5;
            assert!((welch[k] as f64 - expected).abs() <= slack, "Welch at {t}: {} vs {expected}", welch[k]);
        }
        assert!(cochran[2] as f64 > 1.5 * tests as f64 * 1e-4, "the χ² reference is anti-conservative here");
    }
}
