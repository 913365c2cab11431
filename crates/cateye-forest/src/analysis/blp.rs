//! Best linear projection of the effect on chosen covariates (Semenova & Chernozhukov 2021;
//! grf's `best_linear_projection`): OLS of the doubly robust scores on an intercept and the
//! covariates, with HC3 (or cluster-robust) standard errors.

use super::scores::doubly_robust_scores;
use super::vcov_of;
use crate::causal::CausalForestFit;
use crate::error::{check_finite, Result};
use crate::ols::{weighted_ols, Coefficient};

/// Coefficients: the intercept first, then one per covariate `(name, values)`.
pub fn best_linear_projection(fit: &CausalForestFit, covariates: &[(&str, &[f64])]) -> Result<Vec<Coefficient>> {
    let n = fit.y.len();
    for (name, values) in covariates {
        check_finite(name, values, n)?;
    }
    let scores = doubly_robust_scores(fit)?.scores;
    let one = vec![1.0; n];
    let mut terms: Vec<(&str, &[f64])> = vec![("(intercept)", &one)];
    terms.extend_from_slice(covariates);
    weighted_ols(&terms, &scores, fit.weights.as_deref(), vcov_of(fit))
}
