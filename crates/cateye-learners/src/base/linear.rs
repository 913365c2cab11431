//! Linear base learners on the raw covariates (standardised internally): ridge regression for
//! continuous targets and ridge-penalised logistic regression, fitted by iteratively reweighted
//! least squares (Newton's method; McCullagh & Nelder 1989, §4.4), for binary targets. The
//! normal equations are solved by nalgebra's Cholesky factorisation. A covariate with missing
//! values (NaN) in the fitted rows is imputed by its mean and gets a missing-indicator column
//! (the linear counterpart of the forests' MIA: Josse, Prost, Scornet & Varoquaux 2019, §4).

use super::{check_fit_input, BaseLearner, Fitted, SavedFit, Task};
use crate::data::LearnerData;
use crate::error::{data_error, Result};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Ridge / logistic regression with an intercept.
#[derive(Clone, Debug)]
pub struct LinearLearner {
    /// Penalty on the standardised slopes, per unit of total weight: the fit minimises
    /// `Σ w_i loss_i + ridge · Σ w_i · |β|²`. The default is tiny: OLS with a guard against
    /// collinear covariates.
    pub ridge: f64,
    /// Newton iterations of the logistic fit (it stops earlier once the step is below 1e-10).
    pub max_iterations: usize,
}

impl Default for LinearLearner {
    fn default() -> Self {
        LinearLearner { ridge: 1e-6, max_iterations: 50 }
    }
}

/// A fitted linear base learner: `intercept + Σ slope_f · (x_f − center_f) / scale_f +
/// Σ_k γ_k · [x_{missing_k} is missing]`, a missing value counting as its mean (0 after
/// standardising); logistic-linked for classification.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FittedLinear {
    center: Vec<f64>,
    scale: Vec<f64>,
    coefficients: Vec<f64>,
    /// Covariates with a missing-indicator coefficient (after the slopes), in order.
    #[serde(default)]
    missing: Vec<usize>,
    logistic: bool,
}

impl FittedLinear {
    /// Checks a model read from a file against `p` covariates.
    pub(crate) fn check(&self, p: usize) -> Result<()> {
        if self.center.len() != p
            || self.scale.len() != p
            || self.coefficients.len() != p + 1 + self.missing.len()
            || self.missing.iter().any(|&f| f >= p)
        {
            return Err(data_error(format!(
                "a linear model of {} coefficients does not fit {p} covariates",
                self.coefficients.len()
            )));
        }
        Ok(())
    }

    fn linear_predictor(&self, data: &LearnerData, i: usize, set: Option<(usize, f64)>) -> f64 {
        let p = self.center.len();
        let mut eta = self.coefficients[0];
        for f in 0..p {
            eta += self.coefficients[f + 1] * standardized(data.value(i, f, set), self.center[f], self.scale[f]);
        }
        for (k, &f) in self.missing.iter().enumerate() {
            eta += self.coefficients[p + 1 + k] * f64::from(u8::from(data.value(i, f, set).is_nan()));
        }
        eta
    }
}

impl Fitted for FittedLinear {
    fn predict(&self, data: &LearnerData, rows: &[usize], set: Option<(usize, f64)>) -> Vec<f64> {
        rows.iter()
            .map(|&i| {
                let eta = self.linear_predictor(data, i, set);
                if self.logistic {
                    sigmoid(eta)
                } else {
                    eta
                }
            })
            .collect()
    }

    fn into_saved(self: Box<Self>) -> Option<SavedFit> {
        Some(SavedFit::Linear(*self))
    }
}

/// `(x − center) / scale`, and 0 (the mean) for a missing value.
#[inline]
fn standardized(x: f64, center: f64, scale: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        (x - center) / scale
    }
}

fn sigmoid(eta: f64) -> f64 {
    1.0 / (1.0 + (-eta).exp())
}

impl BaseLearner for LinearLearner {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn fit(
        &self,
        data: &LearnerData,
        rows: &[usize],
        target: &[f64],
        weights: Option<&[f64]>,
        task: Task,
        _seed: u64,
    ) -> Result<Box<dyn Fitted>> {
        check_fit_input(rows, target, weights, task)?;
        let p = data.num_features();
        let weight = |j: usize| weights.map_or(1.0, |w| w[j]);
        let total: f64 = (0..rows.len()).map(weight).sum();
        if total <= 0.0 {
            return Err(data_error("linear base learner: the rows' weights sum to zero"));
        }
        // Standardise with the weighted mean and SD of the fitted rows' present values (constant
        // columns keep scale 1); covariates missing somewhere get an indicator column.
        let (mut center, mut scale, mut missing) = (vec![0.0; p], vec![1.0; p], Vec::new());
        for f in 0..p {
            let column = data.column(f);
            let present = || rows.iter().enumerate().filter(|(_, &i)| !column[i].is_nan());
            let weight_present: f64 = present().map(|(j, _)| weight(j)).sum();
            if weight_present < total {
                missing.push(f);
            }
            if weight_present <= 0.0 {
                continue;
            }
            let mean = present().map(|(j, &i)| weight(j) * column[i]).sum::<f64>() / weight_present;
            let var = present().map(|(j, &i)| weight(j) * (column[i] - mean).powi(2)).sum::<f64>() / weight_present;
            center[f] = mean;
            if var > 0.0 {
                scale[f] = var.sqrt();
            }
        }
        let d = p + 1 + missing.len();
        let design = |i: usize, out: &mut DVector<f64>| {
            out[0] = 1.0;
            for f in 0..p {
                out[f + 1] = standardized(data.column(f)[i], center[f], scale[f]);
            }
            for (k, &f) in missing.iter().enumerate() {
                out[p + 1 + k] = f64::from(u8::from(data.column(f)[i].is_nan()));
            }
        };
        let penalty = self.ridge * total;
        // One weighted least-squares solve: Σ v_j x_j x_j' β = Σ v_j x_j z_j (+ ridge on slopes).
        let solve = |v: &dyn Fn(usize) -> f64, z: &dyn Fn(usize) -> f64| -> Result<Vec<f64>> {
            let mut a = DMatrix::<f64>::zeros(d, d);
            let mut b = DVector::<f64>::zeros(d);
            let mut x = DVector::<f64>::zeros(d);
            for (j, &i) in rows.iter().enumerate() {
                design(i, &mut x);
                let vj = v(j);
                a.syger(vj, &x, &x, 1.0);
                b.axpy(vj * z(j), &x, 1.0);
            }
            a.fill_upper_triangle_with_lower_triangle();
            for k in 1..d {
                a[(k, k)] += penalty;
            }
            a[(0, 0)] += 1e-12 * total;
            let chol = a
                .cholesky()
                .ok_or_else(|| data_error("linear base learner: the normal equations are not positive definite"))?;
            Ok(chol.solve(&b).iter().copied().collect())
        };
        let mut coefficients = vec![0.0; d];
        match task {
            Task::Regression => {
                coefficients = solve(&|j| weight(j), &|j| target[j])?;
            }
            Task::Classification => {
                let mean = (0..rows.len()).map(|j| weight(j) * target[j]).sum::<f64>() / total;
                if mean <= 0.0 || mean >= 1.0 {
                    return Err(data_error(format!(
                        "logistic regression: the target is always {} on the rows fitted",
                        if mean <= 0.0 { 0 } else { 1 }
                    )));
                }
                coefficients[0] = (mean / (1.0 - mean)).ln();
                let mut x = DVector::<f64>::zeros(d);
                let mut eta = vec![0.0; rows.len()];
                for _ in 0..self.max_iterations {
                    for (j, &i) in rows.iter().enumerate() {
                        design(i, &mut x);
                        eta[j] = x.iter().zip(&coefficients).map(|(a, b)| a * b).sum();
                    }
                    let prob: Vec<f64> = eta.iter().map(|&e| sigmoid(e).clamp(1e-10, 1.0 - 1e-10)).collect();
                    // Working response z = η + (y − p)/(p(1 − p)), working weight w·p(1 − p).
                    let next = solve(&|j| weight(j) * prob[j] * (1.0 - prob[j]), &|j| {
                        eta[j] + (target[j] - prob[j]) / (prob[j] * (1.0 - prob[j]))
                    })?;
                    let step = next.iter().zip(&coefficients).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                    coefficients = next;
                    if step < 1e-10 {
                        break;
                    }
                }
            }
        }
        let logistic = task == Task::Classification;
        Ok(Box::new(FittedLinear { center, scale, coefficients, missing, logistic }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> LearnerData {
        let x1: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let x2: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos() * 3.0 + 1.0).collect();
        LearnerData::new(vec![x1, x2], &["x1".into(), "x2".into()], 256).unwrap()
    }

    #[test]
    fn ridge_with_a_tiny_penalty_recovers_exact_coefficients() {
        let d = data(200);
        let rows: Vec<usize> = (0..200).collect();
        let y: Vec<f64> = rows.iter().map(|&i| 2.0 - d.column(0)[i] + 0.5 * d.column(1)[i]).collect();
        let fit = LinearLearner::default().fit(&d, &rows, &y, None, Task::Regression, 0).unwrap();
        let p = fit.predict(&d, &rows, None);
        // The relative penalty 1e-6 shrinks the standardised slopes (≈ 1) by about 1e-6.
        assert!(p.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-5));
        // Setting x2 to 1: 2 − x1 + 0.5.
        let q = fit.predict(&d, &[3], Some((1, 1.0)));
        assert!((q[0] - (2.5 - d.column(0)[3])).abs() < 1e-5);
    }

    #[test]
    fn missing_values_are_imputed_by_the_mean_with_an_indicator() {
        // y = 1 + 2·x1 where x1 is present, 5 where it is missing: the indicator absorbs the
        // difference, so the fit is exact on every row, and a missing new value predicts 5.
        let n = 300;
        let x1: Vec<f64> = (0..n).map(|i| if i % 4 == 0 { f64::NAN } else { (i as f64 * 0.37).sin() }).collect();
        let x2: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
        let y: Vec<f64> = x1.iter().map(|&x| if x.is_nan() { 5.0 } else { 1.0 + 2.0 * x }).collect();
        let d = LearnerData::new(vec![x1, x2], &["x1".into(), "x2".into()], 256).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let fit = LinearLearner::default().fit(&d, &rows, &y, None, Task::Regression, 0).unwrap();
        let p = fit.predict(&d, &rows, None);
        assert!(p.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-4), "{:?}", &p[..4]);
        assert!((fit.predict(&d, &[1], Some((0, f64::NAN)))[0] - 5.0).abs() < 1e-4);
    }

    #[test]
    fn logistic_regression_matches_the_score_equations() {
        // At the MLE the score Σ (y − p) x vanishes for every column (tiny ridge aside).
        let d = data(400);
        let rows: Vec<usize> = (0..400).collect();
        let y: Vec<f64> = rows
            .iter()
            .map(|&i| ((d.column(0)[i] + 0.3 * d.column(1)[i] + (i % 7) as f64 * 0.2) > 1.0) as u8 as f64)
            .collect();
        let fit = LinearLearner::default().fit(&d, &rows, &y, None, Task::Classification, 0).unwrap();
        let p = fit.predict(&d, &rows, None);
        let score0: f64 = y.iter().zip(&p).map(|(y, p)| y - p).sum();
        let score1: f64 = rows.iter().map(|&i| (y[i] - p[i]) * d.column(0)[i]).sum();
        assert!(score0.abs() < 1e-4 && score1.abs() < 1e-3, "{score0} {score1}");
        assert!(p.iter().all(|&v| v > 0.0 && v < 1.0));
    }
}
