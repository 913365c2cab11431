//! How much of the effect variation the breakdown dimensions explain.
//!
//! Two views:
//!
//! * [`explained_share`]: the share of the variance of the *estimated* effects `τ̂_i` that one
//!   dimension explains, `η² = Σ_l n_l (τ̄_l − τ̄)² / Σ_i (τ̂_i − τ̄)²` (between-level over total
//!   sum of squares).
//! * [`decompose_variation`]: the split of the variance of the *individual* effects into the part
//!   the dimensions explain (systematic) and the rest (idiosyncratic), after Ding, Feller &
//!   Miratrix (2019, "Decomposing treatment effect variation", JASA 114, §3–4). Within each arm
//!   the outcome is regressed on the dimensions' level indicators (additive) and the numeric
//!   covariates: `Y = x'β_t + e_t`. The effect's projection on `x` is `x'(β_1 − β_0)`; its
//!   variance over the units, `Δ'Σ_xΔ`, corrected for estimation noise by subtracting
//!   `tr(Σ_x (V̂_1 + V̂_0))` (the expected inflation of a quadratic form in an estimate), is the
//!   explained variation; the same form on the covariate block alone is the covariates' part,
//!   and the difference (what the dimensions add, their covariance with the covariates
//!   included) is the systematic variation of the dimensions. The idiosyncratic variation `Var(e_1 − e_0)` is not identified from one
//!   experiment; under DFM's assumption that it is uncorrelated with the control residual it
//!   equals `σ²_1 − σ²_0`, the difference of the arms' residual variances. The share explained is
//!   `systematic / (systematic + covariate part + idiosyncratic)`, with negative estimates of a
//!   variance set to zero (the raw values are reported).

use crate::linear::LevelColumn;
use crate::linear::{normal_equations, Design};
use crate::Result;
use cateye_stats::InputError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// `η²` of the estimates `tau` across the levels `codes` (`codes[i] < levels`); 0 when the
/// estimates do not vary.
pub fn explained_share(tau: &[f64], codes: &[u32], levels: usize) -> f64 {
    let n = tau.len() as f64;
    let mean = tau.iter().sum::<f64>() / n;
    let (mut count, mut sum) = (vec![0.0; levels], vec![0.0; levels]);
    for (&t, &c) in tau.iter().zip(codes) {
        count[c as usize] += 1.0;
        sum[c as usize] += t - mean;
    }
    let total: f64 = tau.iter().map(|t| (t - mean).powi(2)).sum();
    let between: f64 = count.iter().zip(&sum).filter(|(c, _)| **c > 0.0).map(|(c, s)| s * s / c).sum();
    if total > 0.0 {
        (between / total).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The systematic / idiosyncratic split of the effect variance (module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VariationDecomposition {
    /// Debiased variance of the effect's projection on the dimensions.
    pub systematic: f64,
    /// Debiased variance of the projection on the numeric covariates (slopes that differ by arm).
    pub covariates: f64,
    /// `σ²_1 − σ²_0` as estimated (may be negative by chance).
    pub idiosyncratic_raw: f64,
    /// `max(0, idiosyncratic_raw)`.
    pub idiosyncratic: f64,
    /// `systematic⁺ + covariates⁺ + idiosyncratic`.
    pub total: f64,
    /// `systematic⁺ / total` (0 when the total is 0).
    pub share_explained: f64,
    /// Indicator columns per arm regression (levels absent from an arm are pooled with the
    /// dimension's most common level).
    pub columns: usize,
    /// One-sentence description of the method and the assumption behind the idiosyncratic part.
    pub method: String,
}

/// Per-arm least squares on the sparse design.
struct ArmFit {
    beta: DVector<f64>,
    /// `σ² (X'X)⁻¹`.
    covariance: DMatrix<f64>,
    sigma2: f64,
}

fn fit_arm(design: &Design, dims: &[LevelColumn], cov: &[Vec<f64>], y: &[f64], rows: &[usize]) -> Result<ArmFit> {
    let (mut xtx, xty) = normal_equations(design, dims, cov, Some(y), rows);
    crate::linear::add_relative_ridge(&mut xtx);
    let inverse = xtx.cholesky().map(|c| c.inverse()).ok_or_else(|| {
        InputError::Data(
            "the regression of the outcome on the dimensions is singular within an arm (a covariate is constant \
             or duplicates a dimension)"
                .into(),
        )
    })?;
    let beta = &inverse * &xty;
    let mut rss = 0.0;
    let mut active = Vec::new();
    for &i in rows {
        design.active(dims, i, &mut active);
        let fitted: f64 = active.iter().map(|&p| beta[p]).sum::<f64>()
            + cov.iter().enumerate().map(|(j, c)| beta[design.indicators + j] * c[i]).sum::<f64>();
        rss += (y[i] - fitted).powi(2);
    }
    let sigma2 = rss / (rows.len() as f64 - design.k as f64).max(1.0);
    Ok(ArmFit { beta, covariance: inverse * sigma2, sigma2 })
}

/// Debiased `Δ'ΣΔ − tr(ΣV)` over the columns `range`.
fn debiased_variance(
    delta: &DVector<f64>,
    v: &DMatrix<f64>,
    sigma: &DMatrix<f64>,
    range: std::ops::Range<usize>,
) -> f64 {
    let len = range.len();
    if len == 0 {
        return 0.0;
    }
    let d = delta.rows(range.start, len);
    let s = sigma.view((range.start, range.start), (len, len));
    let quadratic = (d.transpose() * s * d)[0];
    let trace = (s * v.view((range.start, range.start), (len, len))).trace();
    quadratic - trace
}

/// Decompose the effect variation of outcome `y` (arms `treated`) by the dimensions `dims` and
/// the numeric `covariates` (module doc). Needs more units in each arm than design columns.
pub fn decompose_variation(
    y: &[f64],
    treated: &[bool],
    dims: &[LevelColumn],
    covariates: &[(&str, &[f64])],
) -> Result<VariationDecomposition> {
    let n = y.len();
    let cov: Vec<Vec<f64>> = covariates
        .iter()
        .map(|(_, c)| {
            let mean = c.iter().sum::<f64>() / n as f64;
            c.iter().map(|v| v - mean).collect()
        })
        .collect();
    let design = Design::new(dims, Some(treated), cov.len());
    let rows: [Vec<usize>; 2] = [(0..n).filter(|&i| !treated[i]).collect(), (0..n).filter(|&i| treated[i]).collect()];
    if rows.iter().any(|r| r.len() <= design.k + 1) {
        return Err(InputError::Data(format!(
            "decomposing the effect variation needs more units per arm than the {} regression columns (treated {}, \
             control {})",
            design.k,
            rows[1].len(),
            rows[0].len()
        )));
    }
    let [control, treat] = [fit_arm(&design, dims, &cov, y, &rows[0])?, fit_arm(&design, dims, &cov, y, &rows[1])?];
    let delta = &treat.beta - &control.beta;
    let v = &treat.covariance + &control.covariance;
    // Covariance of the design columns over all units (column 0 is the intercept, so row 0 of
    // the Gram matrix holds the column sums).
    let all: Vec<usize> = (0..n).collect();
    let (gram, _) = normal_equations(&design, dims, &cov, None, &all);
    let mean = gram.column(0) / n as f64;
    let sigma = gram / n as f64 - &mean * mean.transpose();
    // Everything the regressors explain (dimensions, covariates and their covariance), the
    // covariates alone, and the dimensions as the difference: what they add to the covariates.
    let explained_raw = debiased_variance(&delta, &v, &sigma, 1..design.k);
    let covariates_raw = debiased_variance(&delta, &v, &sigma, design.indicators..design.k);
    let systematic_raw = explained_raw - covariates_raw;
    let idiosyncratic_raw = treat.sigma2 - control.sigma2;
    let (systematic, covariates, idiosyncratic) =
        (systematic_raw.max(0.0), covariates_raw.max(0.0), idiosyncratic_raw.max(0.0));
    let total = systematic + covariates + idiosyncratic;
    Ok(VariationDecomposition {
        systematic,
        covariates,
        idiosyncratic_raw,
        idiosyncratic,
        total,
        share_explained: if total > 0.0 { systematic / total } else { 0.0 },
        columns: design.indicators - 1,
        method: "Ding, Feller & Miratrix (2019): per-arm OLS on level indicators and covariates; covariates = \
                 debiased variance of the effect's projection on the covariates alone, systematic = debiased \
                 variance of the projection on dimensions and covariates minus that; idiosyncratic = difference \
                 of the arms' residual variances (assumes it is uncorrelated with the control residual)"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;

    fn normal(rng: &mut impl rand::Rng) -> f64 {
        rng.sample(StandardNormal)
    }

    #[test]
    fn explained_share_is_the_between_level_share() {
        let tau = [1.0, 1.0, 3.0, 3.0, 2.0, 2.0];
        let codes = [0, 0, 1, 1, 2, 2];
        assert!((explained_share(&tau, &codes, 3) - 1.0).abs() < 1e-12);
        let tau = [1.0, 3.0, 1.0, 3.0];
        assert!(explained_share(&tau, &[0, 0, 1, 1], 2).abs() < 1e-12);
        assert_eq!(explained_share(&[2.0; 4], &[0, 1, 0, 1], 2), 0.0);
    }

    /// Effects `0.5·1{d0 = 1} + s·N(0,1)`: systematic variance `0.25·p(1−p)`, idiosyncratic `s²`.
    fn simulate(n: usize, s: f64, seed: u64) -> VariationDecomposition {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let d0: Vec<u32> = (0..n).map(|_| rng.random_range(0..4u32)).collect();
        let d1: Vec<u32> = (0..n).map(|_| rng.random_range(0..3u32)).collect();
        let x: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let treated: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.5).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let tau = 0.5 * (d0[i] == 1) as u8 as f64 + s * normal(&mut rng);
                x[i] + 0.3 * d1[i] as f64 + normal(&mut rng) + treated[i] as u8 as f64 * tau
            })
            .collect();
        let dims =
            [LevelColumn { name: "d0", codes: &d0, levels: 4 }, LevelColumn { name: "d1", codes: &d1, levels: 3 }];
        decompose_variation(&y, &treated, &dims, &[("x", &x)]).unwrap()
    }

    #[test]
    fn recovers_systematic_and_idiosyncratic_variance() {
        let (mut sys, mut idio) = (0.0, 0.0);
        let reps = 20;
        for seed in 0..reps {
            let d = simulate(20_000, 0.4, seed);
            sys += d.systematic / reps as f64;
            idio += d.idiosyncratic_raw / reps as f64;
        }
        // Truth: 0.25 · 0.25 · 0.75 = 0.046875 and 0.16.
        assert!((sys - 0.046875).abs() < 0.006, "systematic {sys}");
        assert!((idio - 0.16).abs() < 0.03, "idiosyncratic {idio}");
        // Only systematic variation: the idiosyncratic part is near zero.
        let d = simulate(20_000, 0.0, 99);
        assert!(d.systematic > 0.02 && d.idiosyncratic < 0.05, "{d:?}");
    }

    #[test]
    fn no_heterogeneity_gives_near_zero_systematic_variance() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let d0: Vec<u32> = (0..n).map(|_| rng.random_range(0..10u32)).collect();
        let treated: Vec<bool> = (0..n).map(|_| rng.random::<f64>() < 0.5).collect();
        let y: Vec<f64> = (0..n).map(|i| d0[i] as f64 * 0.1 + normal(&mut rng) + treated[i] as u8 as f64).collect();
        let d = decompose_variation(&y, &treated, &[LevelColumn { name: "d0", codes: &d0, levels: 10 }], &[]).unwrap();
        // Without the debiasing the quadratic form would be about tr(ΣV) ≈ 9 · 4/n.
        assert!(d.systematic < 1e-3, "{d:?}");
    }
}
