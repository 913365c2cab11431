//! Weighted least squares with heteroskedasticity-robust (HC3; MacKinnon & White 1985) or
//! cluster-robust (CR1; Liang & Zeger 1986, with Stata's small-sample factor) standard errors,
//! as R's `sandwich::vcovHC(type = "HC3")` and `sandwich::vcovCL(type = "HC1")` give for `lm`.

use crate::Result;
use cateye_stats::t_two_sided_p;
use cateye_stats::InputError;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// How coefficient standard errors are computed.
#[derive(Clone, Copy, Debug)]
pub enum Vcov<'a> {
    /// HC3: squared residuals inflated by `1/(1 − h_ii)²`.
    Hc3,
    /// Cluster-robust with one cluster index per row.
    Cluster(&'a [u32]),
}

/// One regression coefficient with its robust standard error and t test (df: n − k, or G − 1 with clusters).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Coefficient {
    /// Name of the regressor.
    pub term: String,
    /// Weighted least-squares estimate.
    pub estimate: f64,
    /// Robust standard error (HC3 or CR1).
    pub se: f64,
    /// `estimate / se`.
    pub t: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// One-sided p-value of H0: coefficient ≤ 0 (the calibration test's).
    pub p_value_greater: f64,
}

/// `y ~ X` by weighted least squares; `terms` names the columns of X (give an intercept column
/// explicitly if wanted). Errors when X'WX is singular (collinear or constant terms).
pub fn weighted_ols(
    terms: &[(&str, &[f64])],
    y: &[f64],
    weights: Option<&[f64]>,
    vcov: Vcov,
) -> Result<Vec<Coefficient>> {
    let (n, k) = (y.len(), terms.len());
    let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
    let row = |i: usize| DVector::from_iterator(k, terms.iter().map(|(_, c)| c[i]));
    let mut xtx = DMatrix::<f64>::zeros(k, k);
    let mut xty = DVector::<f64>::zeros(k);
    for (i, &yi) in y.iter().enumerate() {
        let x = row(i);
        let w = weight(i);
        xtx.ger(w, &x, &x, 1.0);
        xty.axpy(w * yi, &x, 1.0);
    }
    let names = terms.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ");
    let bread = xtx.clone().cholesky().map(|c| c.inverse()).ok_or_else(|| {
        InputError::Data(format!("regression on [{names}] is singular: a term is constant or collinear"))
    })?;
    let beta = &bread * &xty;
    let residual = |i: usize, x: &DVector<f64>| y[i] - x.dot(&beta);
    let mut meat = DMatrix::<f64>::zeros(k, k);
    let df = match vcov {
        Vcov::Hc3 => {
            for i in 0..n {
                let x = row(i);
                let w = weight(i);
                let h = w * (x.transpose() * &bread * &x)[0];
                let u = w * residual(i, &x) / (1.0 - h).max(f64::EPSILON);
                meat.ger(u * u, &x, &x, 1.0);
            }
            n as f64 - k as f64
        }
        Vcov::Cluster(cluster) => {
            let g = cluster.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
            let mut scores = DMatrix::<f64>::zeros(k, g);
            for (i, &c) in cluster.iter().enumerate() {
                let x = row(i);
                let u = weight(i) * residual(i, &x);
                scores.column_mut(c as usize).axpy(u, &x, 1.0);
            }
            let used = clusters_present(cluster, g) as f64;
            meat = &scores * scores.transpose();
            meat *= used / (used - 1.0) * (n as f64 - 1.0) / (n as f64 - k as f64);
            used - 1.0
        }
    };
    let covariance = &bread * meat * &bread;
    Ok(terms
        .iter()
        .enumerate()
        .map(|(j, (term, _))| {
            let (estimate, se) = (beta[j], covariance[(j, j)].max(0.0).sqrt());
            let t = estimate / se;
            let p = t_two_sided_p(t, df);
            let p_value_greater = if t > 0.0 { p / 2.0 } else { 1.0 - p / 2.0 };
            Coefficient { term: term.to_string(), estimate, se, t, p_value: p, p_value_greater }
        })
        .collect())
}

/// Number of distinct cluster indices among `cluster` (all below `g`).
pub(crate) fn clusters_present(cluster: &[u32], g: usize) -> usize {
    let mut seen = vec![false; g];
    for &c in cluster {
        seen[c as usize] = true;
    }
    seen.iter().filter(|s| **s).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hc3_matches_sandwich_on_a_small_example() {
        // lm(y ~ x): slope Sxy/Sxx = 17.2/17.5; HC3 written out with h_i = 1/n + (x_i − x̄)²/Sxx.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [1.1, 1.9, 3.2, 3.9, 5.3, 5.8];
        let one = [1.0; 6];
        let fit = weighted_ols(&[("(intercept)", &one), ("x", &x)], &y, None, Vcov::Hc3).unwrap();
        let slope = 17.2 / 17.5;
        let intercept = 21.2 / 6.0 - slope * 3.5;
        assert!((fit[0].estimate - intercept).abs() < 1e-12 && (fit[1].estimate - slope).abs() < 1e-12);
        let (mut m00, mut m01, mut m11) = (0.0, 0.0, 0.0);
        for i in 0..6 {
            let h = 1.0 / 6.0 + (x[i] - 3.5f64).powi(2) / 17.5;
            let e = y[i] - intercept - slope * x[i];
            let u2 = (e / (1.0 - h)).powi(2);
            m00 += u2;
            m01 += u2 * x[i];
            m11 += u2 * x[i] * x[i];
        }
        let inv = DMatrix::from_row_slice(2, 2, &[91.0, -21.0, -21.0, 6.0]) / 105.0; // (X'X)^-1
        let meat = DMatrix::from_row_slice(2, 2, &[m00, m01, m01, m11]);
        let v = &inv * meat * &inv;
        assert!((fit[0].se - v[(0, 0)].sqrt()).abs() < 1e-12);
        assert!((fit[1].se - v[(1, 1)].sqrt()).abs() < 1e-12);
    }

    #[test]
    fn cluster_robust_mean_matches_the_closed_form() {
        // Intercept only: β = ȳ and CR1 variance = G/(G−1) · Σ_g (Σ_{i∈g} (y_i − ȳ))² / n²
        // (the (n−1)/(n−k) factor is 1 with k = 1).
        let y = [1.0, 2.0, 4.0, 3.0, 7.0, 5.0, 0.5];
        let cluster = [0u32, 0, 1, 1, 2, 2, 2];
        let one = [1.0; 7];
        let fit = weighted_ols(&[("(intercept)", &one)], &y, None, Vcov::Cluster(&cluster)).unwrap();
        let mean = y.iter().sum::<f64>() / 7.0;
        let mut sums = [0.0; 3];
        for (v, &c) in y.iter().zip(&cluster) {
            sums[c as usize] += v - mean;
        }
        let variance = 3.0 / 2.0 * sums.iter().map(|s| s * s).sum::<f64>() / 49.0;
        assert!((fit[0].estimate - mean).abs() < 1e-12);
        assert!((fit[0].se - variance.sqrt()).abs() < 1e-12, "{} vs {}", fit[0].se, variance.sqrt());
    }

    #[test]
    fn singular_design_is_an_error() {
        let one = [1.0; 4];
        let err = weighted_ols(&[("a", &one), ("b", &one)], &[1.0, 2.0, 3.0, 4.0], None, Vcov::Hc3).unwrap_err();
        assert!(err.to_string().contains("singular"), "{err}");
    }
}
