//! Least squares on a sparse design of level indicators (one per non-reference level of each
//! breakdown dimension) and numeric covariates: the normal equations are accumulated from the
//! active indicators of each unit, so a design with hundreds of indicator columns costs
//! `O(n · (dimensions + covariates)²)`, not `O(n · columns²)`. Used by the decomposition of
//! effect variation ([`crate::analysis::variation`]) and by the cross-fitted outcome model of the
//! deep dive ([`cross_fitted_predictions`]).

use crate::Result;
use cateye_stats::Folds;
use cateye_stats::InputError;
use nalgebra::{DMatrix, DVector};

/// Stream purpose of the fold assignment.
const PURPOSE_FOLDS: u64 = 0xF01D_0001;

/// A categorical input of [`crate::decompose_variation`].
pub struct LevelColumn<'a> {
    /// Name of the dimension.
    pub name: &'a str,
    /// Level code of each unit, each below `levels`.
    pub codes: &'a [u32],
    /// Number of levels (codes `0..levels`).
    pub levels: usize,
}

/// Columns of the design: an intercept, one indicator per non-reference level present in both
/// arms, then the centred covariates.
pub(crate) struct Design {
    /// `column[d][level]`: the indicator column of a level, or `None` (reference / pooled).
    pub(crate) column: Vec<Vec<Option<usize>>>,
    pub(crate) indicators: usize,
    pub(crate) k: usize,
}

impl Design {
    /// With `arms`, a level gets a column only when it has units in both arms; without, when
    /// it has any unit.
    pub(crate) fn new(dims: &[LevelColumn], arms: Option<&[bool]>, covariates: usize) -> Self {
        let mut next = 1;
        let column = dims
            .iter()
            .map(|d| {
                let mut count = vec![[0usize; 2]; d.levels];
                for (i, &c) in d.codes.iter().enumerate() {
                    count[c as usize][arms.map_or(1, |a| a[i] as usize)] += 1;
                }
                let reference = (0..d.levels).max_by_key(|&l| (count[l][0] + count[l][1], usize::MAX - l)).unwrap_or(0);
                (0..d.levels)
                    .map(|l| {
                        (l != reference && (arms.is_none() || count[l][0] > 0) && count[l][1] > 0).then(|| {
                            next += 1;
                            next - 1
                        })
                    })
                    .collect()
            })
            .collect();
        Self { column, indicators: next, k: next + covariates }
    }

    /// Indicator columns of unit `i` (plus the intercept, column 0).
    pub(crate) fn active(&self, dims: &[LevelColumn], i: usize, out: &mut Vec<usize>) {
        out.clear();
        out.push(0);
        out.extend(dims.iter().zip(&self.column).filter_map(|(d, col)| col[d.codes[i] as usize]));
    }
}

/// `X'X` (lower triangle filled to full) and `X'y` over `rows`; `y = None` gives `X'y = 0`.
pub(crate) fn normal_equations(
    design: &Design,
    dims: &[LevelColumn],
    cov: &[Vec<f64>],
    y: Option<&[f64]>,
    rows: &[usize],
) -> (DMatrix<f64>, DVector<f64>) {
    let k = design.k;
    let mut xtx = DMatrix::<f64>::zeros(k, k);
    let mut xty = DVector::<f64>::zeros(k);
    let mut active = Vec::new();
    for &i in rows {
        let yi = y.map_or(0.0, |y| y[i]);
        design.active(dims, i, &mut active);
        for (a, &p) in active.iter().enumerate() {
            xty[p] += yi;
            for &q in &active[..=a] {
                xtx[(p.max(q), p.min(q))] += 1.0;
            }
            for (j, c) in cov.iter().enumerate() {
                xtx[(design.indicators + j, p)] += c[i];
            }
        }
        for (j, c) in cov.iter().enumerate() {
            xty[design.indicators + j] += c[i] * yi;
            for (l, d) in cov[..=j].iter().enumerate() {
                xtx[(design.indicators + j, design.indicators + l)] += c[i] * d[i];
            }
        }
    }
    xtx.fill_upper_triangle_with_lower_triangle();
    (xtx, xty)
}

/// Adds `1e-9 · a_jj` (at least `1e-12`) to each diagonal entry of a Gram matrix: a ridge
/// relative to each column's own scale, so that aliased columns (a region nested in a country,
/// a constant covariate) leave the system solvable without shrinking well-determined ones.
pub fn add_relative_ridge(a: &mut DMatrix<f64>) {
    for j in 0..a.nrows() {
        a[(j, j)] += (1e-9 * a[(j, j)]).max(1e-12);
    }
}

/// Out-of-fold predictions of `y` from OLS on the indicators of `dims` and the `covariates`
/// (pooled over arms), with `folds` random folds (seeded): each unit's prediction comes from the
/// fit on the other folds. The normal equations of each fold are accumulated once and the fit
/// without fold `k` solves `total − fold_k`. A tiny ridge (see `add_relative_ridge`) keeps
/// collinear dimensions (a region nested in a country) solvable.
pub fn cross_fitted_predictions(
    y: &[f64],
    dims: &[LevelColumn],
    covariates: &[&[f64]],
    folds: usize,
    seed: u64,
) -> Result<Vec<f64>> {
    let n = y.len();
    if folds < 2 || n < 2 * folds {
        return Err(InputError::Data(format!(
            "cross-fitting needs at least 2 folds and 2 units per fold (n = {n}, folds = {folds})"
        )));
    }
    let cov: Vec<Vec<f64>> = covariates
        .iter()
        .map(|c| {
            let mean = c.iter().sum::<f64>() / n as f64;
            c.iter().map(|v| v - mean).collect()
        })
        .collect();
    let design = Design::new(dims, None, cov.len());
    let assignment = Folds::random(n, folds, seed, PURPOSE_FOLDS).expect("at least 2 folds, checked above");
    let fold_rows: Vec<Vec<usize>> = (0..folds).map(|k| assignment.held_out(k)).collect();
    let parts: Vec<(DMatrix<f64>, DVector<f64>)> =
        fold_rows.iter().map(|rows| normal_equations(&design, dims, &cov, Some(y), rows)).collect();
    let mut total_xtx = DMatrix::<f64>::zeros(design.k, design.k);
    let mut total_xty = DVector::<f64>::zeros(design.k);
    for (xtx, xty) in &parts {
        total_xtx += xtx;
        total_xty += xty;
    }
    let mut predictions = vec![0.0; n];
    let mut active = Vec::new();
    for (rows, (xtx, xty)) in fold_rows.iter().zip(&parts) {
        let mut a = &total_xtx - xtx;
        add_relative_ridge(&mut a);
        let beta = a
            .cholesky()
            .map(|c| c.solve(&(&total_xty - xty)))
            .ok_or_else(|| InputError::Data("the outcome model is singular: a covariate is constant".into()))?;
        for &i in rows {
            design.active(dims, i, &mut active);
            predictions[i] = active.iter().map(|&p| beta[p]).sum::<f64>()
                + cov.iter().enumerate().map(|(j, c)| beta[design.indicators + j] * c[i]).sum::<f64>();
        }
    }
    Ok(predictions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_distr::StandardNormal;

    #[test]
    fn out_of_fold_predictions_recover_an_additive_model() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 10_000;
        let d0: Vec<u32> = (0..n).map(|_| rng.random_range(0..5u32)).collect();
        let x: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let truth: Vec<f64> = (0..n).map(|i| 2.0 + 0.5 * d0[i] as f64 - x[i]).collect();
        let y: Vec<f64> = truth.iter().map(|t| t + 0.1 * rng.sample::<f64, _>(StandardNormal)).collect();
        let dims = [LevelColumn { name: "d0", codes: &d0, levels: 5 }];
        let p = cross_fitted_predictions(&y, &dims, &[&x], 5, 3).unwrap();
        let rmse = (p.iter().zip(&truth).map(|(p, t)| (p - t).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!(rmse < 0.01, "rmse {rmse}");
        // A unit's own outcome does not enter its prediction: a huge outlier leaves it unchanged.
        let mut y2 = y.clone();
        y2[17] += 1e6;
        let p2 = cross_fitted_predictions(&y2, &dims, &[&x], 5, 3).unwrap();
        assert!((p2[17] - p[17]).abs() < 1e-6);
    }
}
